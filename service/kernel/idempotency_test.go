package kernel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func inProgress(err error) bool {
	e, ok := models.AsError(err)
	return ok && e.Code == "REQUEST_IN_PROGRESS"
}

// TestAnIdempotencyKeyLeftInProgressIsAbandonedAfterTheLimit kills a
// request between its steps: it claimed its key and its process died
// before storing an answer. Its retries are refused as in progress only
// until the limit; then exactly one of many simultaneous retries claims
// the key again and runs, and its answer is what later retries get. The
// dead request, should it come back, does not overwrite that answer.
func TestAnIdempotencyKeyLeftInProgressIsAbandonedAfterTheLimit(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		const user, op, key, hash = "u_dead", "createPayment", "key-1", "hash-1"
		if replay, err := env.Svc.IdempotencyBegin(ctx, user, op, key, hash); replay != nil || err != nil {
			t.Fatalf("first claim: %v %v", replay, err)
		}
		// The process dies here: no finish, no abort.
		env.Clock.Advance(kernel.IdempotencyAbandonAfter - time.Second)
		if _, err := env.Svc.IdempotencyBegin(ctx, user, op, key, hash); !inProgress(err) {
			t.Fatalf("a retry within the limit: %v, want REQUEST_IN_PROGRESS", err)
		}
		if _, err := env.Svc.IdempotencyBegin(ctx, user, op, key, "another body"); !errors.Is(err, models.ErrIdempotencyReused) {
			t.Fatalf("another body under the key: %v", err)
		}
		env.Clock.Advance(2 * time.Second)
		const retries = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		claimed, refused := 0, 0
		for i := 0; i < retries; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replay, err := env.Svc.IdempotencyBegin(ctx, user, op, key, hash)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && replay == nil:
					claimed++
				case inProgress(err):
					refused++
				default:
					t.Errorf("retry: %v %v", replay, err)
				}
			}()
		}
		wg.Wait()
		if claimed != 1 || refused != retries-1 {
			t.Fatalf("%d retries claimed the abandoned key and %d were refused, want 1 and %d", claimed, refused, retries-1)
		}
		// The retry that claimed it is not abandoned in its turn at once.
		if _, err := env.Svc.IdempotencyBegin(ctx, user, op, key, hash); !inProgress(err) {
			t.Fatalf("a retry during the new claim: %v", err)
		}
		env.Svc.IdempotencyFinish(ctx, user, op, key, 201, []byte(`{"order_no":"second"}`))
		// The first request comes back from the dead and finishes too late.
		env.Svc.IdempotencyFinish(ctx, user, op, key, 201, []byte(`{"order_no":"first"}`))
		replay, err := env.Svc.IdempotencyBegin(ctx, user, op, key, hash)
		if err != nil || replay == nil || replay.Status != 201 || string(replay.Body) != `{"order_no":"second"}` {
			t.Fatalf("the replay: %+v %v", replay, err)
		}
		// A stored answer is never abandoned.
		env.Clock.Advance(24 * time.Hour)
		if replay, err := env.Svc.IdempotencyBegin(ctx, user, op, key, hash); err != nil || replay == nil {
			t.Fatalf("a day later: %+v %v", replay, err)
		}
	})
}
