package unitpay

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Settlement outcomes, as contrib's.
const (
	OutcomeSettled   = contrib.OutcomeSettled
	OutcomeDuplicate = contrib.OutcomeDuplicate
	OutcomeAnomaly   = contrib.OutcomeAnomaly
)

// paidEvent is a verified report that a unit order was paid: by the bank
// (a debit's notice or query), a partner counter or the hall's POS.
type paidEvent struct {
	OrderNo       string
	Amount        models.Fen
	At            time.Time
	TransactionID string
	Source        string // notify, query, pos, sandbox
	// Notice is the notification to dedupe on (Channel + ID); nil for a
	// query or a confirmation.
	Notice *models.Notification
	// Before runs in the settling transaction once the order moved to paid
	// (e.g. to mark the debit row).
	Before func(tx *gorm.DB) error
}

// settle applies a paid event to a unit order exactly once: the notice is
// claimed, the amount checked (a mismatch is an anomaly and settles
// nothing), the order moved to paid by contrib.MarkOrderPaid, and only the
// caller that moved it books the declaration and the employees' records,
// all in one transaction.
func (s *UnitPay) settle(ctx context.Context, e paidEvent) (string, error) {
	now := s.Now()
	outcome := OutcomeSettled
	var settled bool
	var order store.OrderRow
	// At READ COMMITTED on MariaDB too: bookLine's same-fund check reads
	// what a person's settlement it waited for booked (kernel.LockPersons).
	err := s.SettleTx(ctx, func(tx *gorm.DB) error {
		outcome, settled = OutcomeSettled, false
		mark := func(o string) error {
			outcome = o
			if e.Notice == nil {
				return nil
			}
			return s.contrib.MarkOutcome(tx, *e.Notice, o)
		}
		if e.Notice != nil {
			fresh, err := s.contrib.ClaimNotification(tx, *e.Notice, now)
			if err != nil {
				return err
			}
			if !fresh {
				outcome = OutcomeDuplicate
				return nil
			}
		}
		// Read for update: the status decides below between a duplicate
		// and money received after the order ended. A plain read could see
		// paying while a racing settlement commits paid (PostgreSQL's
		// statement snapshot, MariaDB's transaction snapshot), and a mere
		// duplicate became a "paid_after_final, not booked" anomaly asking
		// staff to refund money that is in the employees' records.
		var o store.OrderRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("order_no = ? AND unit_id <> ''", e.OrderNo).Take(&o).Error
		if kernel.IsNotFound(err) {
			if err := mark(OutcomeAnomaly); err != nil {
				return err
			}
			return s.AnomalyTx(tx, e.Source, "", e.OrderNo, "unknown_order", "单位缴费通知的订单号不存在")
		}
		if err != nil {
			return err
		}
		if e.Amount != models.Fen(o.AmountFen) {
			if err := mark(OutcomeAnomaly); err != nil {
				return err
			}
			return s.OpenAnomaly(tx, kernel.AnomalyNote{Source: e.Source, Channel: o.Channel, OrderNo: o.OrderNo, Kind: "amount_mismatch",
				AmountFen: int64(e.Amount), Detail: fmt.Sprintf("报告已收款 %d 分，与单位订单金额 %d 分不符，未入账", e.Amount, o.AmountFen)})
		}
		at := e.At.UTC()
		if at.IsZero() {
			at = now
		}
		moved, err := contrib.MarkOrderPaid(tx, o.OrderNo, at, e.TransactionID, now)
		if err != nil {
			return err
		}
		if !moved && o.Status == contrib.OrderFailed {
			// The bank failed the debit and now reports it paid: the money
			// is taken. The failure gave the declaration back to the unit,
			// so the order settles like any other (book finds whether the
			// declaration is still this order's to pay), and staff are told
			// the bank changed its answer. It used to stay failed with the
			// money in an anomaly only, which no refund path could reach.
			res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status = ?", o.OrderNo, contrib.OrderFailed).
				Updates(map[string]any{"status": contrib.OrderPaid, "paid_at": at, "transaction_id": e.TransactionID, "closed_at": nil, "updated_at": now})
			if res.Error != nil {
				return res.Error
			}
			if moved = res.RowsAffected == 1; moved {
				if err := s.OpenAnomaly(tx, kernel.AnomalyNote{Source: e.Source, Channel: o.Channel, OrderNo: o.OrderNo, Kind: "paid_after_final",
					AmountFen: int64(e.Amount), Detail: "单位订单已按失败处理，银行又报告扣款成功",
					SystemAction: "已按收款入账；请向银行核实该笔扣款"}); err != nil {
					return err
				}
			}
		}
		if !moved {
			if o.Status == contrib.OrderPaid || o.Status == contrib.OrderPartiallyRefunded || o.Status == contrib.OrderRefunded {
				return mark(OutcomeDuplicate)
			}
			// Paid after we took the order as failed (the bank said so
			// before): the money is there but nothing may be booked
			// blindly, as the declaration may be paid otherwise by now.
			if err := mark(OutcomeAnomaly); err != nil {
				return err
			}
			return s.OpenAnomaly(tx, kernel.AnomalyNote{Source: e.Source, Channel: o.Channel, OrderNo: o.OrderNo, Kind: "paid_after_final",
				AmountFen: int64(e.Amount), Detail: "单位订单状态为 " + o.Status + "，却收到已收款的结果，未入账"})
		}
		if e.Before != nil {
			if err := e.Before(tx); err != nil {
				return err
			}
		}
		o.Status, o.PaidAt, o.TransactionID = contrib.OrderPaid, &at, e.TransactionID
		order, settled = o, true
		if err := s.book(tx, o, at, e.Source); err != nil {
			return err
		}
		return s.tellLegalRep(tx, o)
	})
	if err != nil {
		return "", kernel.Internal("settle unit order", err)
	}
	if settled {
		s.contrib.ForgetUnitDeclarationPayables(ctx, order.UnitDeclarationID)
		s.Log.InfoContext(ctx, "unit order paid", "order_no", order.OrderNo, "unit_id", order.UnitID, "method", order.Method,
			"amount_fen", order.AmountFen, "source", e.Source)
		if s.OnPaid != nil {
			s.OnPaid(ctx, order.OrderNo)
		}
	}
	return outcome, nil
}

