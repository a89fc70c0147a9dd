package kernel

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Work leases are how several instances share the background work.
//
// Every worker step runs on every instance. A step that only moves rows in
// the database is safe so by itself: each move is a conditional update,
// and the second instance's changes nothing. A step that calls an outside
// party (a channel's order query or close, a refund payout, a bank debit,
// the treasury) is not: two instances would ask the channel about the same
// order, or send the same refund, at the same moment, and two answers
// would race to be recorded. Such a step claims the object first, in
// work_leases (migrations/0014), reads it again (another instance may have
// finished it between the step's scan and the claim), works it, and hands
// the claim back. A claim outlives a dead holder by at most
// Options.WorkLease: the object is then taken over, so no work is lost
// with an instance. A stopping instance hands back every claim it holds
// (ReleaseAllWork); a release that fails is tried again at the next
// worker pass (RetryWorkReleases).
//
// Not SELECT … FOR UPDATE SKIP LOCKED: its row lock lasts as long as its
// transaction, which would then be held open across the outside call (up
// to the channel's timeout) on a pooled connection, and SQLite has no such
// lock. A lease row is one code path on the three dialects, and it outlives
// the call that holds it.

// Work lease steps: the first half of a lease's key.
const (
	WorkOrderQuery   = "order_query"   // a paying order asked about and, past its expiry, closed
	WorkCredit       = "credit"        // a paid order asked about at the treasury (入库)
	WorkBooking      = "booking"       // a credited order asked about at the agency (记账)
	WorkRefundPayout = "refund_payout" // a refund payout sent, asked about or sent again
	WorkUnitDebit    = "unit_debit"    // a unit's 三方协议 debit asked about or sent again
)

// NewInstanceID names this process in work leases and logs: host, process
// id and a random part, so two processes never share a name (a restarted
// one under the same pid neither).
func NewInstanceID() string {
	return InstanceIDPrefix(os.Getpid()) + NewID("i")[2:10]
}

// InstanceIDPrefix is what the ids of the process pid on this host begin
// with, for an operator (or the fault suite) finding the claims a dead
// process left.
func InstanceIDPrefix(pid int) string {
	host, _ := os.Hostname()
	if len(host) > 40 {
		host = host[:40]
	}
	return fmt.Sprintf("%s-%d-", host, pid)
}

// ClaimWork claims the object key of a worker step for this instance and
// reports whether it did: a new claim, or a claim whose lease ended (its
// holder died or hung) taken over. A live claim, this instance's own
// included, is never taken, so the same object is not worked twice at
// once even within one process.
func (s *Kernel) ClaimWork(ctx context.Context, step, key string) (bool, error) {
	_, ok, err := s.claimWork(ctx, step, key)
	return ok, err
}

