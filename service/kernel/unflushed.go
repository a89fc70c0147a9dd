package kernel

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// LazyFlush is a FROM item that turns synchronous_commit off for the
// transaction of the PostgreSQL statement it is joined into (an UPDATE's
// FROM, a DELETE's USING): run outside a transaction, that statement's
// commit then does not wait for its WAL to reach the disk. A server crash
// within a moment of it can lose it; a flushed commit after it flushes it
// too. Each user says why losing its write costs nothing.
const LazyFlush = "(SELECT set_config('synchronous_commit', 'off', true)) AS lazy_flush"

// UnflushedSQLite runs write on one connection of the writer with PRAGMA
// synchronous NORMAL, and puts the connection's setting back
// (store.SQLiteSynchronous) however write ends, a panic included: in WAL
// mode its commit is then not synced to disk, as synchronous_commit off
// does on PostgreSQL (contrib's markPaying; here, the work leases of
// leaseWrite). Such a commit survives the process crashing (it is in the
// operating system's cache); only the machine going down can lose it, and
// a synced commit after it flushes it too (the WAL is written in order).
// The setting is put back on the connection itself, not through gorm,
// whose session would skip it after a failed write. A connection whose
// setting cannot be put back is never used again (every later commit on
// it, a settlement's, would be unsynced too); a database in memory, which
// that would wipe, never comes here.
func (s *Kernel) UnflushedSQLite(ctx context.Context, write func(*gorm.DB) *gorm.DB) *gorm.DB {
	var res *gorm.DB
	err := s.Conn(ctx).Connection(func(c *gorm.DB) error {
		conn, ok := c.Statement.ConnPool.(*sql.Conn)
		if !ok {
			res = write(c.Session(&gorm.Session{}))
			return nil
		}
		defer func() {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = "+store.SQLiteSynchronous); err != nil {
				s.Log.ErrorContext(ctx, "SQLite synchronous not put back; connection discarded", "err", err)
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
		if err := c.Session(&gorm.Session{}).Exec("PRAGMA synchronous = NORMAL").Error; err != nil {
			return err
		}
		res = write(c.Session(&gorm.Session{}))
		return nil
	})
	if res == nil {
		res = s.Conn(ctx).Session(&gorm.Session{})
		res.Error = err
	}
	return res
}
