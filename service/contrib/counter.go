package contrib

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OrderReversed is a counter's payment reversed (冲正) the day it was
// taken, before 入库: the money never left the counter, nothing is booked,
// and the months are the person's to pay again.
const OrderReversed = "reversed"

// ErrNotReversible says a reversal came too late: a record of the order
// has already been credited by the treasury (or is no longer paid).
var ErrNotReversible = models.ErrReversalNotAllowed.WithReason("该笔缴费已入库，不能冲正，请办理退费")

// CounterPayables lists what a counter may show of a person's payables:
// the pay-only view (open periods and amounts, not how far the money has
// gone or why an amount is assisted), as for a payer who may not see the
// person's history. The counter's operator is not the person.
func (s *Contrib) CounterPayables(ctx context.Context, p kernel.Person) ([]Payable, error) {
	rows, err := s.activeEnrolments(s.Conn(ctx), p)
	if err != nil {
		return nil, err
	}
	return s.payablesOf(ctx, p, rows, true, func(schemes, months []string) ([]periodMark, error) {
		return readPeriodMarks(s.Conn(ctx), p.ID, schemes, months)
	})
}

// DeclareAtCounter declares months of a payable on the person's behalf
// at a counter (no user of ours involved); by says who ("partner:…",
// "staff:…"). personID, when set, must be the payable's person (the hall
// names the person first); otherwise the payable's id, which only a
// look-up by name and ID number gives, names them.
func (s *Contrib) DeclareAtCounter(ctx context.Context, personID string, in DeclareInput, by string) (Declaration, kernel.Person, error) {
	enrolmentID, year, ok := parsePayableID(in.PayableID)
	if !ok {
		return Declaration{}, kernel.Person{}, models.ErrNotFound
	}
	var e store.EnrolmentRow
	err := s.Conn(ctx).Where("id = ? AND status = ?", enrolmentID, EnrolmentActive).Take(&e).Error
	if kernel.IsNotFound(err) || (err == nil && personID != "" && e.PersonID != personID) {
		return Declaration{}, kernel.Person{}, models.ErrNotFound
	}
	if err != nil {
		return Declaration{}, kernel.Person{}, kernel.Internal("enrolment", err)
	}
	p, err := s.Person(ctx, e.PersonID)
	if err != nil {
		return Declaration{}, kernel.Person{}, err
	}
	valid := false
	for _, y := range s.payableYears(e) {
		valid = valid || y == year
	}
	if !valid {
		return Declaration{}, p, models.ErrOutOfCollection.WithReason("该年度费款不在缴费范围内")
	}
	pb, err := s.payable(ctx, e, year, p)
	if err != nil {
		return Declaration{}, p, err
	}
	payOnlyView(&pb)
	d, err := s.declare(ctx, e, year, p, pb, in, by)
	return d, p, err
}

// OpenCounterOrder opens the order of a declaration a counter just made,
// with the counter's fields of o (channel, partner, terminal…) and before
// run in the same transaction. A counter order is not followed by the
// query worker (no next_query_at): only the counter knows whether it was
// paid, and says so by confirming it.
func (s *Contrib) OpenCounterOrder(ctx context.Context, declarationID string, o store.OrderRow, before func(tx *gorm.DB) error) (store.OrderRow, error) {
	var d store.DeclarationRow
	if err := s.Conn(ctx).Where("id = ?", declarationID).Take(&d).Error; err != nil {
		return o, kernel.Internal("declaration", err)
	}
	now := s.Now()
	o.DeclarationID, o.PersonID, o.Scheme, o.AmountFen = d.ID, d.PersonID, d.Scheme, d.AmountFen
	o.Status, o.CreatedAt, o.UpdatedAt, o.NextQueryAt = OrderCreated, now, now, nil
	if o.OrderNo == "" {
		o.OrderNo = kernel.NewNumber("LB", now, 10)
	}
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = d.ExpiresAt
	}
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		won, err := openOrderIn(tx, d.ID, &o, now)
		if err == nil && !won {
			return models.ErrDeclarationPaying
		}
		return err
	})
	if err == nil {
		s.ForgetPayables(ctx, d.PersonID)
	}
	return o, err
}

