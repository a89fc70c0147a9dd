package servicetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/store"
)

// What a Treasury answers about an order.
const (
	TreasuryPending = "pending" // not credited yet (the default)
	TreasuryDone    = "done"    // credited, now
	TreasuryDown    = "down"    // no answer
)

// Treasury is a treasury (入库) the test answers for, order by order, and
// that counts every question it is asked.
type Treasury struct {
	mu     sync.Mutex
	asks   map[string]int
	answer func(orderNo string) string
	clock  models.Clock
}

// NewEnvWithTreasury is NewEnvWith whose treasury is a Treasury.
func NewEnvWithTreasury(t *testing.T, db *store.DB) (*Env, *Treasury) {
	t.Helper()
	f := &Treasury{asks: map[string]int{}}
	env := NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
		f.clock = d.Clock
		d.Treasury = f
	})
	return env, f
}

// CreditStatus implements models.Treasury.
func (f *Treasury) CreditStatus(_ context.Context, ref models.SettlementRef) (models.SettlementResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asks[ref.OrderNo]++
	answer := TreasuryPending
	if f.answer != nil {
		answer = f.answer(ref.OrderNo)
	}
	switch answer {
	case TreasuryDone:
		return models.SettlementResult{State: models.SettlementDone, At: f.clock.Now(), VoucherNo: "SP-" + ref.OrderNo}, nil
	case TreasuryDown:
		return models.SettlementResult{}, errors.New("treasury: connection reset")
	}
	return models.SettlementResult{State: models.SettlementPending}, nil
}

// Answer sets what the treasury answers about each order from now on.
func (f *Treasury) Answer(fn func(orderNo string) string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = fn
}

// Asks is how many times the treasury was asked about the order.
func (f *Treasury) Asks(orderNo string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asks[orderNo]
}
