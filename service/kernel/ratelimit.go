package kernel

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// Outage says what a rate limit does when Redis cannot count. Every call
// site chooses one explicitly, because the right answer depends on what
// the limit protects.
type Outage int

const (
	// LetThrough is for limits that only spread load or curb a nuisance
	// (orders, refunds, certificates, bindings, certificate verification):
	// a cache outage must not stop people paying or a bank clerk checking
	// a certificate, and nothing is guessed through them.
	LetThrough Outage = iota
	// CountInDB is for limits that stop guessing (logins, names against ID
	// numbers): the database counts instead, and if it cannot either the
	// request is refused, since an outage must not buy unlimited guesses.
	// Redis and the database count separately, so a guesser who meets the
	// switch mid-window gets at most one more window's worth.
	CountInDB
)

// rateLimitScript increments a fixed-window counter and gives it an expiry
// in the same step. INCR then a separate EXPIRE could leave a counter with
// no expiry (the process dies or the connection drops in between), which
// would lock its owner out for good; this also repairs such a counter.
// KEYS[1] is the counter, ARGV[1] the window in milliseconds.
var rateLimitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)

// errLimitUnavailable refuses a guarded request when neither Redis nor the
// database can count it.
var errLimitUnavailable = models.ErrUnavailable.WithReason("系统繁忙，请稍后再试")

// rateLimitRetention is how long database windows are kept: past the
// longest window any limit uses (a day), so purging never cuts one short.
const rateLimitRetention = 48 * time.Hour

// RateLimit allows limit events per fixed window for key; outage says what
// happens when Redis is down (see Outage). Handlers use it too (login by
// IP, certificate verification by client).
func (s *Kernel) RateLimit(ctx context.Context, key string, limit int, window time.Duration, outage Outage) error {
	if limit <= 0 {
		return nil
	}
	n, err := s.countInWindow(ctx, "lb:rl:"+key, window)
	if err == nil {
		if n > int64(limit) {
			return models.ErrRateLimited
		}
		return nil
	}
	if outage == LetThrough {
		s.Log.WarnContext(ctx, "rate limit store unavailable, letting the request through", "err", err)
		return nil
	}
	s.Log.WarnContext(ctx, "rate limit store unavailable, counting in the database", "err", err)
	ok, dbErr := s.spendInDB(ctx, key, limit, window)
	if dbErr != nil {
		s.Log.ErrorContext(ctx, "rate limit: neither Redis nor the database can count, refusing", "redis_err", err, "db_err", dbErr)
		return errLimitUnavailable
	}
	if !ok {
		return models.ErrRateLimited
	}
	return nil
}

// countInWindow counts one event at key and returns the count: the
// counter starts its window with its expiry, or gets one if found
// without, in the same step (rateLimitScript). One key per call, so it is
// fine on a Redis Cluster. On a Redis server it is the script, which a
// proxy in front of one passes where it may refuse MULTI. The embedded
// server runs each script in a new Lua interpreter, 15% of a payment's CPU
// there (issue 13): it gets the same two commands in MULTI instead, INCR
// and PEXPIRE … NX (set only when the key has none), which its pinned
// version has (a Redis server only from 7.0).
func (s *Kernel) countInWindow(ctx context.Context, key string, window time.Duration) (int64, error) {
	if !s.Redis.Embedded() {
		return rateLimitScript.Run(ctx, s.Redis.Client, []string{key}, window.Milliseconds()).Int64()
	}
	var n *redis.IntCmd
	_, err := s.Redis.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.Do(ctx, "pexpire", key, window.Milliseconds(), "nx")
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n.Val(), nil
}

// spendInDB counts one hit of bucket in the current window in the database
// and reports whether it was within limit. The window is the clock
// truncated to its length. The increment is one conditional UPDATE, which
// every dialect applies atomically to the row (PostgreSQL re-checks the
// condition after waiting for a concurrent writer), so concurrent requests
// never let more than limit through; a refused hit is not counted. No
// transaction is held across the two statements, so there is no lock order
// to deadlock on.
func (s *Kernel) spendInDB(ctx context.Context, bucket string, limit int, window time.Duration) (bool, error) {
	start := s.Now().Truncate(window)
	if _, err := InsertIfAbsent(s.Conn(ctx), &store.RateLimitRow{Bucket: bucket, WindowStart: start}); err != nil {
		return false, err
	}
	res := s.Conn(ctx).Model(&store.RateLimitRow{}).
		Where("bucket = ? AND window_start = ? AND hits < ?", bucket, start, limit).
		Update("hits", gorm.Expr("hits + 1"))
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// PurgeRateLimits deletes database rate-limit windows long past. The table
// is written only while Redis is down, so this is nearly always a no-op.
func (s *Kernel) PurgeRateLimits(ctx context.Context) error {
	err := s.Conn(ctx).Where("window_start < ?", s.Now().Add(-rateLimitRetention)).Delete(&store.RateLimitRow{}).Error
	return Internal("purge rate limits", err)
}
