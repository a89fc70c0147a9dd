package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// An order paid that cannot be booked — its declaration was paid by
// another order, or its months were taken by another payment after it was
// closed (an Alipay H5 URL paid after the payer switched to WeChat) — is
// still paid: the money is ours until it goes back. It used to be left paid
// with no records and only an anomaly nobody read. Now the settlement that
// finds it so opens, in the same transaction, a refund of the whole order
// through its original channel: an application the system files for the
// payer, already refunding, with one payout under a number derived from
// the order (so it is made at most once, whoever settles the order), the
// payer is told, and an anomaly says what the system did. The payout then
// follows the ordinary path: sent now, confirmed by the answer, the
// notification or the worker; a failed one is paid by bank by the tax
// window like any other.

// errUnbookable says a paid order cannot be booked, and why (for people).
type errUnbookable struct{ why string }

func (e errUnbookable) Error() string { return "order cannot be booked: " + e.why }

// autoRefundPrefix starts the number of an automatic refund; the rest is
// the order number without its own prefix, so each order has one.
const autoRefundPrefix = "TZ"

// autoRefundNo is the fixed number of an order's automatic refund.
func autoRefundNo(orderNo string) string {
	return autoRefundPrefix + strings.TrimPrefix(orderNo, "LB")
}

// isAutoRefund reports whether an application is an automatic refund.
func isAutoRefund(refundNo string) bool { return strings.HasPrefix(refundNo, autoRefundPrefix) }

// autoRefund is what to do after the settlement commits.
type autoRefund struct {
	payout store.RefundPayoutRow
	push   pendingPush
}

// planAutoRefund files the automatic refund of a paid order that cannot be
// booked, inside the settling transaction.
func (s *Service) planAutoRefund(tx *gorm.DB, o store.OrderRow, why, source string) (*autoRefund, error) {
	now := s.now()
	refundNo := autoRefundNo(o.OrderNo)
	scheme := models.Scheme(o.Scheme)
	row := store.RefundRow{RefundNo: refundNo, ApplicantUserID: o.PayerUserID, PersonID: o.PersonID, Scheme: o.Scheme,
		Department: scheme.Department(), Reason: string(models.ReasonWronglyCollected),
		ReasonDetail: "订单 " + o.OrderNo + " 付款时" + why + "，系统自动原路退款", RefundFen: o.AmountFen,
		Route: string(models.RouteOriginal), Attachments: "[]", Status: string(models.RefundRefunding), Holder: models.DeptTax,
		PayoutSeq: 1, CreatedAt: now, UpdatedAt: now, ApplicantRole: RoleSystem}
	inserted, err := insertIfAbsent(tx, &row)
	if err != nil || !inserted {
		return nil, err // !inserted: planned already (cannot happen: the order moved to paid once)
	}
	next := now.Add(payoutFirstQuery)
	p := store.RefundPayoutRow{PayoutNo: refundNo + "-1C1", RefundNo: refundNo, Kind: PayoutChannel, Channel: o.Channel,
		OrderNo: o.OrderNo, OrderTotalFen: o.AmountFen, AmountFen: o.AmountFen,
		Allocation: formatAllocation(map[string]int64{o.OrderNo: o.AmountFen}), Status: PayoutPending, NextQueryAt: &next,
		CreatedBy: "system", CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&p).Error; err != nil {
		return nil, err
	}
	amount := models.Fen(o.AmountFen).Yuan()
	if err := s.addEvent(tx, refundNo, store.RefundEventRow{Status: string(models.RefundRefunding), ActorKind: actorSystem,
		ActorID: "system", Department: models.DeptTax, Holder: models.DeptTax,
		Note: "订单 " + o.OrderNo + " 付款时" + why + "，" + amount + " 元由系统自动原路退回"}); err != nil {
		return nil, err
	}
	if err := s.openAnomaly(tx, anomalyNote{Source: source, Channel: o.Channel, OrderNo: o.OrderNo, RefundNo: refundNo,
		Kind: "paid_twice", AmountFen: o.AmountFen, Detail: "订单付款时" + why + "，无法入账",
		SystemAction: "已自动原路退款（退款单号 " + refundNo + "），退款到账后自动办结"}); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("您的订单 %s（%s，%s 元）付款时%s，本笔款项无法入账，将原路退回您的付款账户（退款单号 %s），无需申请。",
		o.OrderNo, scheme.Name(), amount, why, refundNo)
	push := models.Message{Kind: models.MessageRefundResult, Page: "pages/refund/detail?refund_no=" + refundNo,
		Fields: map[string]string{"character_string1": refundNo, "phrase2": "自动退款", "amount3": amount + "元",
			"thing4": truncateRunes("重复缴费，原路退回", 20), "time5": now.In(models.Beijing).Format("2006-01-02 15:04")}}
	pp, err := s.writeMessage(tx, o.PayerUserID, MessageKindRefund, "重复缴费将自动退回", body, refundNo, push)
	if err != nil {
		return nil, err
	}
	return &autoRefund{payout: p, push: pp}, nil
}

// sendAutoRefund tells the payer and sends the refund after the settlement
// committed. A payout whose answer is lost stays pending for the worker.
func (s *Service) sendAutoRefund(ctx context.Context, a autoRefund, source string) {
	s.Log.WarnContext(ctx, "paid order cannot be booked; refunding it", "order_no", a.payout.OrderNo, "refund_no", a.payout.RefundNo,
		"amount_fen", a.payout.AmountFen, "source", source)
	if s.OnPaid != nil {
		s.OnPaid(ctx, a.payout.OrderNo)
	}
	s.push(ctx, []pendingPush{a.push})
	if err := s.sendPayout(ctx, a.payout, source); err != nil {
		s.Log.WarnContext(ctx, "automatic refund not sent; the worker will", "payout_no", a.payout.PayoutNo, "err", err)
	}
}
