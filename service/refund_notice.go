package service

import (
	"context"
	"fmt"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// settleRefundNotice applies a channel's refund notification (WeChat
// REFUND.SUCCESS/ABNORMAL/CLOSED…) in one transaction: the notification id
// is inserted first (a duplicate changes nothing), then the payout it names
// is confirmed or failed by the same conditional updates the synchronous
// answer and the worker use, so a notification racing them settles the
// money once. A notification for a refund we never asked for, or with
// another amount, is an anomaly.
func (s *Service) settleRefundNotice(ctx context.Context, n models.Notification) (string, error) {
	now := s.now()
	outcome := OutcomeSettled
	var pushes []pendingPush
	var orders []string
	var failed, abnormal *store.RefundPayoutRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		outcome, pushes, orders, failed, abnormal = OutcomeSettled, nil, nil, nil, nil
		fresh, err := s.claimNotification(tx, n, now)
		if err != nil {
			return err
		}
		if !fresh {
			outcome = OutcomeDuplicate
			return nil
		}
		var p store.RefundPayoutRow
		err = tx.Where("payout_no = ? AND kind = ?", n.OutRefundNo, PayoutChannel).Take(&p).Error
		if isNotFound(err) || (err == nil && (p.Channel != n.Channel || p.OrderNo != n.OrderNo)) {
			outcome = OutcomeAnomaly
			if err := s.markOutcome(tx, n, outcome); err != nil {
				return err
			}
			return s.anomalyTx(tx, "notify", n.Channel, n.OrderNo, "unknown_refund", "退款通知的退款单号 "+n.OutRefundNo+" 不存在")
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
				outcome = OutcomeAnomaly
				if err := s.markOutcome(tx, n, outcome); err != nil {
					return err
				}
				return s.anomalyTx(tx, "notify", n.Channel, n.OrderNo, "refund_amount_mismatch",
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
					outcome = OutcomeIgnored
					return s.markOutcome(tx, n, outcome)
				}
				return nil
			}
			switch p.Status {
			case PayoutSuccess:
				outcome = OutcomeDuplicate
				return s.markOutcome(tx, n, outcome)
			case PayoutReturning, PayoutReturned:
				// The abnormal refund the window sent back to our merchant
				// account has arrived there: the person got nothing by it.
				outcome = OutcomeIgnored
				return s.markOutcome(tx, n, outcome)
			case PayoutFailed:
				// Paid out by the channel after we counted it failed: the
				// person may be paid twice (the window pays failed payouts
				// by bank). Never silence: staff must see it.
				outcome = OutcomeAnomaly
				if err := s.markOutcome(tx, n, outcome); err != nil {
					return err
				}
				return s.openAnomaly(tx, anomalyNote{Source: "notify", Channel: n.Channel, OrderNo: n.OrderNo, RefundNo: p.RefundNo,
					Kind: "refund_success_after_failure", AmountFen: int64(n.Amount),
					Detail: fmt.Sprintf("退款 %s 本系统已记为失败，渠道却通知已退款 %d 分；如该笔已另行退还，缴费人可能重复收款，请核实并追回", p.PayoutNo, n.Amount)})
			}
			confirmed, pp, os, err := s.confirmPayoutTx(tx, p.PayoutNo, n.At, "notify")
			if err != nil {
				return err
			}
			if !confirmed {
				outcome = OutcomeDuplicate // confirmed meanwhile by an answer, a query or another delivery
				return s.markOutcome(tx, n, outcome)
			}
			pushes, orders = pp, os
			return nil
		case models.RefundFailed:
			if p.Status != PayoutPending && p.Status != PayoutAbnormal {
				outcome = OutcomeDuplicate
				return s.markOutcome(tx, n, outcome)
			}
			failed = &p
			return nil
		case models.RefundAbnormal:
			if p.Status != PayoutPending {
				outcome = OutcomeDuplicate
				return s.markOutcome(tx, n, outcome)
			}
			abnormal = &p
			return nil
		}
		outcome = OutcomeIgnored // still processing
		return s.markOutcome(tx, n, outcome)
	})
	if err != nil {
		return "", internal("settle refund notice", err)
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
		s.uncacheOrder(ctx, o)
	}
	s.push(ctx, pushes)
	return outcome, nil
}
