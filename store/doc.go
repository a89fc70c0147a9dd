// Package store is lianban's persistence: one gorm code path over embedded
// SQLite (the default), PostgreSQL and MySQL/MariaDB (also TiDB's protocol),
// versioned SQL migrations embedded in the binary, and the Redis client
// (a UniversalClient, or an in-process miniredis when none is configured).
//
// The database is the record of truth. Redis only caches sessions, order
// status for polling and rate-limit counters, and may be lost at any moment.
// Status changes are conditional updates that act only when exactly one row
// changed, so concurrent requests, notifications and workers cannot move
// money twice.
package store
