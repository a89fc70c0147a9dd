package contrib

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
)

// The payables cache keeps, per person, the database rows queryPayables
// derives a person's payables from: their active enrolments and the
// claims and records of the months last asked about. The terms (amounts,
// windows, the outside facts) are derived again on each request, so a
// policy update or a new assistance status is seen at once, as before.
//
// The database stays the record: declaring and paying derive the payable
// from the writer (payable()), never from here, so a stale entry can show
// a month as open a little longer but never lets it be declared or paid
// twice.
//
// Invalidation is a version per person: every write that changes what a
// person owes calls ForgetPayables after it commits, which increments the
// version (and drops the entry). A request reads the version with the
// entry and serves the entry only if it was built under the version it
// reads now; a miss reads the database and stores what it read under the
// version it read before reading the database. A write committing between
// that version read and the store increments the version after its
// commit, so the entry stored with the old version is never served —
// where a plain delete-on-write would let that read put the stale rows
// back after the delete.
const (
	// payablesCacheTTL bounds an entry's life even if a write path were
	// ever to miss its ForgetPayables call.
	payablesCacheTTL = time.Minute
	// payablesVersionTTL is far above payablesCacheTTL: a version expiring
	// restarts at zero, which no entry still alive can carry unless it was
	// built after the restart.
	payablesVersionTTL = 24 * time.Hour
)

// The braces are a Redis Cluster hash tag: a person's version, payables
// entry and records pages (recordsPageKey) hash to one slot, so the MGET
// of loadVersioned, which reads the version with an entry, is served by
// one node instead of failing with CROSSSLOT. ForgetPayables pipelines
// many people's keys without MULTI, which a cluster client splits by node.
func payablesKey(personID string) string        { return "lb:payables:{" + personID + "}" }
func payablesVersionKey(personID string) string { return "lb:payables:{" + personID + "}:v" }

// PayablesPrefetch is what queryPayables reads from the cache for the
// person, to be read with the session (people.AuthenticatePrefetching):
// the person's version and entry, in the order loadVersioned reads them.
func PayablesPrefetch(personID string) []string {
	return []string{payablesVersionKey(personID), payablesKey(personID)}
}

// payablesEntry is one person's cached rows.
type payablesEntry struct {
	Version    string               `json:"v"`
	Enrolments []store.EnrolmentRow `json:"e"`
	Schemes    []string             `json:"s"` // the schemes and months Marks covers
	Months     []string             `json:"m"`
	Marks      []periodMark         `json:"k"`
}

// covers reports whether the entry's marks were read for every scheme
// and month asked (the months move on with the calendar).
func (e payablesEntry) covers(schemes, months []string) bool {
	for _, x := range schemes {
		if !slices.Contains(e.Schemes, x) {
			return false
		}
	}
	for _, x := range months {
		if !slices.Contains(e.Months, x) {
			return false
		}
	}
	return true
}

// loadPayables returns the version of personID's payables and the cached
// entry if it was built under that version. ok is false when Redis did
// not answer: nothing is stored then.
func (s *Contrib) loadPayables(ctx context.Context, personID string) (version string, entry *payablesEntry, ok bool) {
	version, raw, ok := s.loadVersioned(ctx, personID, payablesKey(personID))
	if raw == "" {
		return version, nil, ok
	}
	var e payablesEntry
	if json.Unmarshal([]byte(raw), &e) != nil || e.Version != version {
		return version, nil, true
	}
	return version, &e, true
}

// loadVersioned reads, in one round trip, the person's version and the
// entry at key (raw, "" when absent) of a cache kept under that version:
// the payables and the records pages. ok is false when Redis did not
// answer, and then nothing may be stored.
func (s *Contrib) loadVersioned(ctx context.Context, personID, key string) (version, raw string, ok bool) {
	if pre, ok := kernel.PrefetchedValues(ctx, payablesVersionKey(personID), key); ok {
		version = "0"
		if pre[0] != nil {
			version = *pre[0]
		}
		if pre[1] != nil {
			raw = *pre[1]
		}
		return version, raw, true
	}
	vals, err := s.Redis.Client.MGet(ctx, payablesVersionKey(personID), key).Result()
	if err != nil || len(vals) != 2 {
		if err != nil && !errors.Is(err, redis.Nil) {
			s.Log.WarnContext(ctx, "payables cache unavailable", "err", err)
		}
		return "", "", false
	}
	version = "0"
	if v, isStr := vals[0].(string); isStr {
		version = v
	}
	raw, _ = vals[1].(string)
	return version, raw, true
}

