package refunds

import (
	"context"
	"slices"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// What listRefundable says of an order's money.
const (
	// RefundableNow: an application for it would be taken (up to
	// RefundableFen).
	RefundableNow = "refundable"
	// RefundableAwaitingCredit: some of its months are paid but not yet
	// credited to the treasury (入库). An application asks the treasury
	// first, so it may still be taken, or refused until the credit.
	RefundableAwaitingCredit = "awaiting_credit"
	// RefundableOpenApplication: an application for the person and scheme
	// is being handled; another waits until it ends.
	RefundableOpenApplication = "open_application"
)

// maxRefundableRecords bounds listRefundable's read: the newest months
// first, ten years of monthly payments many times over.
const maxRefundableRecords = 2000

// RefundableOrder is one order's money the caller may ask back
// (listRefundable): the months of it that are the person's and, for a
// payer, that they paid; never a unit's.
type RefundableOrder struct {
	OrderNo    string        `json:"order_no"`
	Scheme     models.Scheme `json:"scheme"`
	PeriodFrom string        `json:"period_from"`
	PeriodTo   string        `json:"period_to"`
	PaidAt     *time.Time    `json:"paid_at,omitempty"`
	State      string        `json:"state"`
	// RefundableFen is what an application may ask back of it (once
	// credited, when awaiting_credit): its months' amounts less what was
	// refunded or other applications hold, never more than the order has
	// left. Zero when State is open_application.
	RefundableFen models.Fen `json:"refundable_fen"`
	// OriginalRoute says the money can still go back the way it came;
	// when false, an application must carry a bank account.
	OriginalRoute bool `json:"original_route"`
}

// ListRefundable lists, newest month first, the orders whose money the
// caller may ask back for the person ref names, with what each allows, by
// the rules CreateRefund applies: the same owners (refundApplicant), the
// same records (a payer's own payments only, never a unit's), credited
// months refundable now and months only paid marked as waiting for the
// credit, and what refunds and applications already hold taken off.
// Orders with nothing left are not listed, unless an open application
// holds them. It is what the refund form offers, so a payer is never
// offered what the server would refuse.
func (s *Refunds) ListRefundable(ctx context.Context, userID string, ref people.PersonRef) ([]RefundableOrder, error) {
	p, role, err := s.refundApplicant(ctx, userID, ref)
	if err != nil {
		return nil, err
	}
	q := s.Conn(ctx).Where("person_id = ? AND payer_unit_id = '' AND status IN ?", p.ID,
		[]string{contrib.RecordPaid, contrib.RecordCredited, contrib.RecordBooked, contrib.RecordRefunding})
	if role == RolePayer {
		q = q.Where("payer_user_id = ?", userID)
	}
	var recs []store.RecordRow
	if err := q.Order("period DESC, id").Limit(maxRefundableRecords).Find(&recs).Error; err != nil {
		return nil, kernel.Internal("refundable records", err)
	}
	if len(recs) == 0 {
		return []RefundableOrder{}, nil
	}
	ids := make([]string, 0, len(recs))
	orderNos := map[string]bool{}
	for _, r := range recs {
		ids = append(ids, r.ID)
		orderNos[r.OrderNo] = true
	}
	byRecord, openByOrder, err := s.refundHolds(ctx, ids, keys(orderNos))
	if err != nil {
		return nil, err
	}
	var orders []store.OrderRow
	if err := s.Conn(ctx).Where("order_no IN ?", keys(orderNos)).Find(&orders).Error; err != nil {
		return nil, kernel.Internal("refundable orders", err)
	}
	byNo := map[string]store.OrderRow{}
	for _, o := range orders {
		byNo[o.OrderNo] = o
	}
	var open []string
	if err := s.Conn(ctx).Model(&store.RefundRow{}).Where("person_id = ? AND open_key IS NOT NULL", p.ID).Pluck("scheme", &open).Error; err != nil {
		return nil, kernel.Internal("open refunds", err)
	}

	out := []RefundableOrder{}
	at := map[string]int{}
	left := map[string]int64{} // what each order has left to give back
	for _, r := range recs {
		o, ok := byNo[r.OrderNo]
		if !ok || (o.Status != contrib.OrderPaid && o.Status != contrib.OrderPartiallyRefunded) {
			continue
		}
		i, seen := at[r.OrderNo]
		if !seen {
			i = len(out)
			at[r.OrderNo] = i
			route, _ := s.originalRouteOpen(o)
			out = append(out, RefundableOrder{OrderNo: o.OrderNo, Scheme: models.Scheme(r.Scheme), PeriodFrom: r.Period, PeriodTo: r.Period,
				PaidAt: o.PaidAt, State: RefundableNow, OriginalRoute: route})
			left[o.OrderNo] = orderRoom(o, openByOrder)
		}
		ro := &out[i]
		ro.PeriodFrom = min(ro.PeriodFrom, r.Period)
		ro.PeriodTo = max(ro.PeriodTo, r.Period, r.PeriodTo) // a yearly record is 202701–202712
		switch r.Status {
		case contrib.RecordPaid:
			if ro.State == RefundableNow {
				ro.State = RefundableAwaitingCredit
			}
		case contrib.RecordRefunding:
			ro.State = RefundableOpenApplication
		}
		avail := recordRoom(r, byRecord, left[o.OrderNo])
		left[o.OrderNo] -= avail
		ro.RefundableFen += models.Fen(avail)
	}
	kept := out[:0]
	for _, ro := range out {
		switch {
		case ro.State == RefundableOpenApplication ||
			(slices.Contains(open, string(ro.Scheme)) && (role != RolePayer || ro.State == RefundableNow)):
			// One open application per person and scheme: whatever this
			// order has waits for it to end. A payer hears of another's
			// application as createRefund tells them: only once their own
			// money is credited (before, it is "not credited").
			ro.State, ro.RefundableFen = RefundableOpenApplication, 0
		case ro.RefundableFen == 0:
			continue // all of it given back or held already
		}
		kept = append(kept, ro)
	}
	return kept, nil
}
