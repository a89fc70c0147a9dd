package payouts

import (
	"context"
	"errors"
	"fmt"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// ReturnAbnormalPayout is the tax window releasing a channel refund the
// channel holds as abnormal (WeChat ABNORMAL: the payer's card was
// cancelled or frozen) back to our merchant account, so that the person can
// be paid by bank transfer instead (退费 execute with the account they
// handed in). The payout moves abnormal → returning before the channel is
// asked, so that a success the channel reports afterwards is read as the
// money coming back to us, never as the person paid; it moves to returned
// once the channel accepted. A call that got no answer leaves it returning
// and may be repeated. Only then may execute plan a bank transfer for it.
func (s *Payouts) ReturnAbnormalPayout(ctx context.Context, a kernel.StaffActor, refundNo, payoutNo string) (refunds.StaffRefund, error) {
	const action = "refund.return_abnormal"
	if err := s.hall.Require(ctx, a, models.PermRefundIntake, action, "refund", refundNo); err != nil {
		return refunds.StaffRefund{}, err
	}
	r, err := s.refunds.LoadRefund(ctx, refundNo)
	if err != nil {
		return refunds.StaffRefund{}, err
	}
	var p store.RefundPayoutRow
	if err := s.Conn(ctx).Where("payout_no = ? AND refund_no = ?", payoutNo, refundNo).Take(&p).Error; err != nil {
		if kernel.IsNotFound(err) {
			return refunds.StaffRefund{}, models.ErrNotFound
		}
		return refunds.StaffRefund{}, kernel.Internal("refund payout", err)
	}
	fail := func(err error, detail string) (refunds.StaffRefund, error) {
		if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: action, TargetKind: "refund", TargetID: refundNo, Outcome: kernel.AuditFailed,
			Detail: payoutNo + " " + detail}); aerr != nil {
			return refunds.StaffRefund{}, aerr
		}
		return refunds.StaffRefund{}, err
	}
	if r.Status != string(models.RefundRefunding) || p.Kind != refunds.PayoutChannel || (p.Status != refunds.PayoutAbnormal && p.Status != refunds.PayoutReturning) {
		return fail(models.ErrRefundState.WithReason("只有渠道退款异常（款项由渠道暂存）的退款可以退回商户账户"), "状态 "+p.Status)
	}
	ch, ok := s.Payments[p.Channel].(models.AbnormalRefunder)
	if !ok {
		return fail(models.ErrChannelUnsupported.WithReason("该渠道不支持异常退款处理，请在渠道商户平台处理"), "渠道 "+p.Channel)
	}
	if p.Status == refunds.PayoutAbnormal {
		moved := false
		err := s.Tx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, refunds.PayoutAbnormal).
				Updates(map[string]any{"status": refunds.PayoutReturning, "updated_at": s.Now()})
			if res.Error != nil {
				return res.Error
			}
			moved = res.RowsAffected == 1
			return nil
		})
		if err != nil {
			return refunds.StaffRefund{}, kernel.Internal("return abnormal payout", err)
		}
		if !moved {
			// The channel's answer (a success by query or notification)
			// came first: look again.
			return fail(models.ErrRefundState.WithReason("该笔退款状态已变化，请刷新后查看"), "状态已变化")
		}
	}
	if err := ch.ReturnAbnormalRefund(ctx, p.OrderNo, p.PayoutNo); err != nil {
		if errors.Is(err, models.ErrUnavailable) {
			return fail(models.ErrUnavailable.WithReason("支付渠道暂未应答，请稍后再次办理（不会重复退款）"), err.Error())
		}
		return fail(models.ErrRefundState.WithReason("支付渠道未受理退回：该笔退款在渠道已不是异常状态，请在渠道商户平台核实去向"), err.Error())
	}
	now := s.Now()
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, refunds.PayoutReturning).
			Updates(map[string]any{"status": refunds.PayoutReturned, "failed_at": now, "last_error": "异常退款已退回商户账户", "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			// WeChat's REFUND.SUCCESS for the return came first and moved
			// it (channelReturnedPayout): the window still acted.
			return s.AuditTx(tx, a, kernel.AuditNote{Action: action, TargetKind: "refund", TargetID: refundNo, Outcome: kernel.AuditOK,
				Detail: fmt.Sprintf("%s 退回商户账户 %d 分", p.PayoutNo, p.AmountFen)})
		}
		if err := s.refunds.AddEvent(tx, refundNo, refunds.StaffEvent(a, models.RefundRefunding, models.DeptTax, nil,
			models.Fen(p.AmountFen).Yuan()+" 元异常退款已由支付渠道退回，税务将改为银行账户退还")); err != nil {
			return err
		}
		if err := tx.Model(&store.AnomalyRow{}).Where("refund_no = ? AND kind = ? AND resolved_at IS NULL", refundNo, "refund_abnormal").
			Updates(map[string]any{"resolved_at": now, "resolved_by": a.StaffID,
				"resolution": "已将异常退款 " + p.PayoutNo + " 退回商户账户，改为银行转账"}).Error; err != nil {
			return err
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: action, TargetKind: "refund", TargetID: refundNo, Outcome: kernel.AuditOK,
			Detail: fmt.Sprintf("%s 退回商户账户 %d 分", p.PayoutNo, p.AmountFen)})
	})
	if err != nil {
		return refunds.StaffRefund{}, kernel.Internal("return abnormal payout", err)
	}
	return s.refunds.ReloadStaffView(ctx, refundNo)
}