// MessageKindUnitPayment is the in-app message telling a unit's legal
// representative that a unit order was paid.
const MessageKindUnitPayment = "unit_payment"

// tellLegalRep writes the in-app message of a paid unit order for the
// unit's legal representative, in the settling transaction: once per
// order, like the settlement.
func (s *UnitPay) tellLegalRep(tx *gorm.DB, o store.OrderRow) error {
	var m store.UnitMemberRow
	err := tx.Where("rep_key = ?", o.UnitID).Take(&m).Error
	if kernel.IsNotFound(err) || (err == nil && m.UserID == "") {
		return nil
	}
	if err != nil {
		return err
	}
	var d store.UnitDeclarationRow
	if err := tx.Select("period").Where("id = ?", o.UnitDeclarationID).Take(&d).Error; err != nil {
		return err
	}
	_, err = s.WriteMessage(tx, m.UserID, MessageKindUnitPayment, "单位社会保险费缴费成功",
		fmt.Sprintf("费款所属期 %s 的单位社会保险费 %s 元已缴纳（订单号 %s），职工个人权益记录随后入库、记账。", d.Period, models.Fen(o.AmountFen).Yuan(), o.OrderNo),
		"", models.Message{})
	return err
}

// sameFund names the individual scheme paying into the same fund as a
// unit scheme: an employee's month paid by the unit into 企业职工养老 must
// not also be a flexible worker's month of it, nor 职工医保 twice.
var sameFund = map[string]string{
	string(models.SchemeEnterprisePension): string(models.SchemeFlexiblePension),
	string(models.SchemeEnterpriseMedical): string(models.SchemeFlexibleMedical),
}

