package contrib

import (
	"context"
	"sync/atomic"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Contrib is the workflows of contributions and their settlement. It is
// safe for concurrent use.
type Contrib struct {
	*kernel.Kernel
	people  *people.People
	payouts AutoRefunder
	// payersFilled is set once FillRecordPayers found no record left to
	// name: every record written since migration 0013 carries its payer,
	// so the worker stops looking for the rest of the process's life.
	payersFilled atomic.Bool
	// claimAndPaySQL is claimAndPay's statement, built at its first use:
	// it depends on the tables' columns only.
	claimAndPaySQL atomic.Pointer[string]
	// declarationToPaySQL is declarationToPay's query, likewise.
	declarationToPaySQL atomic.Pointer[string]
}

// New returns the contribution workflows on k, checking access through p.
// Settlement needs the refund payouts, which sit above this package:
// UsePayouts wires them before the service is used.
func New(k *kernel.Kernel, p *people.People) *Contrib { return &Contrib{Kernel: k, people: p} }

// UsePayouts wires the refund payouts settlement hands work to.
func (s *Contrib) UsePayouts(r AutoRefunder) { s.payouts = r }

// AutoRefunder is what settlement needs from the refund payouts: a paid
// order that cannot be booked is refunded whole, in the settling
// transaction (PlanAutoRefund) and after it commits (SendAutoRefund), and
// a refund notification arriving on a payment channel's notify route is
// theirs to apply.
type AutoRefunder interface {
	PlanAutoRefund(tx *gorm.DB, o store.OrderRow, why, source string) (*AutoRefund, error)
	SendAutoRefund(ctx context.Context, a AutoRefund, source string)
	SettleRefundNotice(ctx context.Context, n models.Notification) (string, error)
}