// channelReturnedPayout records a payout whose money the channel reports
// sent back to our own merchant account (RefundResult.ToMerchant: WeChat's
// SUCCESS with user_received_account 商户基本账户). The person got nothing
// by it, so it is returned, never success: counting it paid closed the
// application with the person unpaid and the money kept. It moves pending,
// abnormal or returning → returned once, and the window then pays that part
// by bank (execute again). A return the window asked for (returning) closes
// the abnormal anomaly as the window's own answer would; one released at
// the merchant platform tells staff to pay by bank.
func (s *Payouts) channelReturnedPayout(ctx context.Context, p store.RefundPayoutRow, source string) error {
	moved := false
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		moved, err = s.channelReturnedPayoutTx(tx, p, source)
		return err
	})
	if err != nil {
		return kernel.Internal("returned payout", err)
	}
	if moved {
		s.Log.WarnContext(ctx, "refund payout returned to the merchant account by the channel", "payout_no", p.PayoutNo, "source", source)
	}
	return nil
}

func (s *Payouts) channelReturnedPayoutTx(tx *gorm.DB, p store.RefundPayoutRow, source string) (bool, error) {
	now := s.Now()
	if err := tx.Where("payout_no = ?", p.PayoutNo).Take(&p).Error; err != nil {
		return false, err
	}
	asked := p.Status == refunds.PayoutReturning
	res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, p.Status).
		Where("status IN ?", []string{refunds.PayoutPending, refunds.PayoutAbnormal, refunds.PayoutReturning}).
		Updates(map[string]any{"status": refunds.PayoutReturned, "failed_at": now, "last_error": "款项已由支付渠道退回商户账户", "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	if err := s.refunds.AddEvent(tx, p.RefundNo, store.RefundEventRow{Status: string(models.RefundRefunding), ActorKind: refunds.ActorSystem,
		ActorID: "system", Department: models.DeptTax, Holder: models.DeptTax,
		Note: models.Fen(p.AmountFen).Yuan() + " 元未退到缴费人账户，已由支付渠道退回，税务将改为银行账户退还"}); err != nil {
		return false, err
	}
	open := tx.Model(&store.AnomalyRow{}).Where("refund_no = ? AND kind = ? AND resolved_at IS NULL", p.RefundNo, "refund_abnormal")
	if asked {
		return true, open.Updates(map[string]any{"resolved_at": now, "resolved_by": "system",
			"resolution": "异常退款 " + p.PayoutNo + " 已退回商户账户，改为银行转账"}).Error
	}
	action := "款项已由支付渠道退回商户账户（" + p.PayoutNo + "），请录入申请人提供的银行账户后办理退费，改为银行转账"
	upd := open.Updates(map[string]any{"system_action": action})
	if upd.Error != nil || upd.RowsAffected > 0 {
		return true, upd.Error
	}
	return true, s.OpenAnomaly(tx, kernel.AnomalyNote{Source: source, Channel: p.Channel, OrderNo: p.OrderNo, RefundNo: p.RefundNo,
		Kind: "refund_abnormal", AmountFen: p.AmountFen,
		Detail:       fmt.Sprintf("退款 %s 的 %d 分未退到缴费人账户，渠道已退回商户账户", p.PayoutNo, p.AmountFen),
		SystemAction: action})
}