// book writes what a paid unit order means: the declaration is paid and
// each line becomes the employee's record of that month (paid, with the
// unit as payer). A line whose month the employee already has paid in
// that fund (by themselves, or by another unit) is not booked twice: the
// rest of the order is, and the skipped lines are one anomaly for staff
// to refund the unit (the order is never refunded whole for it). An order
// whose declaration another order has paid meanwhile (a voucher paid
// after it expired and the unit paid otherwise) books nothing: the money
// is an anomaly, refunded through the unit refund path.
func (s *UnitPay) book(tx *gorm.DB, o store.OrderRow, paidAt time.Time, source string) error {
	now := s.Now()
	res := tx.Model(&store.UnitDeclarationRow{}).
		Where("id = ? AND ((status = ? AND order_no = ?) OR (status = ? AND order_no = ?))", o.UnitDeclarationID, DeclPaying, o.OrderNo, DeclOpen, "").
		Updates(map[string]any{"status": DeclPaid, "order_no": o.OrderNo, "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return s.OpenAnomaly(tx, kernel.AnomalyNote{Source: source, Channel: o.Channel, OrderNo: o.OrderNo, Kind: "unit_declaration_paid_twice",
			AmountFen: o.AmountFen, Detail: "单位订单已收款，但该申报已由其他订单缴纳或正在缴纳，未记入个人权益记录",
			SystemAction: "款项未入账，请按单位退费流程退还"})
	}
	var d store.UnitDeclarationRow
	if err := tx.Where("id = ?", o.UnitDeclarationID).Take(&d).Error; err != nil {
		return err
	}
	var lines []store.UnitDeclarationLineRow
	if err := tx.Where("declaration_id = ?", d.ID).Order("id").Find(&lines).Error; err != nil {
		return err
	}
	// The employees whose month a person may also be paying into the same
	// fund are locked before their lines are checked, as a person's own
	// settlement locks itself (kernel.LockPersons): of the two, the
	// second to settle sees what the first booked.
	var locked []string
	for _, l := range lines {
		if _, ok := sameFund[l.Scheme]; ok {
			locked = append(locked, l.PersonID)
		}
	}
	if err := kernel.LockPersons(tx, s.DB.Dialect, locked); err != nil {
		return err
	}
	var skipped []string
	var skippedFen int64
	stamp, err := s.contrib.RecordStampTx(tx, o, source)
	if err != nil {
		return err
	}
	for _, l := range lines {
		ok, err := s.bookLine(tx, o, d, l, paidAt, stamp)
		if err != nil {
			return err
		}
		if !ok {
			skipped = append(skipped, l.ID)
			skippedFen += l.AmountFen
		}
	}
	if len(skipped) == 0 {
		return nil
	}
	ids := strings.Join(skipped, ",")
	return s.OpenAnomaly(tx, kernel.AnomalyNote{Source: source, Channel: o.Channel, OrderNo: o.OrderNo, Kind: "unit_line_already_paid",
		AmountFen: skippedFen, Detail: kernel.Truncate(fmt.Sprintf("%d 名职工的该月已在同一基金缴纳，未重复记入（申报明细 %s）", len(skipped), ids), 500),
		SystemAction: "其余职工已入账；重复部分请按单位退费流程退还"})
}

// bookLine writes one employee's record for a declaration line; false
// when the month is already paid in the same fund.
func (s *UnitPay) bookLine(tx *gorm.DB, o store.OrderRow, d store.UnitDeclarationRow, l store.UnitDeclarationLineRow, paidAt time.Time, stamp contrib.RecordStamp) (bool, error) {
	if sib, ok := sameFund[l.Scheme]; ok {
		var n int64
		// Paid only: a flexible order still paying may never be paid, and
		// skipping the line for it left the month credited by nobody (the
		// unit cannot declare it again). If it is paid after this, it
		// finds the unit's record and is refunded whole (contrib).
		if err := tx.Model(&store.ClaimRow{}).Where("person_id = ? AND scheme = ? AND period = ? AND state = ?",
			l.PersonID, sib, d.Period, contrib.ClaimPaid).Count(&n).Error; err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
		if err := tx.Model(&store.RecordRow{}).Where("person_id = ? AND scheme = ? AND period = ? AND status <> ?",
			l.PersonID, sib, d.Period, contrib.RecordRefunded).Count(&n).Error; err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
	}
	// The month's contribution is claimed like an individual's, so no
	// other payer can pay it afterwards. A correction's line is the same unit's
	// difference for a month it claimed, or the month of someone it
	// declares only now (taken on after confirming): it claims the month
	// if nobody has, and is refused when another unit holds it. It used to
	// skip the claim, and an employee another unit had paid for that month
	// was credited twice in one fund.
	claimed, err := kernel.InsertIfAbsent(tx, &store.ClaimRow{PersonID: l.PersonID, Scheme: l.Scheme, Period: d.Period,
		DeclarationID: d.ID, State: contrib.ClaimPaid})
	if err != nil {
		return false, err
	}
	if !claimed {
		var c store.ClaimRow
		if err := tx.Where("person_id = ? AND scheme = ? AND period = ?", l.PersonID, l.Scheme, d.Period).Take(&c).Error; err != nil {
			return false, err
		}
		if c.DeclarationID != d.ID {
			// Either way round: the month's declaration may be paid after
			// its correction.
			var n int64
			if err := tx.Model(&store.UnitDeclarationRow{}).Where("id = ? AND unit_id = ?", c.DeclarationID, d.UnitID).Count(&n).Error; err != nil {
				return false, err
			}
			if n == 0 {
				return false, nil
			}
		}
	}
	rec := store.RecordRow{ID: kernel.NewID("r"), PersonID: l.PersonID, Scheme: l.Scheme, Period: d.Period, RegionCode: l.RegionCode,
		BaseFen: l.BaseFen, AmountFen: l.AmountFen, Status: contrib.RecordPaid, OrderNo: o.OrderNo, PayerUserID: o.PayerUserID,
		PaidAt: paidAt, PayerUnitID: o.UnitID, UnitLineID: l.ID, AdjustmentNo: d.Seq}
	stamp.Apply(&rec)
	return kernel.InsertIfAbsent(tx, &rec)
}
