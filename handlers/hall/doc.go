// Package hall serves the hall's own routes: staff login and session,
// password changes, staff accounts, and the audit log and its export.
package hall