// claimWork is ClaimWork returning the claim's lease_until, which tells
// this claim from a later one of the same instance on the same object
// (releaseClaim).
func (s *Kernel) claimWork(ctx context.Context, step, key string) (time.Time, bool, error) {
	// Not cut short by the caller's deadline: a claim committed just as
	// the deadline came back as an error, and nobody released it (the
	// object then waited a whole lease). Releasing on error instead could
	// hand back a live claim this instance holds for other work.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := s.Now()
	// releaseClaim finds the row by this value: kept to the microsecond,
	// as PostgreSQL and MariaDB store times, so that what this instance
	// holds is what the store holds whatever a driver sends.
	until := now.Add(s.Opt.WorkLease).Truncate(time.Microsecond)
	var ok bool
	err := s.leaseWrite(ctx, func(db *gorm.DB) (err error) {
		ok, err = InsertIfAbsent(db, &store.WorkLeaseRow{Step: step, ObjectKey: key, Holder: s.InstanceID, LeaseUntil: until})
		return err
	})
	if err != nil || ok {
		return until, ok, Internal("claim work", err)
	}
	// The condition is checked again under the row's lock by PostgreSQL
	// and MySQL, so of two instances taking over the same ended lease
	// only one changes the row.
	err = s.leaseWrite(ctx, func(db *gorm.DB) error {
		res := db.Model(&store.WorkLeaseRow{}).Where("step = ? AND object_key = ? AND lease_until < ?", step, key, now).
			Updates(map[string]any{"holder": s.InstanceID, "lease_until": until})
		ok = res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return until, false, Internal("take over work", err)
	}
	return until, ok, nil
}

// releaseClaim hands back the one claim of this instance that claimWork
// made with lease until, and nothing else. Work that outlived its lease
// may find the object taken over meanwhile, by another instance or by
// this one (a request settling an order sends its automatic refund under
// such a claim, as the worker does): deleting by holder alone freed that
// live claim too, and a third caller could then work the object
// alongside it. It runs even when ctx has ended (a shutdown midway
// through the work). A release that fails is kept for the next worker
// pass (RetryWorkReleases).
func (s *Kernel) releaseClaim(ctx context.Context, step, key string, until time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c := heldClaim{step: step, key: key, until: until}
	if err := s.deleteClaim(ctx, c); err != nil {
		kept := s.unreleased.keep(c)
		s.Log.WarnContext(ctx, "work lease not released", "step", step, "key", key, "retried_next_pass", kept, "err", err)
	}
}

// deleteClaim deletes this instance's claim c, if it is still there as
// claimed.
//
// On PostgreSQL its commit does not wait for the WAL's flush
// (synchronous_commit off for the statement's own transaction, as
// contrib's markPaying): a release lost with the database server's crash
// leaves the claim until its lease ends, as a release that failed and
// could not be retried would (Options.WorkLease), and costs nothing else.
// The claim itself is flushed there: one lost while its holder went on
// working would let a second instance work the same object at once. On
// SQLite claims and releases alike are written unflushed (leaseWrite).
func (s *Kernel) deleteClaim(ctx context.Context, c heldClaim) error {
	const where = "step = ? AND object_key = ? AND holder = ? AND lease_until = ?"
	if s.DB.Dialect == store.Postgres {
		return s.Conn(ctx).Exec("DELETE FROM work_leases USING "+LazyFlush+" WHERE "+where, c.step, c.key, s.InstanceID, c.until).Error
	}
	return s.leaseWrite(ctx, func(db *gorm.DB) error {
		return db.Where(where, c.step, c.key, s.InstanceID, c.until).Delete(&store.WorkLeaseRow{}).Error
	})
}

// leaseWrite runs a write of claims and releases: on an SQLite file
// unflushed (UnflushedSQLite), elsewhere as any write. The worker claims
// and releases each order it asks the treasury or the agency about, so
// these were two of the three synced commits of each order's step, and
// SQLite's one writer queued payments behind them. Unflushed is safe
// there: such a commit is lost only when the machine goes down, which
// takes down with it every process on the file and so every holder of a
// lost claim, and a lost release leaves the claim until its lease ends.
func (s *Kernel) leaseWrite(ctx context.Context, write func(*gorm.DB) error) error {
	if s.DB.Dialect != store.SQLite || s.DB.InMemory {
		return write(s.Conn(ctx))
	}
	return s.UnflushedSQLite(ctx, func(db *gorm.DB) *gorm.DB {
		if err := write(db); err != nil {
			_ = db.AddError(err)
		}
		return db
	}).Error
}

// RetryWorkReleases hands back the claims whose release failed (the store
// was out of reach when their work ended), for the worker's next pass.
// Each would otherwise keep its object from every instance, this one
// included, until its lease ended: after a short database outage, a few
// orders' questions to the treasury or refund payouts waited up to
// Options.WorkLease (5 minutes). A claim is found by its lease_until, so
// a late release never frees a later claim (releaseClaim); one whose
// lease has ended is dropped, as anyone may take it over already.
func (s *Kernel) RetryWorkReleases(ctx context.Context) error {
	now := s.Now()
	kept := s.unreleased.take()
	for i, c := range kept {
		if !c.until.After(now) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.deleteClaim(cctx, c)
		cancel()
		if err != nil {
			// The store is still out of reach: the rest wait for the next
			// pass rather than each waiting out its own timeout now.
			for _, c := range kept[i:] {
				s.unreleased.keep(c)
			}
			return Internal("release work leases", err)
		}
	}
	return nil
}

// heldClaim names one claim of this instance: its step, object and
// lease_until.
type heldClaim struct {
	step, key string
	until     time.Time
}

// unreleased is the list of claims whose release failed, bounded: past
// maxUnreleased a claim is left to expire, as all were before.
type unreleased struct {
	mu     sync.Mutex
	claims []heldClaim
}

const maxUnreleased = 1000

// keep adds c and reports whether there was room.
func (u *unreleased) keep(c heldClaim) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.claims) >= maxUnreleased {
		return false
	}
	u.claims = append(u.claims, c)
	return true
}

// take empties the list and returns what it held.
func (u *unreleased) take() []heldClaim {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.claims
	u.claims = nil
	return out
}

// WithWork runs fn when this instance claims the object, then hands that
// claim back. It reports whether fn ran: false means another instance is
// working the object now.
func (s *Kernel) WithWork(ctx context.Context, step, key string, fn func() error) (bool, error) {
	until, ok, err := s.claimWork(ctx, step, key)
	if err != nil || !ok {
		return false, err
	}
	defer s.releaseClaim(ctx, step, key, until)
	return true, fn()
}

// ReleaseAllWork hands back every claim this instance holds, for a
// shutdown: the objects are then free for the other instances at once
// instead of when the leases end. It returns how many it released.
func (s *Kernel) ReleaseAllWork(ctx context.Context) (int64, error) {
	res := s.Conn(ctx).Where("holder = ?", s.InstanceID).Delete(&store.WorkLeaseRow{})
	return res.RowsAffected, Internal("release work leases", res.Error)
}
