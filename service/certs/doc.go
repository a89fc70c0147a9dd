// Package certs holds the certificate workflows: issuing vouchers and
// period certificates from records, listing and downloading them, public
// verification by code, and revoking them.
package certs