// storePayables caches e (built under e.Version). Failure is only
// logged: Redis is a cache.
func (s *Contrib) storePayables(ctx context.Context, personID string, e payablesEntry) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := s.Redis.Client.Set(ctx, payablesKey(personID), b, payablesCacheTTL).Err(); err != nil {
		s.Log.WarnContext(ctx, "payables cache unavailable", "err", err)
	}
}

// ForgetPayables invalidates the cached payables of people after a write
// that changed what they owe (an enrolment, a declaration made or
// released, an order paying, failed or closed, a settlement, a refund or
// reversal, a unit's or a counter's payment) has committed. It runs even
// if the request's context is cancelled: the write has happened.
func (s *Contrib) ForgetPayables(ctx context.Context, personIDs ...string) {
	s.forgetPayablesWith(ctx, nil, personIDs...)
}

// forgetPayablesWith is ForgetPayables with more's commands in the same
// pipeline: one round trip for both (a settlement caches the order's view
// with it, issue 13). more may be nil.
func (s *Contrib) forgetPayablesWith(ctx context.Context, more func(context.Context, redis.Pipeliner), personIDs ...string) {
	var ids []string
	for _, id := range dedupe(personIDs) {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && more == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	pipe := s.Redis.Client.Pipeline()
	if more != nil {
		more(ctx, pipe)
	}
	for _, id := range ids {
		pipe.Incr(ctx, payablesVersionKey(id))
		pipe.Expire(ctx, payablesVersionKey(id), payablesVersionTTL)
		pipe.Del(ctx, payablesKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.Log.WarnContext(ctx, "payables cache invalidation failed", "err", err)
	}
}

// ForgetUnitDeclarationPayables is ForgetPayables for the employees of a
// unit declaration (its lines' people), after its order is booked.
func (s *Contrib) ForgetUnitDeclarationPayables(ctx context.Context, unitDeclarationID string) {
	var personIDs []string
	if err := s.Conn(ctx).Model(&store.UnitDeclarationLineRow{}).Where("declaration_id = ?", unitDeclarationID).
		Pluck("person_id", &personIDs).Error; err != nil {
		s.Log.WarnContext(ctx, "payables cache invalidation failed", "err", err)
		return
	}
	s.ForgetPayables(ctx, personIDs...)
}

// forgetOrderPayables is ForgetPayables for the people an order paid
// for: its person, or a unit order's employees.
func (s *Contrib) forgetOrderPayables(ctx context.Context, orderNo string) {
	var o store.OrderRow
	if err := s.Conn(ctx).Select("person_id", "unit_declaration_id").Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
		s.Log.WarnContext(ctx, "payables cache invalidation failed", "err", err)
		return
	}
	s.forgetOrderRowPayables(ctx, o)
}

// forgetOrderRowPayables forgets the payables and records pages of the
// people whose records order o carries: its person, or a unit order's
// employees (a unit's order names no person; its records are the
// employees', and crediting them must show on their records pages).
func (s *Contrib) forgetOrderRowPayables(ctx context.Context, o store.OrderRow) {
	if o.UnitDeclarationID != "" {
		s.ForgetUnitDeclarationPayables(ctx, o.UnitDeclarationID)
	}
	s.ForgetPayables(ctx, o.PersonID)
}

// ForgetRefundPayables is ForgetPayables for the people whose records a
// refund application covers, after a step moved them (refunding, back to
// credited or booked, refunded).
func (s *Contrib) ForgetRefundPayables(ctx context.Context, refundNo string) {
	var personIDs []string
	if err := s.Conn(ctx).Model(&store.RecordRow{}).
		Where("id IN (?)", s.Conn(ctx).Model(&store.RefundItemRow{}).Select("record_id").Where("refund_no = ?", refundNo)).
		Pluck("person_id", &personIDs).Error; err != nil {
		s.Log.WarnContext(ctx, "payables cache invalidation failed", "err", err)
		return
	}
	s.ForgetPayables(ctx, personIDs...)
}
