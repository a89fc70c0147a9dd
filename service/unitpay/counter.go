package unitpay

import (
	"context"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// UnitVoucherPDF renders the 银行端缴税凭证 of a unit's voucher order.
func (s *UnitPay) UnitVoucherPDF(ctx context.Context, userID, unitID, orderNo string) ([]byte, string, error) {
	if _, err := s.units.ActsFor(ctx, userID, unitID); err != nil {
		return nil, "", err
	}
	var v store.BankVoucherRow
	err := s.Conn(ctx).Where("order_no = ? AND unit_id = ?", orderNo, unitID).Take(&v).Error
	if kernel.IsNotFound(err) {
		return nil, "", models.ErrNotFound
	}
	if err != nil {
		return nil, "", kernel.Internal("load voucher", err)
	}
	if s.Certificates.Renderer == nil {
		return nil, "", models.ErrUnavailable.WithReason("凭证服务暂不可用")
	}
	u, err := s.units.Unit(ctx, unitID)
	if err != nil {
		return nil, "", err
	}
	var d store.UnitDeclarationRow
	if err := s.Conn(ctx).Where("id = ?", v.UnitDeclarationID).Take(&d).Error; err != nil {
		return nil, "", kernel.Internal("load unit declaration", err)
	}
	type sum struct {
		Scheme        string
		N             int
		UnitFen       int64
		IndividualFen int64
		AmountFen     int64
	}
	var sums []sum
	if err := s.Conn(ctx).Model(&store.UnitDeclarationLineRow{}).
		Select("scheme, COUNT(*) AS n, SUM(unit_fen) AS unit_fen, SUM(individual_fen) AS individual_fen, SUM(amount_fen) AS amount_fen").
		Where("declaration_id = ?", d.ID).Group("scheme").Order("scheme").Scan(&sums).Error; err != nil {
		return nil, "", kernel.Internal("sum declaration lines", err)
	}
	bv := models.BankVoucher{VoucherNo: v.VoucherNo, UnitName: u.Name, UnitUSCC: u.USCC, Authority: models.AuthorityTax,
		PeriodFrom: d.Period, PeriodTo: d.Period, TotalFen: models.Fen(v.AmountFen), IssuedAt: v.CreatedAt, ExpiresAt: v.ExpiresAt}
	for _, x := range sums {
		bv.Lines = append(bv.Lines, models.BankVoucherLine{Scheme: x.Scheme, SchemeName: models.Scheme(x.Scheme).Name(), Period: d.Period,
			Headcount: x.N, UnitFen: models.Fen(x.UnitFen), PersonalFen: models.Fen(x.IndividualFen), AmountFen: models.Fen(x.AmountFen)})
	}
	pdf, err := s.Certificates.Renderer.RenderVoucher(bv)
	if err != nil {
		return nil, "", kernel.Internal("render voucher", err)
	}
	return pdf, v.VoucherNo, nil
}

// POSConfirmInput is the hall's POS slip for a unit order.
type POSConfirmInput struct {
	POSTxnID string     `json:"pos_txn_id"`
	PaidFen  models.Fen `json:"paid_fen"`
}

// ConfirmUnitPOS settles a unit's POS order on the hall's confirmation
// (tax window). The amount must equal the order's; it settles once (a
// repeat with the same slip answers the paid order), and every attempt is
// audited.
func (s *UnitPay) ConfirmUnitPOS(ctx context.Context, h *hall.Hall, a kernel.StaffActor, orderNo string, in POSConfirmInput) (Payment, error) {
	if err := h.Require(ctx, a, models.PermUnitPOSConfirm, "unit_payment.pos_confirm", "order", orderNo); err != nil {
		return Payment{}, err
	}
	in.POSTxnID = strings.TrimSpace(in.POSTxnID)
	if !validCode(in.POSTxnID, 4, 64) {
		return Payment{}, models.ErrInvalid.WithReason("请填写POS交易参考号 pos_txn_id")
	}
	var o store.OrderRow
	err := s.Conn(ctx).Where("order_no = ? AND unit_id <> '' AND method = ?", orderNo, MethodPOS).Take(&o).Error
	if kernel.IsNotFound(err) {
		return Payment{}, models.ErrNotFound
	}
	if err != nil {
		return Payment{}, kernel.Internal("load order", err)
	}
	audit := func(outcome, detail string) error {
		return s.AuditNow(ctx, a, kernel.AuditNote{Action: "unit_payment.pos_confirm", TargetKind: "order", TargetID: orderNo, Outcome: outcome, Detail: detail})
	}
	switch {
	case in.PaidFen != models.Fen(o.AmountFen):
		if err := audit(kernel.AuditFailed, "POS实收 "+in.PaidFen.Yuan()+" 元与订单金额不符"); err != nil {
			return Payment{}, err
		}
		return Payment{}, models.ErrPaidAmountMismatch
	case o.Status == contrib.OrderPaid && o.TransactionID == "POS-"+in.POSTxnID:
		return s.payment(ctx, o.UnitID, o.OrderNo)
	// Closed (the wait expired) is confirmed too: the slip is money the
	// hall has taken, and settling books it if the declaration is still
	// the unit's to pay, or makes it an anomaly to refund otherwise. It
	// used to be refused and recorded nowhere.
	case o.Status != contrib.OrderPaying && o.Status != contrib.OrderCreated && o.Status != contrib.OrderClosed:
		if err := audit(kernel.AuditFailed, "订单状态 "+o.Status+" 不能确认收款"); err != nil {
			return Payment{}, err
		}
		return Payment{}, models.ErrOrderNotPayable
	}
	outcome, err := s.settle(ctx, paidEvent{OrderNo: o.OrderNo, Amount: in.PaidFen, TransactionID: "POS-" + in.POSTxnID, Source: "pos",
		Before: func(tx *gorm.DB) error {
			return s.AuditTx(tx, a, kernel.AuditNote{Action: "unit_payment.pos_confirm", TargetKind: "order", TargetID: orderNo,
				Outcome: kernel.AuditOK, Detail: "POS " + in.POSTxnID + " 实收 " + in.PaidFen.Yuan() + " 元"})
		}})
	if err != nil {
		return Payment{}, err
	}
	if outcome != OutcomeSettled {
		// Another confirmation got there first with another slip.
		return Payment{}, models.ErrOrderNotPayable.WithReason("该订单已确认收款")
	}
	return s.payment(ctx, o.UnitID, o.OrderNo)
}

// SettleAtCounter settles a unit order a partner counter confirmed (a
// 银行端凭证 paid at a bank, a POS order at the hall): the same settlement
// as every unit payment, exactly once, with before run in its transaction
// by the request that moved the order to paid. The caller has checked the
// amount; a mismatch here still settles nothing. It reports the outcome
// (OutcomeSettled only for the request that settled).
func (s *UnitPay) SettleAtCounter(ctx context.Context, orderNo string, amount models.Fen, at time.Time, transactionID string, before func(tx *gorm.DB) error) (string, error) {
	return s.settle(ctx, paidEvent{OrderNo: orderNo, Amount: amount, At: at, TransactionID: transactionID, Source: "partner", Before: before})
}
