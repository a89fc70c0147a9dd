package unitpay

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/store"
)

// Payment methods of a unit (orders.method, and orders.channel).
const (
	MethodTripartite  = "tripartite"
	MethodBankVoucher = "bank_voucher"
	MethodPOS         = "pos"
)

// Unit declaration statuses this package moves (always by conditional
// updates): open (confirmed, unpaid), paying (an order is open), paid.
const (
	DeclOpen   = "open"
	DeclPaying = "paying"
	DeclPaid   = "paid"
)

// Agreement statuses (tripartite_agreements.status).
const (
	AgreementVerified = "verified"
	AgreementRefused  = "refused"
)

// Debit statuses (tripartite_debits.status): pending covers "processing"
// and "we do not know"; only the bank's final word moves it on.
const (
	DebitPending = "pending"
	DebitSuccess = "success"
	DebitFailed  = "failed"
)

// VoucherDays is how long a 银行端缴税凭证 can be paid: until the end (24:00
// Beijing time) of the third day after the day it is issued. Banks collect
// on working days; three days covers a weekend.
const VoucherDays = 3

// UnitPay is the unit payment workflows. It is safe for concurrent use.
type UnitPay struct {
	*kernel.Kernel
	people  *people.People
	contrib *contrib.Contrib
	units   *units.Units
}

// New returns the unit payment workflows on k. Access to every unit is
// checked by u.ActsFor; settlement reuses c's exported steps.
func New(k *kernel.Kernel, p *people.People, c *contrib.Contrib, u *units.Units) *UnitPay {
	return &UnitPay{Kernel: k, people: p, contrib: c, units: u}
}

// voucherExpiry is the last instant a voucher issued at t can be paid.
func voucherExpiry(t time.Time) time.Time {
	b := t.In(models.Beijing)
	day := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, models.Beijing)
	return day.AddDate(0, 0, VoucherDays+1).Add(-time.Second).UTC()
}

// declaration loads a unit's declaration; another unit's is NOT_FOUND.
func (s *UnitPay) declaration(ctx context.Context, unitID, id string) (store.UnitDeclarationRow, error) {
	var d store.UnitDeclarationRow
	err := s.Conn(ctx).Where("id = ? AND unit_id = ?", id, unitID).Take(&d).Error
	if kernel.IsNotFound(err) {
		return d, models.ErrNotFound
	}
	return d, kernel.Internal("load unit declaration", err)
}
