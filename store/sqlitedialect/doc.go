// Package sqlitedialect is gorm's dialect for the pure-Go SQLite of
// modernc.org/sqlite, with a connector whose connections keep their
// prepared statements.
//
// sqlite.go, ddlmod.go, migrator.go and errors.go are
// github.com/glebarez/sqlite v1.11.0 (MIT, see LICENSE), changed only to
// take the driver and its error type from modernc.org/sqlite instead of
// github.com/glebarez/go-sqlite, and without one unused method
// (ddl.hasConstraint). That fork of an older modernc.org/sqlite
// parses and plans a statement on every execution, prepared or not, and
// both register themselves as "sqlite", so the two cannot be linked
// together; modernc.org/sqlite keeps a prepared statement's plan, which
// stmtcache.go puts to use for every statement gorm sends.
package sqlitedialect
