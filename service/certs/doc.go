// Package certs holds the certificate workflows: issuing vouchers and
// period certificates from records, listing and downloading them, public
// verification by code, and revoking them.
//
// No workflow here reads inside a transaction (issuing is one insert), so
// reads go through Kernel.Read: on SQLite the read pool, where they do not
// queue behind the single writer's inserts of other certificates' PDFs.
// Writes (the insert, revocations) use Kernel.Conn.
package certs
