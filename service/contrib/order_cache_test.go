package contrib

import (
	"context"
	"testing"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store/storetest"
	"github.com/redis/go-redis/v9"
)

// A settlement computes its order's "paid" view before a refund or
// reversal that commits after it uncaches the order; the settlement's
// late write must not bring "paid" back. Before, UncacheOrder deleted the
// entry and the late write stored it again for ten minutes.
func TestASettlementsLateCacheWriteDoesNotHideAReversal(t *testing.T) {
	s := &Contrib{Kernel: kernel.New(kernel.Deps{Redis: storetest.Redis(t)}, kernel.Defaults())}
	ctx := context.Background()
	paid := []byte("u1\x00{\"status\":\"paid\"}")
	// Order numbers of this run's own: a tombstone lives ten minutes in a
	// shared Redis, and a second run within them must not meet the first's.
	a1, a2 := kernel.NewNumber("A1", s.Now(), 10), kernel.NewNumber("A2", s.Now(), 10)
	// As Settle sends it: in the pipeline that forgets the payables.
	put := func(orderNo string) {
		s.forgetPayablesWith(ctx, func(ctx context.Context, pipe redis.Pipeliner) { putOrderEntry(ctx, pipe, orderNo, paid) }, "p1")
	}

	// The usual order of things: settled and cached, then served.
	put(a1)
	if v, ok := s.CachedPaymentJSON(ctx, "u1", a1); !ok || string(v) != `{"status":"paid"}` {
		t.Fatalf("settled view not served: %q %v", v, ok)
	}
	if _, ok := s.CachedPaymentJSON(ctx, "u2", a1); ok {
		t.Fatal("another user's order served from the cache")
	}
	s.dropOrderEntry(ctx, a1)
	if _, ok := s.CachedPaymentJSON(ctx, "u1", a1); ok {
		t.Fatal("served after the order was uncached")
	}

	// The race: the reversal uncaches between the settlement's commit and
	// its cache write.
	s.dropOrderEntry(ctx, a2)
	put(a2)
	if v, ok := s.CachedPaymentJSON(ctx, "u1", a2); ok {
		t.Fatalf("the late write of a settled view hid the reversal: %q", v)
	}
}
