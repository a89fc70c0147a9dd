package kernel

import (
	"context"
	"database/sql"
	"slices"

	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SettleTx runs fn, a settlement's transaction, at READ COMMITTED: each
// statement reads what was committed before it started, so a check made
// after waiting on LockPersons sees what the transaction it waited for
// booked. It is PostgreSQL's default, and the settling code is written for
// it; it is asked for all the same (in the BEGIN, no round trip more), as
// a server or role may default to REPEATABLE READ, whose snapshot of the
// transaction's first statement would not see it. MariaDB defaults to
// REPEATABLE READ, and pays one round trip, SET TRANSACTION, per
// settlement. SQLite's one writer sees everything committed.
func (s *Kernel) SettleTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.DB.Dialect == store.SQLite {
		return s.Tx(ctx, fn)
	}
	return s.Conn(ctx).Transaction(fn, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
}

// LockPersons locks the persons' rows until tx ends, in id order so that
// two settlements locking several never wait on each other in a circle.
//
// A person's own payment of a month (灵活就业 pension or 职工医保 as a
// flexible worker) and a unit's payment of the same month into the same
// fund each refuse the month when the other has booked it, by a plain
// read of the other's rows. Two such settlements committing at the same
// moment used to both pass that read and both book the month. Each now
// takes this lock before its read, in a SettleTx, so the second waits for
// the first to end and then sees what it booked. SQLite's one writer
// settles one at a time already, and has no FOR UPDATE: nothing is done
// there.
func LockPersons(tx *gorm.DB, d store.Dialect, ids []string) error {
	if d == store.SQLite || len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	// In chunks, still in order: a large unit's roster would pass the
	// stores' limit on a statement's parameters (65,535).
	for chunk := range slices.Chunk(ids, lockChunk) {
		var got []string
		if err := tx.Model(&store.PersonRow{}).Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("id IN ?", chunk).Order("id").Pluck("id", &got).Error; err != nil {
			return err
		}
	}
	return nil
}

// lockChunk is how many persons one statement of LockPersons locks.
const lockChunk = 1000
