// Package hall holds the workflows of the service hall's staff: accounts,
// login with password and TOTP, sessions, password changes, the permission
// checks every staff action passes (Require, Deny), and reading and
// exporting the audit log.
package hall