// ReleaseDeclaration expires an open declaration at once and frees its
// months: a counter's declaration whose order was never opened (a retry
// of the same transaction got there first).
func (s *Contrib) ReleaseDeclaration(ctx context.Context, id string) error {
	var personIDs []string
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.DeclarationRow{}).Where("id = ? AND status = ?", id, DeclOpen).
			Updates(map[string]any{"status": DeclExpired, "updated_at": s.Now()})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		if err := tx.Model(&store.DeclarationRow{}).Where("id = ?", id).Pluck("person_id", &personIDs).Error; err != nil {
			return err
		}
		return tx.Where("declaration_id = ? AND state = ?", id, ClaimDeclared).Delete(&store.ClaimRow{}).Error
	})
	if err == nil {
		s.ForgetPayables(ctx, personIDs...)
	}
	return err
}

// ReverseOrderTx reverses (冲正) a person's paid order inside tx: the
// order moves paid → reversed by one conditional update, its records
// still paid are removed, and if any record of it remains (the credit
// worker moved it to credited first) the reversal is refused with
// ErrNotReversible and the caller rolls everything back. Both sides act
// by conditional statements on the same rows, so whichever commits first
// wins and the other changes nothing. The declaration ends expired and
// its months are released, so they are payable again. It reports false
// when the order was not paid (another request reversed it, or it is
// not a paid order).
func (s *Contrib) ReverseOrderTx(tx *gorm.DB, o store.OrderRow, set map[string]any, now time.Time) (bool, error) {
	upd := map[string]any{"status": OrderReversed, "reversed_at": now, "updated_at": now}
	for k, v := range set {
		upd[k] = v
	}
	res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status = ? AND refunded_fen = 0", o.OrderNo, OrderPaid).Updates(upd)
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	if err := tx.Where("order_no = ? AND status = ?", o.OrderNo, RecordPaid).Delete(&store.RecordRow{}).Error; err != nil {
		return false, err
	}
	// A locking read: MariaDB's plain read would answer from the
	// transaction's snapshot, which may predate a credit that committed
	// meanwhile; this reads the rows as they are.
	var left []string
	if err := tx.Model(&store.RecordRow{}).Clauses(clause.Locking{Strength: "UPDATE"}).Where("order_no = ?", o.OrderNo).
		Limit(1).Pluck("id", &left).Error; err != nil {
		return false, err
	}
	if len(left) > 0 {
		return false, ErrNotReversible
	}
	// An order that could not be booked is refunded whole by a payout;
	// reversing it too would give the money back twice.
	var payouts int64
	if err := tx.Model(&store.RefundPayoutRow{}).Where("order_no = ?", o.OrderNo).Count(&payouts).Error; err != nil {
		return false, err
	}
	if payouts > 0 {
		return false, models.ErrReversalNotAllowed.WithReason("该笔缴费已在退款中，不能冲正")
	}
	if err := tx.Model(&store.DeclarationRow{}).Where("id = ? AND order_no = ?", o.DeclarationID, o.OrderNo).
		Updates(map[string]any{"status": DeclExpired, "updated_at": now}).Error; err != nil {
		return false, err
	}
	if err := tx.Where("declaration_id = ?", o.DeclarationID).Delete(&store.ClaimRow{}).Error; err != nil {
		return false, err
	}
	return true, nil
}

// CloseStaleCounterOrders closes a person's counter orders never
// confirmed by their expiry and gives their declarations back (which
// then expire as any open declaration does), so a terminal that opened an
// order and walked away does not hold the months for good. A confirmation
// arriving later still settles (MarkOrderPaid takes closed orders too):
// money a counter took is never dropped.
func (s *Contrib) CloseStaleCounterOrders(ctx context.Context) error {
	now := s.Now()
	var rows []store.OrderRow
	if err := s.Conn(ctx).Where("status = ? AND counter_channel <> '' AND unit_id = '' AND expires_at < ?", OrderCreated, now).
		Limit(200).Find(&rows).Error; err != nil {
		return err
	}
	for _, o := range rows {
		if err := s.Tx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status = ?", o.OrderNo, OrderCreated).
				Updates(map[string]any{"status": OrderClosed, "closed_at": now, "updated_at": now})
			if res.Error != nil || res.RowsAffected != 1 {
				return res.Error
			}
			return reopenDeclaration(tx, o, now)
		}); err != nil {
			return err
		}
		s.ForgetPayables(ctx, o.PersonID)
	}
	return nil
}
