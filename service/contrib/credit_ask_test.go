package contrib

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store/storetest"
)

// Requests arriving together ask the treasury about an order once: the
// mark is taken in one step at Redis, where a read then a write let each
// of them through. The gap is measured on the service's clock.
func TestOnlyOneOfRequestsArrivingTogetherAsksAboutAnOrder(t *testing.T) {
	for _, rt := range storetest.RedisTargets() {
		t.Run(rt.Name, func(t *testing.T) {
			clock := models.NewManualClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			s := &Contrib{Kernel: kernel.New(kernel.Deps{Redis: rt.Open(t), Clock: clock}, kernel.Defaults())}
			ctx := context.Background()
			order := kernel.NewNumber("LB", clock.Now(), 10)
			var asked atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s.markCreditAsk(ctx, order) {
						asked.Add(1)
					}
				}()
			}
			wg.Wait()
			if asked.Load() != 1 {
				t.Fatalf("%d of 16 requests arriving together asked; want 1", asked.Load())
			}
			clock.Advance(creditAskGap - time.Second)
			if s.markCreditAsk(ctx, order) {
				t.Fatal("asked again within the gap")
			}
			clock.Advance(time.Second)
			if !s.markCreditAsk(ctx, order) {
				t.Fatal("not asked once the gap had passed")
			}
		})
	}
}
