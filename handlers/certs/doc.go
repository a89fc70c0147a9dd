// Package certs serves certificates: issuing, listing and downloading
// them, and the public verification page and API.
package certs
