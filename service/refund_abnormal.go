package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/lianban/lianban/models"
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
func (s *Service) ReturnAbnormalPayout(ctx context.Context, a StaffActor, refundNo, payoutNo string) (StaffRefund, error) {
	const action = "refund.return_abnormal"
	if err := s.require(ctx, a, models.PermRefundIntake, action, "refund", refundNo); err != nil {
		return StaffRefund{}, err
	}
	r, err := s.loadRefund(ctx, refundNo)
	if err != nil {
		return StaffRefund{}, err
	}
	var p store.RefundPayoutRow
	if err := s.db(ctx).Where("payout_no = ? AND refund_no = ?", payoutNo, refundNo).Take(&p).Error; err != nil {
		if isNotFound(err) {
			return StaffRefund{}, models.ErrNotFound
		}
		return StaffRefund{}, internal("refund payout", err)
	}
	fail := func(err error, detail string) (StaffRefund, error) {
		if aerr := s.auditNow(ctx, a, auditEntry{Action: action, TargetKind: "refund", TargetID: refundNo, Outcome: AuditFailed,
			Detail: payoutNo + " " + detail}); aerr != nil {
			return StaffRefund{}, aerr
		}
		return StaffRefund{}, err
	}
	if r.Status != string(models.RefundRefunding) || p.Kind != PayoutChannel || (p.Status != PayoutAbnormal && p.Status != PayoutReturning) {
		return fail(models.ErrRefundState.WithReason("只有渠道退款异常（款项由渠道暂存）的退款可以退回商户账户"), "状态 "+p.Status)
	}
	ch, ok := s.Payments[p.Channel].(models.AbnormalRefunder)
	if !ok {
		return fail(models.ErrChannelUnsupported.WithReason("该渠道不支持异常退款处理，请在渠道商户平台处理"), "渠道 "+p.Channel)
	}
	if p.Status == PayoutAbnormal {
		moved := false
		err := s.tx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, PayoutAbnormal).
				Updates(map[string]any{"status": PayoutReturning, "updated_at": s.now()})
			if res.Error != nil {
				return res.Error
			}
			moved = res.RowsAffected == 1
			return nil
		})
		if err != nil {
			return StaffRefund{}, internal("return abnormal payout", err)
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
	now := s.now()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, PayoutReturning).
			Updates(map[string]any{"status": PayoutReturned, "failed_at": now, "last_error": "异常退款已退回商户账户", "updated_at": now})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		if err := s.addEvent(tx, refundNo, staffEvent(a, models.RefundRefunding, models.DeptTax, nil,
			models.Fen(p.AmountFen).Yuan()+" 元异常退款已由支付渠道退回，税务将改为银行账户退还")); err != nil {
			return err
		}
		if err := tx.Model(&store.AnomalyRow{}).Where("refund_no = ? AND kind = ? AND resolved_at IS NULL", refundNo, "refund_abnormal").
			Updates(map[string]any{"resolved_at": now, "resolved_by": a.StaffID,
				"resolution": "已将异常退款 " + p.PayoutNo + " 退回商户账户，改为银行转账"}).Error; err != nil {
			return err
		}
		return s.auditTx(tx, a, auditEntry{Action: action, TargetKind: "refund", TargetID: refundNo, Outcome: AuditOK,
			Detail: fmt.Sprintf("%s 退回商户账户 %d 分", p.PayoutNo, p.AmountFen)})
	})
	if err != nil {
		return StaffRefund{}, internal("return abnormal payout", err)
	}
	return s.reloadStaffView(ctx, refundNo)
}
