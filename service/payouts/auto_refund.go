package payouts

import (
	"context"
	"fmt"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// PlanAutoRefund files the automatic refund of a paid order that cannot be
// booked, inside the settling transaction.
func (s *Payouts) PlanAutoRefund(tx *gorm.DB, o store.OrderRow, why, source string) (*contrib.AutoRefund, error) {
	now := s.Now()
	refundNo := contrib.AutoRefundNo(o.OrderNo)
	scheme := models.Scheme(o.Scheme)
	row := store.RefundRow{RefundNo: refundNo, ApplicantUserID: o.PayerUserID, PersonID: o.PersonID, Scheme: o.Scheme,
		Department: scheme.Department(), Reason: string(models.ReasonWronglyCollected),
		ReasonDetail: "订单 " + o.OrderNo + " 付款时" + why + "，系统自动原路退款", RefundFen: o.AmountFen,
		Route: string(models.RouteOriginal), Attachments: "[]", Status: string(models.RefundRefunding), Holder: models.DeptTax,
		PayoutSeq: 1, CreatedAt: now, UpdatedAt: now, ApplicantRole: refunds.RoleSystem}
	inserted, err := kernel.InsertIfAbsent(tx, &row)
	if err != nil || !inserted {
		return nil, err // !inserted: planned already (cannot happen: the order moved to paid once)
	}
	next := now.Add(payoutFirstQuery)
	p := store.RefundPayoutRow{PayoutNo: refundNo + "-1C1", RefundNo: refundNo, Kind: refunds.PayoutChannel, Channel: o.Channel,
		OrderNo: o.OrderNo, OrderTotalFen: o.AmountFen, AmountFen: o.AmountFen,
		Allocation: formatAllocation(map[string]int64{o.OrderNo: o.AmountFen}), Status: refunds.PayoutPending, NextQueryAt: &next,
		CreatedBy: "system", CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&p).Error; err != nil {
		return nil, err
	}
	amount := models.Fen(o.AmountFen).Yuan()
	if err := s.refunds.AddEvent(tx, refundNo, store.RefundEventRow{Status: string(models.RefundRefunding), ActorKind: refunds.ActorSystem,
		ActorID: "system", Department: models.DeptTax, Holder: models.DeptTax,
		Note: "订单 " + o.OrderNo + " 付款时" + why + "，" + amount + " 元由系统自动原路退回"}); err != nil {
		return nil, err
	}
	if err := s.OpenAnomaly(tx, kernel.AnomalyNote{Source: source, Channel: o.Channel, OrderNo: o.OrderNo, RefundNo: refundNo,
		Kind: "paid_twice", AmountFen: o.AmountFen, Detail: "订单付款时" + why + "，无法入账",
		SystemAction: "已自动原路退款（退款单号 " + refundNo + "），退款到账后自动办结"}); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("您的订单 %s（%s，%s 元）付款时%s，本笔款项无法入账，将原路退回您的付款账户（退款单号 %s），无需申请。",
		o.OrderNo, scheme.Name(), amount, why, refundNo)
	push := models.Message{Kind: models.MessageRefundResult, Page: "pages/refund/detail?refund_no=" + refundNo,
		Fields: map[string]string{"character_string1": refundNo, "phrase2": "自动退款", "amount3": amount + "元",
			"thing4": refunds.TruncateRunes("重复缴费，原路退回", 20), "time5": now.In(models.Beijing).Format("2006-01-02 15:04")}}
	pp, err := s.WriteMessage(tx, o.PayerUserID, kernel.MessageKindRefund, "重复缴费将自动退回", body, refundNo, push)
	if err != nil {
		return nil, err
	}
	return &contrib.AutoRefund{Payout: p, Push: pp}, nil
}

// SendAutoRefund tells the payer and sends the refund after the settlement
// committed. A payout whose answer is lost stays pending for the worker.
func (s *Payouts) SendAutoRefund(ctx context.Context, a contrib.AutoRefund, source string) {
	s.Log.WarnContext(ctx, "paid order cannot be booked; refunding it", "order_no", a.Payout.OrderNo, "refund_no", a.Payout.RefundNo,
		"amount_fen", a.Payout.AmountFen, "source", source)
	if s.OnPaid != nil {
		s.OnPaid(ctx, a.Payout.OrderNo)
	}
	s.Push(ctx, []kernel.PendingPush{a.Push})
	// Claimed like the worker's follow-up; when another instance holds it,
	// it is being sent there.
	if _, err := s.WithWork(ctx, kernel.WorkRefundPayout, a.Payout.PayoutNo, func() error {
		return s.sendIfStillPending(ctx, a.Payout.PayoutNo, source)
	}); err != nil {
		s.Log.WarnContext(ctx, "automatic refund not sent; the worker will", "payout_no", a.Payout.PayoutNo, "err", err)
	}
}
