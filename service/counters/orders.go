package counters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// errLostRace: another request under the same transaction id committed
// first; the caller answers with what it did.
var errLostRace = errors.New("partner transaction recorded concurrently")

// CreateOrderInput opens a counter order: a person's months (payable_id,
// option_code, period_from, period_to) or a unit's 银行端凭证 (voucher_no),
// under the partner's transaction id, at a terminal, through a counter
// channel the partner may use.
type CreateOrderInput struct {
	PayableID    string `json:"payable_id"`
	OptionCode   string `json:"option_code"`
	PeriodFrom   string `json:"period_from"`
	PeriodTo     string `json:"period_to"`
	VoucherNo    string `json:"voucher_no"`
	PartnerTxnID string `json:"partner_txn_id"`
	TerminalID   string `json:"terminal_id"`
	Channel      string `json:"channel"`
}

// Order is a counter order as the partner sees it: masked payer, amount,
// periods, and where it stands.
type Order struct {
	OrderNo         string        `json:"order_no"`
	Kind            string        `json:"kind"` // person or unit
	Channel         string        `json:"channel"`
	TerminalID      string        `json:"terminal_id,omitempty"`
	PartnerTxnID    string        `json:"partner_txn_id,omitempty"`
	ConfirmTxnID    string        `json:"confirm_txn_id,omitempty"`
	PayerNameMasked string        `json:"payer_name_masked"`
	Scheme          models.Scheme `json:"scheme,omitempty"`
	PeriodFrom      string        `json:"period_from"`
	PeriodTo        string        `json:"period_to"`
	AmountFen       models.Fen    `json:"amount_fen"`
	// Status: created (awaiting payment), paid, reversed, closed
	// (unconfirmed past its expiry), refunded or partially_refunded.
	Status     string     `json:"status"`
	VoucherNo  string     `json:"voucher_no,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	PaidAt     *time.Time `json:"paid_at,omitempty"`
	ReversedAt *time.Time `json:"reversed_at,omitempty"`
}

// PartnerCreateOrder opens a counter order; created is false when the same
// request was answered before (the partner retried) or, for a voucher,
// the partner's own attachment is answered again.
func (s *Counters) PartnerCreateOrder(ctx context.Context, a kernel.PartnerActor, in CreateOrderInput) (Order, bool, error) {
	in.PartnerTxnID, in.TerminalID, in.VoucherNo = strings.TrimSpace(in.PartnerTxnID), strings.TrimSpace(in.TerminalID), strings.TrimSpace(in.VoucherNo)
	switch {
	case !validTxn(in.PartnerTxnID):
		return Order{}, false, models.ErrInvalid.WithReason("partner_txn_id 须为 1–64 位字母、数字或 _.:-")
	case !validTxn(in.TerminalID):
		return Order{}, false, models.ErrInvalid.WithReason("terminal_id 须为 1–64 位字母、数字或 _.:-")
	case !ValidChannel(in.Channel):
		return Order{}, false, models.ErrInvalid.WithReason("channel 须为 bank_counter、yun_pos、yunongtong 或 hall_pos")
	case !a.MayUse(in.Channel):
		s.auditPartner(ctx, a, "partner.order", "order", "", kernel.AuditDenied, "渠道 "+in.Channel+" 未开通")
		return Order{}, false, models.ErrForbidden.WithReason("该合作方未开通此缴费渠道")
	case in.VoucherNo != "" && in.PayableID != "":
		return Order{}, false, models.ErrInvalid.WithReason("voucher_no 与 payable_id 只能提供其一")
	case in.VoucherNo == "" && in.PayableID == "":
		return Order{}, false, models.ErrInvalid.WithReason("请提供 payable_id 或 voucher_no")
	}
	hash := requestHash(in.PayableID, in.OptionCode, in.PeriodFrom, in.PeriodTo, in.VoucherNo, in.TerminalID, in.Channel)
	if o, ok, err := s.replay(ctx, a, opOrder, in.PartnerTxnID, "", hash); ok || err != nil {
		return o, false, err
	}
	if in.VoucherNo != "" {
		return s.attachVoucher(ctx, a, in, hash)
	}
	by := kernel.Truncate("partner:"+a.PartnerID, 40)
	d, _, err := s.contrib.DeclareAtCounter(ctx, "", contrib.DeclareInput{PayableID: in.PayableID, OptionCode: in.OptionCode,
		PeriodFrom: in.PeriodFrom, PeriodTo: in.PeriodTo}, by)
	if errors.Is(err, models.ErrAlreadyDeclared) {
		// The same request may be running at once (a partner that timed
		// out and retried at once): its declaration holds the months and
		// its order commits a moment later. Answer with it, as a retry
		// after it would be.
		if o, ok, rerr := s.awaitReplay(ctx, a, in.PartnerTxnID, hash); ok || rerr != nil {
			return o, false, rerr
		}
	}
	if err != nil {
		s.auditPartner(ctx, a, "partner.order", "payable", in.PayableID, kernel.AuditFailed, errCode(err))
		return Order{}, false, err
	}
	row := store.OrderRow{Channel: in.Channel, PartnerID: a.PartnerID, PartnerName: kernel.Truncate(a.Name, 64), CounterChannel: in.Channel,
		TerminalID: in.TerminalID, PartnerOrderTxn: in.PartnerTxnID}
	row.OrderNo = kernel.NewNumber("LB", s.Now(), 10)
	o, err := s.contrib.OpenCounterOrder(ctx, d.DeclarationID, row, func(tx *gorm.DB) error {
		return s.claimTxn(tx, a, opOrder, in.PartnerTxnID, row.OrderNo, hash)
	})
	if err != nil {
		// Nothing of ours holds the months now: give them back at once.
		if rerr := s.contrib.ReleaseDeclaration(ctx, d.DeclarationID); rerr != nil {
			s.Log.ErrorContext(ctx, "counter declaration not released; it expires by itself", "declaration_id", d.DeclarationID, "err", rerr)
		}
		if errors.Is(err, errLostRace) {
			o, _, err := s.replay(ctx, a, opOrder, in.PartnerTxnID, "", hash)
			return o, false, err
		}
		return Order{}, false, kernel.Internal("open counter order", err)
	}
	s.auditPartner(ctx, a, "partner.order", "order", o.OrderNo, kernel.AuditOK, fmt.Sprintf("%s %s 终端 %s 流水 %s 金额 %s 元", in.Channel, d.Scheme, in.TerminalID, in.PartnerTxnID, models.Fen(o.AmountFen).Yuan()))
	s.Log.InfoContext(ctx, "counter order opened", "order_no", o.OrderNo, "partner_id", a.PartnerID, "channel", in.Channel, "amount_fen", o.AmountFen)
	v, err := s.view(ctx, o)
	return v, true, err
}

// attachVoucher puts a unit's 银行端凭证 order in a partner's hands: the
// order is the voucher's own (its amount and number do not change), now
// carrying the partner, channel, terminal and transaction id. A voucher
// another partner has taken is not taken from it.
func (s *Counters) attachVoucher(ctx context.Context, a kernel.PartnerActor, in CreateOrderInput, hash string) (Order, bool, error) {
	// A look-up like the query's, so it spends the same budget (a retry
	// was answered by replay before this and spends nothing).
	if err := s.voucherBudget(ctx, a); err != nil {
		s.auditPartner(ctx, a, "partner.order", "voucher", auditRef(in.VoucherNo), kernel.AuditDenied, errCode(err))
		return Order{}, false, err
	}
	var v store.BankVoucherRow
	err := s.Conn(ctx).Where("voucher_no = ?", in.VoucherNo).Take(&v).Error
	if kernel.IsNotFound(err) {
		s.auditPartner(ctx, a, "partner.order", "voucher", auditRef(in.VoucherNo), kernel.AuditFailed, errCode(models.ErrNotFound))
		return Order{}, false, models.ErrNotFound
	}
	if err != nil {
		return Order{}, false, kernel.Internal("load voucher", err)
	}
	if s.Now().After(v.ExpiresAt) {
		return Order{}, false, models.ErrOrderNotPayable.WithReason("该凭证已过期")
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.claimTxn(tx, a, opOrder, in.PartnerTxnID, v.OrderNo, hash); err != nil {
			return err
		}
		res := tx.Model(&store.OrderRow{}).
			Where("order_no = ? AND method = ? AND status IN ? AND (partner_id = '' OR partner_id = ?)", v.OrderNo, unitpay.MethodBankVoucher,
				[]string{contrib.OrderCreated, contrib.OrderPaying}, a.PartnerID).
			Updates(map[string]any{"partner_id": a.PartnerID, "partner_name": kernel.Truncate(a.Name, 64), "counter_channel": in.Channel,
				"terminal_id": in.TerminalID, "partner_order_txn": in.PartnerTxnID, "updated_at": s.Now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrOrderNotPayable.WithReason("该凭证已缴款、已失效或已由其他网点受理")
		}
		return nil
	})
	if errors.Is(err, errLostRace) {
		o, _, err := s.replay(ctx, a, opOrder, in.PartnerTxnID, "", hash)
		return o, false, err
	}
	if err != nil {
		s.auditPartner(ctx, a, "partner.order", "voucher", v.VoucherNo, kernel.AuditFailed, errCode(err))
		return Order{}, false, kernel.Internal("attach voucher", err)
	}
	s.auditPartner(ctx, a, "partner.order", "order", v.OrderNo, kernel.AuditOK, "凭证 "+v.VoucherNo+" 终端 "+in.TerminalID+" 流水 "+in.PartnerTxnID)
	o, err := s.order(ctx, v.OrderNo)
	if err != nil {
		return Order{}, false, err
	}
	ov, err := s.view(ctx, o)
	return ov, true, err
}

// awaitReplay waits briefly for a concurrent request under the same
// order transaction id to commit, and answers with it (ok false when none
// does: the months are held by something else).
func (s *Counters) awaitReplay(ctx context.Context, a kernel.PartnerActor, txn, hash string) (Order, bool, error) {
	for i := 0; i < 20; i++ {
		if o, ok, err := s.replay(ctx, a, opOrder, txn, "", hash); ok || err != nil {
			return o, ok, err
		}
		select {
		case <-ctx.Done():
			return Order{}, false, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	return Order{}, false, nil
}

// claimTxn records a partner transaction id inside tx, or reports
// errLostRace when one is already recorded (by a concurrent retry: the
// caller rolls back and answers with what that one did).
func (s *Counters) claimTxn(tx *gorm.DB, a kernel.PartnerActor, op, txn, orderNo, hash string) error {
	ok, err := kernel.InsertIfAbsent(tx, &store.CounterTxnRow{PartnerID: a.PartnerID, Op: op, PartnerTxnID: txn, OrderNo: orderNo,
		RequestSHA256: hash, CreatedAt: s.Now()})
	if err != nil {
		return err
	}
	if !ok {
		return errLostRace
	}
	return nil
}

// replay answers a transaction id seen before: the order as it stands
// now when the request is the same (orderNo, when given, must match too),
// PARTNER_TXN_REUSED when it is another. ok is false for a new id.
func (s *Counters) replay(ctx context.Context, a kernel.PartnerActor, op, txn, orderNo, hash string) (Order, bool, error) {
	var t store.CounterTxnRow
	err := s.Conn(ctx).Where("partner_id = ? AND op = ? AND partner_txn_id = ?", a.PartnerID, op, txn).Take(&t).Error
	if kernel.IsNotFound(err) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, kernel.Internal("load partner txn", err)
	}
	if t.RequestSHA256 != hash || (orderNo != "" && t.OrderNo != orderNo) {
		return Order{}, true, models.ErrPartnerTxnReused
	}
	o, err := s.order(ctx, t.OrderNo)
	if err != nil {
		return Order{}, true, err
	}
	v, err := s.view(ctx, o)
	return v, true, err
}

func (s *Counters) order(ctx context.Context, orderNo string) (store.OrderRow, error) {
	var o store.OrderRow
	err := s.Conn(ctx).Where("order_no = ?", orderNo).Take(&o).Error
	if kernel.IsNotFound(err) {
		return o, models.ErrNotFound
	}
	return o, kernel.Internal("load order", err)
}

// confirmable reports whether a partner may confirm o: its own counter
// order, or, for a partner of the hall's POS, an order the hall opened
// (a person's hall_pos order no partner has confirmed yet, or a unit's
// POS order).
func confirmable(a kernel.PartnerActor, o store.OrderRow) bool {
	if o.PartnerID != "" {
		return o.PartnerID == a.PartnerID && o.CounterChannel != ""
	}
	if !a.MayUse(ChannelHallPOS) {
		return false
	}
	return (o.UnitID == "" && o.CounterChannel == ChannelHallPOS) || (o.UnitID != "" && o.Method == unitpay.MethodPOS)
}

// ConfirmInput is the counter's word that it took the money.
type ConfirmInput struct {
	PartnerTxnID string     `json:"partner_txn_id"`
	PaidFen      models.Fen `json:"paid_fen"`
	PaidAt       time.Time  `json:"paid_at"`
}

// PartnerConfirmOrder settles a counter order on its partner's confirmation,
// exactly once, through the ordinary settlement (paid, then credited and
// booked by the worker, records at once). Another amount than the order's
// settles nothing and is kept as an anomaly. The same confirmation again
// (a partner that timed out) gets the same answer; another partner's
// order is not found.
func (s *Counters) PartnerConfirmOrder(ctx context.Context, a kernel.PartnerActor, orderNo string, in ConfirmInput) (Order, error) {
	in.PartnerTxnID = strings.TrimSpace(in.PartnerTxnID)
	switch {
	case !validTxn(in.PartnerTxnID):
		return Order{}, models.ErrInvalid.WithReason("partner_txn_id 须为 1–64 位字母、数字或 _.:-")
	case in.PaidFen <= 0:
		return Order{}, models.ErrInvalid.WithReason("paid_fen 须为正整数（分）")
	case in.PaidAt.IsZero():
		return Order{}, models.ErrInvalid.WithReason("请提供收款时间 paid_at")
	case in.PaidAt.After(s.Now().Add(10 * time.Minute)):
		return Order{}, models.ErrInvalid.WithReason("paid_at 晚于当前时间")
	}
	o, err := s.order(ctx, orderNo)
	if err != nil {
		return Order{}, err
	}
	if !confirmable(a, o) {
		return Order{}, models.ErrNotFound
	}
	hash := requestHash(orderNo, fmt.Sprint(int64(in.PaidFen)), in.PaidAt.UTC().Format(time.RFC3339Nano))
	if v, ok, err := s.replay(ctx, a, opConfirm, in.PartnerTxnID, orderNo, hash); ok || err != nil {
		return v, err
	}
	if o.PartnerConfirmTxn != "" {
		return Order{}, models.ErrOrderNotPayable.WithReason("该订单已确认收款")
	}
	// paid_at is the partner's word and decides the business day the
	// payment belongs to (reconciliation, reversal): money cannot have
	// been taken for an order before it existed (beyond the clock skew).
	if in.PaidAt.Before(o.CreatedAt.Add(-10 * time.Minute)) {
		return Order{}, models.ErrInvalid.WithReason("paid_at 早于订单创建时间")
	}
	channel := o.CounterChannel
	if channel == "" {
		channel = ChannelHallPOS // a unit's POS order, confirmed by the hall's POS
	}
	if in.PaidFen != models.Fen(o.AmountFen) {
		note := kernel.AnomalyNote{Source: "partner", Channel: channel, OrderNo: o.OrderNo, Kind: "amount_mismatch", AmountFen: int64(in.PaidFen),
			Detail:       fmt.Sprintf("合作方 %s 确认实收 %d 分，与订单金额 %d 分不符（流水 %s），未入账", a.PartnerID, in.PaidFen, o.AmountFen, in.PartnerTxnID),
			SystemAction: "未入账；请与合作方核实实收金额"}
		err := s.Tx(ctx, func(tx *gorm.DB) error {
			if err := s.OpenAnomaly(tx, note); err != nil {
				return err
			}
			return s.AuditTx(tx, partnerStaff(a), kernel.AuditNote{Action: "partner.confirm", TargetKind: "order", TargetID: o.OrderNo,
				Outcome: kernel.AuditFailed, Detail: "实收 " + in.PaidFen.Yuan() + " 元与订单金额不符"})
		})
		if err != nil {
			return Order{}, kernel.Internal("record amount mismatch", err)
		}
		return Order{}, models.ErrPaidAmountMismatch
	}
	switch o.Status {
	case contrib.OrderCreated, contrib.OrderPaying, contrib.OrderClosed:
	default:
		return Order{}, models.ErrOrderNotPayable.WithReason("该订单已确认收款或已冲正")
	}
	before := func(tx *gorm.DB) error {
		if err := s.claimTxn(tx, a, opConfirm, in.PartnerTxnID, o.OrderNo, hash); err != nil {
			return err
		}
		set := map[string]any{"partner_confirm_txn": in.PartnerTxnID, "partner_id": a.PartnerID, "counter_channel": channel}
		if o.PartnerName == "" {
			set["partner_name"] = kernel.Truncate(a.Name, 64)
		}
		if err := tx.Model(&store.OrderRow{}).Where("order_no = ?", o.OrderNo).Updates(set).Error; err != nil {
			return err
		}
		return s.AuditTx(tx, partnerStaff(a), kernel.AuditNote{Action: "partner.confirm", TargetKind: "order", TargetID: o.OrderNo,
			Outcome: kernel.AuditOK, Detail: "流水 " + in.PartnerTxnID + " 实收 " + in.PaidFen.Yuan() + " 元"})
	}
	if o.UnitID != "" {
		_, err = s.unitpay.SettleAtCounter(ctx, o.OrderNo, in.PaidFen, in.PaidAt, in.PartnerTxnID, before)
	} else {
		_, err = s.contrib.SettleWith(ctx, models.Notification{Channel: o.Channel, Kind: models.NotifyPayment, OrderNo: o.OrderNo,
			TransactionID: in.PartnerTxnID, Amount: in.PaidFen, Paid: true, At: in.PaidAt}, "partner", before)
	}
	if errors.Is(err, errLostRace) {
		// The same id on another request settled meanwhile.
		v, _, err := s.replay(ctx, a, opConfirm, in.PartnerTxnID, orderNo, hash)
		return v, err
	}
	if err != nil {
		return Order{}, err
	}
	// Answer from the transaction id as recorded, hash included: a
	// concurrent request under the same id with another body (another
	// paid_at) loses the settlement and must get PARTNER_TXN_REUSED, not
	// the winner's success.
	if v, ok, err := s.replay(ctx, a, opConfirm, in.PartnerTxnID, orderNo, hash); ok || err != nil {
		return v, err
	}
	// Another confirmation (another transaction id) settled it first.
	return Order{}, models.ErrOrderNotPayable.WithReason("该订单已确认收款")
}

// ReverseInput is a counter's 冲正 of a payment it confirmed.
type ReverseInput struct {
	PartnerTxnID string `json:"partner_txn_id"`
}

// PartnerReverseOrder reverses (冲正) a person's counter payment the same Beijing
// business day it was taken and before the treasury credited it (入库):
// the order ends reversed, its records are removed and the months are
// payable again. It races the credit worker safely (see
// contrib.ReverseOrderTx); a reversal too late is REVERSAL_NOT_ALLOWED.
// It is idempotent: a reversed order is answered as it is.
func (s *Counters) PartnerReverseOrder(ctx context.Context, a kernel.PartnerActor, orderNo string, in ReverseInput) (Order, error) {
	in.PartnerTxnID = strings.TrimSpace(in.PartnerTxnID)
	if !validTxn(in.PartnerTxnID) {
		return Order{}, models.ErrInvalid.WithReason("partner_txn_id 须为 1–64 位字母、数字或 _.:-")
	}
	o, err := s.order(ctx, orderNo)
	if err != nil {
		return Order{}, err
	}
	if o.PartnerID != a.PartnerID || o.CounterChannel == "" {
		return Order{}, models.ErrNotFound
	}
	hash := requestHash(orderNo)
	if v, ok, err := s.replay(ctx, a, opReverse, in.PartnerTxnID, orderNo, hash); ok || err != nil {
		return v, err
	}
	if o.Status == contrib.OrderReversed {
		return s.view(ctx, o)
	}
	refuse := func(why string) (Order, error) {
		s.auditPartner(ctx, a, "partner.reverse", "order", o.OrderNo, kernel.AuditFailed, why)
		return Order{}, models.ErrReversalNotAllowed.WithReason(why)
	}
	switch {
	case o.UnitID != "":
		return refuse("单位缴款不能冲正，请由单位申请退费")
	case o.Status != contrib.OrderPaid || o.PaidAt == nil:
		return refuse("该订单未处于已缴费状态，不能冲正")
	case o.PaidAt.In(models.Beijing).Format("20060102") != s.Now().In(models.Beijing).Format("20060102"):
		return refuse("只能冲正当日的缴费")
	}
	// paid_at is the partner's word (up to the allowed clock skew ahead
	// of ours): the business day is also the day we received the
	// confirmation, by our clock, which its transaction row keeps.
	var ct store.CounterTxnRow
	if err := s.Conn(ctx).Where("partner_id = ? AND op = ? AND order_no = ?", a.PartnerID, opConfirm, o.OrderNo).Take(&ct).Error; err != nil {
		if kernel.IsNotFound(err) {
			return refuse("该订单未经本合作方确认收款，不能冲正")
		}
		return Order{}, kernel.Internal("load confirmation", err)
	}
	if ct.CreatedAt.In(models.Beijing).Format("20060102") != s.Now().In(models.Beijing).Format("20060102") {
		return refuse("只能冲正当日的缴费")
	}
	// Our records say paid until the worker's next question to the
	// treasury; the treasury is asked now, and an order it credited is
	// credited here first, which ReverseOrderTx then refuses.
	if err := s.contrib.AskCreditNow(ctx, o.OrderNo); err != nil {
		return Order{}, err
	}
	now := s.Now()
	moved := false
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.claimTxn(tx, a, opReverse, in.PartnerTxnID, o.OrderNo, hash); err != nil {
			return err
		}
		var err error
		if moved, err = s.contrib.ReverseOrderTx(tx, o, nil, now); err != nil || !moved {
			return err
		}
		return s.AuditTx(tx, partnerStaff(a), kernel.AuditNote{Action: "partner.reverse", TargetKind: "order", TargetID: o.OrderNo,
			Outcome: kernel.AuditOK, Detail: "冲正流水 " + in.PartnerTxnID + " 金额 " + models.Fen(o.AmountFen).Yuan() + " 元"})
	})
	switch {
	case errors.Is(err, errLostRace):
		v, _, err := s.replay(ctx, a, opReverse, in.PartnerTxnID, orderNo, hash)
		return v, err
	case errors.Is(err, models.ErrReversalNotAllowed):
		why := "该笔缴费已入库，不能冲正，请办理退费"
		if e, ok := models.AsError(err); ok && e.Reason != "" {
			why = e.Reason
		}
		return refuse(why)
	case err != nil:
		return Order{}, kernel.Internal("reverse", err)
	}
	s.contrib.UncacheOrder(ctx, o.OrderNo)
	if o, err = s.order(ctx, orderNo); err != nil {
		return Order{}, err
	}
	if !moved && o.Status != contrib.OrderReversed {
		return refuse("该订单当前状态不能冲正")
	}
	if moved {
		s.Log.InfoContext(ctx, "counter payment reversed", "order_no", o.OrderNo, "partner_id", a.PartnerID, "amount_fen", o.AmountFen)
	}
	return s.view(ctx, o)
}

// view is the partner's view of an order.
func (s *Counters) view(ctx context.Context, o store.OrderRow) (Order, error) {
	v := Order{OrderNo: o.OrderNo, Kind: "person", Channel: o.CounterChannel, TerminalID: o.TerminalID, PartnerTxnID: o.PartnerOrderTxn,
		ConfirmTxnID: o.PartnerConfirmTxn, Scheme: models.Scheme(o.Scheme), AmountFen: models.Fen(o.AmountFen), Status: o.Status,
		CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt, PaidAt: o.PaidAt, ReversedAt: o.ReversedAt}
	if o.UnitID != "" {
		v.Kind = "unit"
		if v.Channel == "" {
			v.Channel = ChannelHallPOS
		}
		var u store.UnitRow
		if err := s.Conn(ctx).Select("name").Where("id = ?", o.UnitID).Take(&u).Error; err != nil {
			return Order{}, kernel.Internal("load unit", err)
		}
		v.PayerNameMasked = models.MaskName(u.Name)
		var d store.UnitDeclarationRow
		if err := s.Conn(ctx).Select("period").Where("id = ?", o.UnitDeclarationID).Take(&d).Error; err != nil {
			return Order{}, kernel.Internal("load unit declaration", err)
		}
		v.PeriodFrom, v.PeriodTo = d.Period, d.Period
		var bv store.BankVoucherRow
		if err := s.Conn(ctx).Select("voucher_no", "expires_at").Where("order_no = ?", o.OrderNo).Take(&bv).Error; err == nil {
			v.VoucherNo, v.ExpiresAt = bv.VoucherNo, bv.ExpiresAt
		}
		return v, nil
	}
	p, err := s.Person(ctx, o.PersonID)
	if err != nil {
		return Order{}, err
	}
	v.PayerNameMasked = models.MaskName(p.Name)
	var d store.DeclarationRow
	if err := s.Conn(ctx).Select("period_from", "period_to").Where("id = ?", o.DeclarationID).Take(&d).Error; err != nil {
		return Order{}, kernel.Internal("load declaration", err)
	}
	v.PeriodFrom, v.PeriodTo = d.PeriodFrom, d.PeriodTo
	return v, nil
}
