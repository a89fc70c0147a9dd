package kernel_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// freshKey is a rate-limit key no other test or earlier run (a real Redis
// is shared and keeps counters) has used.
func freshKey(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + ":" + hex.EncodeToString(b)
}

// TestARateLimitCounterAlwaysHasAnExpiry: the counter gets its expiry in
// the same step as its increment, and a counter found without one (left by
// the old INCR-then-EXPIRE, whose EXPIRE never ran) is given one, so nobody
// is locked out for good.
//
// On every Redis target: the script names one key, which a cluster serves.
// And on the embedded server whatever the targets are, since it counts
// without the script (countInWindow) and CI's targets are Redis servers.
func TestARateLimitCounterAlwaysHasAnExpiry(t *testing.T) {
	storetest.SQLiteOnEachRedis(t, testARateLimitCounterAlwaysHasAnExpiry)
	t.Run("embedded", func(t *testing.T) {
		rdb, err := store.OpenRedis(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		testARateLimitCounterAlwaysHasAnExpiry(t, storetest.Targets()[0].Open(t), rdb)
	})
}

func testARateLimitCounterAlwaysHasAnExpiry(t *testing.T, db *store.DB, rdb *store.Redis) {
	env := servicetest.New(t, db, servicetest.Config{Redis: rdb})
	ctx := context.Background()
	r := env.Redis.Client

	key := freshKey("test")
	for i := 1; i <= 5; i++ {
		err := env.Svc.RateLimit(ctx, key, 3, time.Hour, kernel.LetThrough)
		if want := i > 3; errors.Is(err, models.ErrRateLimited) != want {
			t.Fatalf("call %d: %v, want limited=%v", i, err, want)
		}
		if ttl := r.PTTL(ctx, "lb:rl:"+key).Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("after call %d the counter's TTL is %v, want within (0, 1h]", i, ttl)
		}
	}

	// A window is fixed: counting in it does not extend it.
	fixed := freshKey("test")
	if err := r.Set(ctx, "lb:rl:"+fixed, 2, 30*time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Del(context.Background(), "lb:rl:"+fixed) })
	if err := env.Svc.RateLimit(ctx, fixed, 3, time.Hour, kernel.LetThrough); err != nil {
		t.Fatalf("the third event of three: %v", err)
	}
	if ttl := r.PTTL(ctx, "lb:rl:"+fixed).Val(); ttl <= 0 || ttl > 30*time.Minute {
		t.Fatalf("a window with 30m left has %v left after an event, want within (0, 30m]: counting must not extend it", ttl)
	}

	stuck := freshKey("test")
	if err := r.Set(ctx, "lb:rl:"+stuck, 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Del(context.Background(), "lb:rl:"+stuck) })
	if err := env.Svc.RateLimit(ctx, stuck, 3, time.Minute, kernel.CountInDB); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("a counter over its limit: %v, want RATE_LIMITED", err)
	}
	if ttl := r.PTTL(ctx, "lb:rl:"+stuck).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("a counter found without expiry has TTL %v afterwards, want within (0, 1m]", ttl)
	}
	if n := r.Get(ctx, "lb:rl:"+stuck).Val(); n != "8" {
		t.Fatalf("the repaired counter is %q, want 8: repairing must not reset it", n)
	}
}

// TestNameGuessesStayLimitedWhileRedisIsDown: with Redis gone the name/ID
// budget counts in the database on every dialect: guesses one at a time
// stop at the budget, twenty at once never let more than the budget
// through, and a new window gives a new budget.
func TestNameGuessesStayLimitedWhileRedisIsDown(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		const budget = 5
		env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) {
			o.IdentityChecksPerUser, o.IdentityChecksPerAddress = budget, 1000
		}})
		me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
		one := env.LoginVerified(t, "one-by-one", me.Name, me.IDNumber)
		many := env.LoginVerified(t, "all-at-once", me.Name, me.IDNumber)
		ctx := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
		guess := func(userID string, i int) error {
			_, err := env.Svc.QueryPayables(ctx, userID, people.PersonRef{Name: fmt.Sprintf("李秀%c", '甲'+rune(i)), IDNumber: mom.IDNumber})
			return err
		}

		// Redis goes away: every command now fails at once.
		if err := env.Redis.Client.Close(); err != nil {
			t.Fatal(err)
		}

		for i := 0; i < budget; i++ {
			if err := guess(one.UserID, i); !errors.Is(err, models.ErrIdentityMismatch) {
				t.Fatalf("guess %d within the budget without Redis: %v, want IDENTITY_MISMATCH", i+1, err)
			}
		}
		for i := budget; i < budget+3; i++ {
			if err := guess(one.UserID, i); !errors.Is(err, models.ErrRateLimited) {
				t.Fatalf("guess %d over the budget without Redis: %v, want RATE_LIMITED", i+1, err)
			}
		}

		var (
			wg                sync.WaitGroup
			mu                sync.Mutex
			answered, limited int
			other             []error
		)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := guess(many.UserID, i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, models.ErrIdentityMismatch):
					answered++
				case errors.Is(err, models.ErrRateLimited):
					limited++
				default:
					other = append(other, err)
				}
			}(i)
		}
		wg.Wait()
		if len(other) != 0 {
			t.Fatalf("concurrent guesses failed otherwise: %v", other)
		}
		if answered != budget || limited != 20-budget {
			t.Fatalf("of 20 concurrent guesses %d were answered and %d limited, want %d and %d", answered, limited, budget, 20-budget)
		}

		// The budget is per hour: the next hour's window starts afresh.
		env.Clock.Advance(time.Hour)
		if err := guess(one.UserID, 0); !errors.Is(err, models.ErrIdentityMismatch) {
			t.Fatalf("a guess in the next window: %v, want IDENTITY_MISMATCH", err)
		}

		// Windows long past are purged by the worker.
		env.Clock.Advance(72 * time.Hour)
		env.Svc.WorkOnce(context.Background())
		var left int64
		if err := db.Gorm.Model(&store.RateLimitRow{}).Count(&left).Error; err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatalf("%d rate-limit windows left after the purge, want 0", left)
		}
	})
}

// TestWithRedisAndTheDatabaseDownOnlyGuardedLimitsRefuse: a limit that
// stops guessing refuses when nobody can count; a nuisance limit still lets
// the request through, as a cache outage must not stop people paying.
func TestWithRedisAndTheDatabaseDownOnlyGuardedLimitsRefuse(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{})
	ctx := context.Background()
	if err := env.Redis.Client.Close(); err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.Close(); err != nil {
		t.Fatal(err)
	}
	key := freshKey("login")
	for i := 0; i < 3; i++ {
		if err := env.Svc.RateLimit(ctx, key, 5, time.Minute, kernel.CountInDB); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("a guarded limit with nothing to count on: %v, want UNAVAILABLE", err)
		}
		if err := env.Svc.RateLimit(ctx, key, 5, time.Minute, kernel.LetThrough); err != nil {
			t.Fatalf("a nuisance limit with nothing to count on: %v, want through", err)
		}
	}
}
