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

// SettleRefundNotice applies a channel's refund notification (WeChat
// REFUND.SUCCESS/ABNORMAL/CLOSED…) in one transaction: the notification id
// is inserted first (a duplicate changes nothing), then the payout it names
// is confirmed or failed by the same conditional updates the synchronous
// answer and the worker use, so a notification racing them settles the
// money once. A notification for a refund we never asked for, or with
// another amount, is an anomaly.
func (s *Payouts) SettleRefundNotice(ctx context.Context, n models.Notification) (string, error) {
	now := s.Now()
	outcome := contrib.OutcomeSettled
	var pushes []kernel.PendingPush
	var orders []string
	var failed, abnormal *store.RefundPayoutRow
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		outcome, pushes, orders, failed, abnormal = contrib.OutcomeSettled, nil, nil, nil, nil
		fresh, err := s.contrib.ClaimNotification(tx, n, now)
		if err != nil {
			return err
		}
		if !fresh {
			outcome = contrib.OutcomeDuplicate
			return nil
		}
		var p store.RefundPayoutRow
		err = tx.Where("payout_no = ? AND kind = ?", n.OutRefundNo, refunds.PayoutChannel).Take(&p).Error
		if kernel.IsNotFound(err) || (err == nil && (p.Channel != n.Channel || p.OrderNo != n.OrderNo)) {
			outcome = contrib.OutcomeAnomaly
			if err := s.contrib.MarkOutcome(tx, n, outcome); err != nil {
				return err
			}
			return s.AnomalyTx(tx, "notify", n.Channel, n.OrderNo, "unknown_refund", "退款通知的退款单号 "+n.OutRefundNo+" 不存在")
		}
		if err != nil {
			return err
		}
		switch n.RefundState {
		case models.RefundSuccess:
			amountOK := n.Amount == models.Fen(p.AmountFen)
			if n.AmountIsTotal {
				// Alipay's refund_fee is the trade's running total: the
				// second partial refund reports both. It must cover this
				// refund and stay within what the order was paid.
				amountOK = n.Amount >= models.Fen(p.AmountFen) && n.Amount <= models.Fen(p.OrderTotalFen)
			}
			if !amountOK {
				outcome = contrib.OutcomeAnomaly
				if err := s.contrib.MarkOutcome(tx, n, outcome); err != nil {
					return err
				}
				return s.AnomalyTx(tx, "notify", n.Channel, n.OrderNo, "refund_amount_mismatch",
					fmt.Sprintf("退款通知金额 %d 分与退款 %s 的 %d 分不符", n.Amount, p.PayoutNo, p.AmountFen))
			}
			if n.RefundToMerchant {
				// The money went back to our merchant account, not to the
				// person (an abnormal refund released to the merchant, here
				// or at the platform): returned, to be paid by bank, never
				// counted paid. A payout counted failed or returned is paid
				// another way already, which this does not change.
				moved, err := s.channelReturnedPayoutTx(tx, p, "notify")
				if err != nil {
					return err
				}
				if !moved {
					outcome = contrib.OutcomeIgnored
					return s.contrib.MarkOutcome(tx, n, outcome)
				}
				return nil
			}
			switch p.Status {
			case refunds.PayoutSuccess:
				outcome = contrib.OutcomeDuplicate
				return s.contrib.MarkOutcome(tx, n, outcome)
			case refunds.PayoutReturning, refunds.PayoutReturned:
				// The abnormal refund the window sent back to our merchant
				// account has arrived there: the person got nothing by it.
				outcome = contrib.OutcomeIgnored
				return s.contrib.MarkOutcome(tx, n, outcome)
			case refunds.PayoutFailed:
				// Paid out by the channel after we counted it failed: the
				// person may be paid twice (the window pays failed payouts
				// by bank). Never silence: staff must see it.
				outcome = contrib.OutcomeAnomaly
				if err := s.contrib.MarkOutcome(tx, n, outcome); err != nil {
					return err
				}
				return s.OpenAnomaly(tx, kernel.AnomalyNote{Source: "notify", Channel: n.Channel, OrderNo: n.OrderNo, RefundNo: p.RefundNo,
					Kind: "refund_success_after_failure", AmountFen: int64(n.Amount),
					Detail: fmt.Sprintf("退款 %s 本系统已记为失败，渠道却通知已退款 %d 分；如该笔已另行退还，缴费人可能重复收款，请核实并追回", p.PayoutNo, n.Amount)})
			}
			confirmed, pp, os, err := s.confirmPayoutTx(tx, p.PayoutNo, n.At, "notify")
			if err != nil {
				return err
			}
			if !confirmed {
				outcome = contrib.OutcomeDuplicate // confirmed meanwhile by an answer, a query or another delivery
				return s.contrib.MarkOutcome(tx, n, outcome)
			}
			pushes, orders = pp, os
			return nil
		case models.RefundFailed:
			if p.Status != refunds.PayoutPending && p.Status != refunds.PayoutAbnormal {
				outcome = contrib.OutcomeDuplicate
				return s.contrib.MarkOutcome(tx, n, outcome)
			}
			failed = &p
			return nil
		case models.RefundAbnormal:
			if p.Status != refunds.PayoutPending {
				outcome = contrib.OutcomeDuplicate
				return s.contrib.MarkOutcome(tx, n, outcome)
			}
			abnormal = &p
			return nil
		}
		outcome = contrib.OutcomeIgnored // still processing
		return s.contrib.MarkOutcome(tx, n, outcome)
	})
	if err != nil {
		return "", kernel.Internal("settle refund notice", err)
	}
	if failed != nil {
		if err := s.failPayout(ctx, *failed, "渠道通知：退款失败"); err != nil {
			return "", err
		}
	}
	if abnormal != nil {
		if err := s.holdAbnormalPayout(ctx, *abnormal, "notify"); err != nil {
			return "", err
		}
	}
	for _, o := range orders {
		s.contrib.UncacheOrder(ctx, o)
	}
	s.Push(ctx, pushes)
	return outcome, nil
}
