package payouts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// payoutFirstQuery is how long after planning the worker first asks about
// a payout that got no definite answer.
const payoutFirstQuery = time.Minute

// ExecuteInput is the tax window paying an application back. BankAccount,
// when given, is an account the applicant handed in at the hall (银行账户资料)
// for money that cannot go back through its channel; it must be in the
// name of the person or a payer of the orders, as the bank verifies.
type ExecuteInput struct {
	BankAccount *models.BankAccount `json:"bank_account"`
}

// ExecuteRefund is the tax window paying an approved application back
// (退费). The first call moves it to refunding and plans the payouts: one
// channel refund per order through the channel it was paid with, or a bank
// transfer when the applicant asked for one or the channel can no longer
// refund. Every payout's number is fixed when it is planned, so a later
// call (after a timeout, or two staff at once) sends the same numbers
// again and the channel or bank pays each at most once; only a payout that
// failed for good is replaced by a new one. A result that is not known
// stays pending and the worker confirms it by query.
func (s *Payouts) ExecuteRefund(ctx context.Context, a kernel.StaffActor, refundNo string, in ExecuteInput) (refunds.StaffRefund, error) {
	if err := s.hall.Require(ctx, a, models.PermRefundIntake, "refund.execute", "refund", refundNo); err != nil {
		return refunds.StaffRefund{}, err
	}
	r, err := s.refunds.LoadRefund(ctx, refundNo)
	if err != nil {
		return refunds.StaffRefund{}, err
	}
	if r.Status != string(models.RefundApproved) && r.Status != string(models.RefundRefunding) {
		return refunds.StaffRefund{}, s.refunds.StateConflict(ctx, a, "refund.execute", r)
	}
	if in.BankAccount != nil && !in.BankAccount.Empty() {
		if err := s.setRefundBankAccount(ctx, a, r, *in.BankAccount); err != nil {
			return refunds.StaffRefund{}, err
		}
	}
	planned := 0
	for attempt := 0; ; attempt++ {
		if attempt >= 5 {
			return refunds.StaffRefund{}, models.ErrRequestInProgress
		}
		if r, err = s.refunds.LoadRefund(ctx, refundNo); err != nil {
			return refunds.StaffRefund{}, err
		}
		if r.Status != string(models.RefundApproved) && r.Status != string(models.RefundRefunding) {
			if r.Status == string(models.RefundRefunded) {
				break // someone else finished it meanwhile
			}
			return refunds.StaffRefund{}, s.refunds.StateConflict(ctx, a, "refund.execute", r)
		}
		payouts, err := s.payouts(ctx, refundNo)
		if err != nil {
			return refunds.StaffRefund{}, err
		}
		news, err := s.planPayouts(ctx, r, payouts, a)
		if err != nil {
			if aerr := s.AuditNow(ctx, a, kernel.AuditNote{Action: "refund.execute", TargetKind: "refund", TargetID: refundNo,
				Outcome: kernel.AuditFailed, Detail: err.Error()}); aerr != nil {
				return refunds.StaffRefund{}, aerr
			}
			return refunds.StaffRefund{}, err
		}
		if len(news) == 0 && r.Status == string(models.RefundRefunding) {
			break
		}
		won := false
		err = s.Tx(ctx, func(tx *gorm.DB) error {
			won = false
			seq := r.PayoutSeq + 1
			if r.Status == string(models.RefundApproved) {
				ok, err := s.refunds.MoveRefund(tx, r, models.RefundApproved, models.RefundRefunding, map[string]any{"payout_seq": seq})
				if err != nil || !ok {
					return err
				}
			} else {
				res := tx.Model(&store.RefundRow{}).Where("refund_no = ? AND status = ? AND payout_seq = ?", refundNo, string(models.RefundRefunding), r.PayoutSeq).
					Updates(map[string]any{"payout_seq": seq, "updated_at": s.Now()})
				if res.Error != nil || res.RowsAffected != 1 {
					return res.Error
				}
			}
			won = true
			for _, p := range news {
				if err := tx.Create(&p).Error; err != nil {
					return err
				}
			}
			note := describePayouts(news)
			status := models.RefundRefunding
			return s.refunds.AddEvent(tx, refundNo, refunds.StaffEvent(a, status, models.DeptTax, nil, note))
		})
		if err != nil {
			return refunds.StaffRefund{}, kernel.Internal("plan payouts", err)
		}
		if won {
			planned = len(news)
			break
		}
	}
	pending, err := s.payouts(ctx, refundNo)
	if err != nil {
		return refunds.StaffRefund{}, err
	}
	sent := 0
	for _, p := range pending {
		if p.Status != refunds.PayoutPending {
			continue
		}
		// Claimed like the worker's follow-up: a payout another instance
		// (or request) is sending now is left to it.
		ran, err := s.WithWork(ctx, kernel.WorkRefundPayout, p.PayoutNo, func() error {
			return s.sendIfStillPending(ctx, p.PayoutNo, "execute")
		})
		if err != nil {
			return refunds.StaffRefund{}, err
		}
		if ran {
			sent++
		}
	}
	if err := s.AuditNow(ctx, a, kernel.AuditNote{Action: "refund.execute", TargetKind: "refund", TargetID: refundNo, Outcome: kernel.AuditOK,
		Detail: fmt.Sprintf("新安排 %d 笔，发送 %d 笔", planned, sent)}); err != nil {
		return refunds.StaffRefund{}, err
	}
	return s.refunds.ReloadStaffView(ctx, refundNo)
}

// setRefundBankAccount records the account a staff member entered from the
// applicant's documents. Money may only go to an account of the person or
// a payer of the orders (refunds' CheckRefundAccount); the entry is audited (masked).
func (s *Payouts) setRefundBankAccount(ctx context.Context, a kernel.StaffActor, r store.RefundRow, in models.BankAccount) error {
	b, err := in.Normalize()
	if err != nil {
		return err
	}
	if r.UnitID != "" {
		if err := s.checkUnitAccount(ctx, r, b); err != nil {
			return err
		}
		return s.storeRefundBankAccount(ctx, a, r, b)
	}
	p, err := s.Person(ctx, r.PersonID)
	if err != nil {
		return err
	}
	orderNos, err := refunds.RefundOrderNos(s.Conn(ctx), r.RefundNo)
	if err != nil {
		return kernel.Internal("refund orders", err)
	}
	if len(orderNos) == 0 && contrib.IsAutoRefund(r.RefundNo) {
		// An automatic refund has no records, so no items name its order:
		// its payouts do. Without it only the person's own account passed,
		// and the money of a payer who paid for a relative could be paid
		// to the relative instead of back to them.
		payouts, err := s.payouts(ctx, r.RefundNo)
		if err != nil {
			return err
		}
		for _, po := range payouts {
			orderNos = append(orderNos, sortedKeys(parseAllocation(po.Allocation))...)
		}
	}
	if err := s.refunds.CheckRefundAccount(ctx, p, orderNos, b); err != nil {
		return err
	}
	return s.storeRefundBankAccount(ctx, a, r, b)
}

// checkUnitAccount: a unit's money goes only to an account in its name.
func (s *Payouts) checkUnitAccount(ctx context.Context, r store.RefundRow, b models.BankAccount) error {
	var u store.UnitRow
	if err := s.Conn(ctx).Where("id = ?", r.UnitID).Take(&u).Error; err != nil {
		return kernel.Internal("load unit", err)
	}
	return s.refunds.CheckUnitRefundAccount(ctx, u, b)
}

// storeRefundBankAccount records a checked account on an application that
// is approved or being paid, audited (masked).
func (s *Payouts) storeRefundBankAccount(ctx context.Context, a kernel.StaffActor, r store.RefundRow, b models.BankAccount) error {
	nameSealed, err := s.Seal(b.AccountName)
	if err != nil {
		return err
	}
	noSealed, err := s.Seal(b.AccountNo)
	if err != nil {
		return err
	}
	m := b.Masked()
	return kernel.Internal("set bank account", s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.RefundRow{}).Where("refund_no = ? AND status IN ?", r.RefundNo,
			[]string{string(models.RefundApproved), string(models.RefundRefunding)}).
			Updates(map[string]any{"bank_name": b.BankName, "account_name_sealed": nameSealed, "account_no_sealed": noSealed, "updated_at": s.Now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrRefundState
		}
		return s.AuditTx(tx, a, kernel.AuditNote{Action: "refund.bank_account", TargetKind: "refund", TargetID: r.RefundNo, Outcome: kernel.AuditOK,
			Detail: m.BankName + " " + m.AccountNameMasked + " " + m.AccountNoMasked})
	}))
}

func (s *Payouts) payouts(ctx context.Context, refundNo string) ([]store.RefundPayoutRow, error) {
	var rows []store.RefundPayoutRow
	if err := s.Conn(ctx).Where("refund_no = ?", refundNo).Order("created_at, payout_no").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("refund payouts", err)
	}
	return rows, nil
}

// planPayouts decides the payouts still needed: for each order, what its
// items ask back less what succeeded or is pending. An order goes back
// through its channel unless the application asked for a bank account, the
// channel can no longer refund it, or a channel refund of it already
// failed; the rest goes in one bank transfer.
func (s *Payouts) planPayouts(ctx context.Context, r store.RefundRow, existing []store.RefundPayoutRow, a kernel.StaffActor) ([]store.RefundPayoutRow, error) {
	var items []store.RefundItemRow
	if err := s.Conn(ctx).Where("refund_no = ?", r.RefundNo).Find(&items).Error; err != nil {
		return nil, kernel.Internal("refund items", err)
	}
	remaining := map[string]int64{}
	for _, it := range items {
		remaining[it.OrderNo] += it.AmountFen
	}
	if len(items) == 0 && contrib.IsAutoRefund(r.RefundNo) {
		// An automatic refund has no records: it pays back its whole
		// order, which its first payout names.
		for _, p := range existing {
			for o := range parseAllocation(p.Allocation) {
				remaining[o] = r.RefundFen
			}
		}
	}
	channelFailed := map[string]bool{}
	for _, p := range existing {
		switch p.Status {
		case refunds.PayoutSuccess, refunds.PayoutPending, refunds.PayoutAbnormal, refunds.PayoutReturning:
			// An abnormal refund's money is still the channel's to pay: a
			// bank transfer for it as well paid the person twice.
			for o, amt := range parseAllocation(p.Allocation) {
				remaining[o] -= amt
			}
		case refunds.PayoutFailed, refunds.PayoutReturned:
			if p.Kind == refunds.PayoutChannel {
				channelFailed[p.OrderNo] = true
			}
		}
	}
	seq := r.PayoutSeq + 1
	now := s.Now()
	next := now.Add(payoutFirstQuery)
	var out []store.RefundPayoutRow
	bankAlloc := map[string]int64{}
	var why []string
	for _, orderNo := range sortedKeys(remaining) {
		amt := remaining[orderNo]
		if amt <= 0 {
			continue
		}
		var o store.OrderRow
		if err := s.Conn(ctx).Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
			return nil, kernel.Internal("refund order", err)
		}
		switch {
		case r.Route == string(models.RouteBank):
			bankAlloc[orderNo] = amt
			continue
		case channelFailed[orderNo]:
			why = append(why, "订单 "+orderNo+" 原路退回未成功")
			bankAlloc[orderNo] = amt
			continue
		case !s.refunds.ChannelRefundable(o):
			why = append(why, "订单 "+orderNo+" 已超过渠道退款期限")
			bankAlloc[orderNo] = amt
			continue
		}
		out = append(out, store.RefundPayoutRow{PayoutNo: fmt.Sprintf("%s-%dC%d", r.RefundNo, seq, len(out)+1), RefundNo: r.RefundNo,
			Kind: refunds.PayoutChannel, Channel: o.Channel, OrderNo: o.OrderNo, OrderTotalFen: o.AmountFen, AmountFen: amt,
			Allocation: formatAllocation(map[string]int64{orderNo: amt}), Status: refunds.PayoutPending, NextQueryAt: &next,
			CreatedBy: a.StaffID, CreatedAt: now, UpdatedAt: now})
	}
	if len(bankAlloc) > 0 {
		if r.AccountNoSealed == "" {
			return nil, models.ErrBankAccountNeeded.WithReason(strings.Join(why, "；") + "，请录入申请人提供的银行账户后再办理")
		}
		if s.Bank == nil {
			return nil, models.ErrUnavailable.WithReason("未配置银行转账接口")
		}
		var total int64
		for _, v := range bankAlloc {
			total += v
		}
		out = append(out, store.RefundPayoutRow{PayoutNo: fmt.Sprintf("%s-%dB", r.RefundNo, seq), RefundNo: r.RefundNo, Kind: refunds.PayoutBank,
			AmountFen: total, Allocation: formatAllocation(bankAlloc), BankName: r.BankName, AccountNameSealed: r.AccountNameSealed,
			AccountNoSealed: r.AccountNoSealed, Status: refunds.PayoutPending, NextQueryAt: &next, CreatedBy: a.StaffID, CreatedAt: now, UpdatedAt: now})
	}
	return out, nil
}

func describePayouts(ps []store.RefundPayoutRow) string {
	var parts []string
	for _, p := range ps {
		if p.Kind == refunds.PayoutBank {
			parts = append(parts, "银行转账 "+models.Fen(p.AmountFen).Yuan()+" 元")
		} else {
			parts = append(parts, "原路退回 "+models.Fen(p.AmountFen).Yuan()+" 元")
		}
	}
	return "税务办理退费：" + strings.Join(parts, "，")
}

func formatAllocation(m map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+":"+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, ",")
}

func parseAllocation(s string) map[string]int64 {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			out[k] += n
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// payoutOutcome classifies a channel's or the bank's answer. Only a
// definite refusal is failed: a timeout, an unreadable answer, "processing"
// or an error that may hide money already moved is pending.
func payoutOutcome(state models.RefundState, err error) string {
	switch {
	case state == models.RefundSuccess && err == nil:
		return refunds.PayoutSuccess
	case state == models.RefundFailed:
		return refunds.PayoutFailed
	case state == models.RefundAbnormal && err == nil:
		return refunds.PayoutAbnormal
	case err != nil && state == "" && (errors.Is(err, models.ErrInvalid) || errors.Is(err, models.ErrNotFound)):
		// Refused before anything was done (bad request, no such order).
		return refunds.PayoutFailed
	}
	return refunds.PayoutPending
}

// sendPayout sends a payout (again) under its fixed number and applies the
// answer.
func (s *Payouts) sendPayout(ctx context.Context, p store.RefundPayoutRow, source string) error {
	var state models.RefundState
	var at time.Time
	var err error
	switch p.Kind {
	case refunds.PayoutChannel:
		ch, ok := s.Payments[p.Channel]
		if !ok {
			err = fmt.Errorf("channel %s is not configured: %w", p.Channel, models.ErrUnavailable)
			break
		}
		var res models.RefundResult
		res, err = ch.Refund(ctx, models.RefundRequest{OrderNo: p.OrderNo, OutRefundNo: p.PayoutNo, Refund: models.Fen(p.AmountFen),
			Total: models.Fen(p.OrderTotalFen), Reason: "社会保险费退费"})
		state, at = res.State, res.SucceededAt
		if err == nil && state == models.RefundSuccess && res.ToMerchant {
			// Sent again after the channel had released it to our merchant
			// account: the person got nothing by it.
			return s.channelReturnedPayout(ctx, p, source)
		}
		if state == models.RefundSuccess && res.Amount != 0 && res.Amount != models.Fen(p.AmountFen) {
			s.Anomaly(ctx, source, p.Channel, p.OrderNo, "refund_amount_mismatch",
				fmt.Sprintf("退款 %s 渠道金额 %d 分与应退 %d 分不符", p.PayoutNo, res.Amount, p.AmountFen))
			state = models.RefundPending
		}
	case refunds.PayoutBank:
		if s.Bank == nil {
			err = fmt.Errorf("no bank transfer interface: %w", models.ErrUnavailable)
			break
		}
		name, oerr := s.PII.Open(p.AccountNameSealed)
		no, oerr2 := s.PII.Open(p.AccountNoSealed)
		if oerr != nil || oerr2 != nil {
			return kernel.Internal("open payout account", errors.Join(oerr, oerr2))
		}
		var res models.BankTransferResult
		res, err = s.Bank.Transfer(ctx, models.BankTransferRequest{TransferNo: p.PayoutNo, Amount: models.Fen(p.AmountFen),
			BankName: p.BankName, AccountName: name, AccountNo: no, Memo: "社会保险费退费 " + p.RefundNo})
		state, at = res.State, res.At
	}
	return s.applyPayout(ctx, p, payoutOutcome(state, err), at, err, source)
}

// applyPayout records an answer about a payout.
func (s *Payouts) applyPayout(ctx context.Context, p store.RefundPayoutRow, outcome string, at time.Time, cause error, source string) error {
	now := s.Now()
	errText := ""
	if cause != nil {
		errText = kernel.Truncate(cause.Error(), 300)
	}
	switch outcome {
	case refunds.PayoutSuccess:
		return s.confirmPayout(ctx, p.PayoutNo, at, source)
	case refunds.PayoutFailed:
		return s.failPayout(ctx, p, errText)
	case refunds.PayoutAbnormal:
		return s.holdAbnormalPayout(ctx, p, source)
	}
	if cause != nil {
		s.Log.WarnContext(ctx, "refund payout result unknown; will confirm by query", "payout_no", p.PayoutNo, "source", source, "err", cause)
	}
	next := now.Add(contrib.QueryBackoff(p.Attempts + 1))
	return kernel.Internal("payout pending", s.Conn(ctx).Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, refunds.PayoutPending).
		Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_error": errText, "next_query_at": next, "updated_at": now}).Error)
}

// failPayout marks a payout failed for good and notes it on the timeline;
// the tax window then pays that part another way (execute again).
func (s *Payouts) failPayout(ctx context.Context, p store.RefundPayoutRow, errText string) error {
	now := s.Now()
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status IN ?", p.PayoutNo, []string{refunds.PayoutPending, refunds.PayoutAbnormal}).
			Updates(map[string]any{"status": refunds.PayoutFailed, "failed_at": now, "last_error": errText, "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		note := "原路退回未成功，税务将改为银行账户退还"
		if p.Kind == refunds.PayoutBank {
			note = "银行转账未成功，税务将核实账户后重新办理"
		}
		return s.refunds.AddEvent(tx, p.RefundNo, store.RefundEventRow{Status: string(models.RefundRefunding), ActorKind: refunds.ActorSystem,
			ActorID: "system", Department: models.DeptTax, Holder: models.DeptTax, Note: note})
	})
	if err == nil {
		s.Log.WarnContext(ctx, "refund payout failed", "payout_no", p.PayoutNo, "kind", p.Kind, "err", errText)
	}
	return kernel.Internal("fail payout", err)
}

// confirmPayout settles a successful payout once, however many answers,
// notifications and queries report it: the payout moves pending → success
// by a conditional update and only the call that moved it adds the money
// to its orders and application. When the application is paid in full it
// moves to refunded and its records to refunded (or, when only part of a
// record came back, to where they were).
func (s *Payouts) confirmPayout(ctx context.Context, payoutNo string, at time.Time, source string) error {
	var pushes []kernel.PendingPush
	var orders []string
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		pushes, orders = nil, nil
		var err error
		_, pushes, orders, err = s.confirmPayoutTx(tx, payoutNo, at, source)
		return err
	})
	if err != nil {
		return kernel.Internal("confirm payout", err)
	}
	for _, o := range orders {
		s.contrib.UncacheOrder(ctx, o)
	}
	s.Push(ctx, pushes)
	return nil
}

// confirmPayoutTx reports whether this call moved the payout to success.
func (s *Payouts) confirmPayoutTx(tx *gorm.DB, payoutNo string, at time.Time, source string) (bool, []kernel.PendingPush, []string, error) {
	now := s.Now()
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	// An abnormal payout released to the person by the channel (a manual
	// step at its merchant platform) succeeds like a pending one.
	res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status IN ?", payoutNo, []string{refunds.PayoutPending, refunds.PayoutAbnormal}).
		Updates(map[string]any{"status": refunds.PayoutSuccess, "succeeded_at": at, "last_error": "", "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, nil, nil, res.Error
	}
	var p store.RefundPayoutRow
	if err := tx.Where("payout_no = ?", payoutNo).Take(&p).Error; err != nil {
		return true, nil, nil, err
	}
	alloc := parseAllocation(p.Allocation)
	var orders []string
	for _, orderNo := range sortedKeys(alloc) {
		amt := alloc[orderNo]
		// status is assigned before refunded_fen: MySQL evaluates SET left
		// to right, so both read the old refunded_fen on every dialect.
		res := tx.Exec(`UPDATE orders SET status = CASE WHEN refunded_fen + ? >= amount_fen THEN ? ELSE ? END,
			refunded_fen = refunded_fen + ?, updated_at = ?
			WHERE order_no = ? AND status IN ? AND refunded_fen + ? <= amount_fen`,
			amt, contrib.OrderRefunded, contrib.OrderPartiallyRefunded, amt, now, orderNo, []string{contrib.OrderPaid, contrib.OrderPartiallyRefunded}, amt)
		if res.Error != nil {
			return true, nil, nil, res.Error
		}
		if res.RowsAffected != 1 {
			if err := s.AnomalyTx(tx, source, p.Channel, orderNo, "refund_exceeds_order",
				fmt.Sprintf("退款 %s 的 %d 分超过订单可退金额，订单未更新", p.PayoutNo, amt)); err != nil {
				return true, nil, nil, err
			}
			continue
		}
		orders = append(orders, orderNo)
	}
	res = tx.Exec("UPDATE refunds SET refunded_fen = refunded_fen + ?, updated_at = ? WHERE refund_no = ? AND refunded_fen + ? <= refund_fen",
		p.AmountFen, now, p.RefundNo, p.AmountFen)
	if res.Error != nil {
		return true, nil, nil, res.Error
	}
	if res.RowsAffected != 1 {
		if err := s.AnomalyTx(tx, source, p.Channel, p.OrderNo, "refund_overpaid",
			fmt.Sprintf("退款 %s 使退费申请 %s 的已退金额超过申请金额", p.PayoutNo, p.RefundNo)); err != nil {
			return true, nil, nil, err
		}
	}
	var r store.RefundRow
	if err := tx.Where("refund_no = ?", p.RefundNo).Take(&r).Error; err != nil {
		return true, nil, nil, err
	}
	how := "已原路退回缴费账户"
	if p.Kind == refunds.PayoutBank {
		name, _ := s.PII.Open(p.AccountNameSealed)
		no, _ := s.PII.Open(p.AccountNoSealed)
		m := models.BankAccount{BankName: p.BankName, AccountName: name, AccountNo: no}.Masked()
		how = "已转入" + m.BankName + "账户 " + m.AccountNoMasked
	}
	if r.RefundedFen < r.RefundFen || r.Status != string(models.RefundRefunding) {
		return true, nil, orders, s.refunds.AddEvent(tx, r.RefundNo, store.RefundEventRow{Status: string(models.RefundRefunding), ActorKind: refunds.ActorSystem,
			ActorID: "system", Department: models.DeptTax, Holder: models.DeptTax, Note: models.Fen(p.AmountFen).Yuan() + " 元" + how})
	}
	ok, err := s.refunds.MoveRefund(tx, r, models.RefundRefunding, models.RefundRefunded, nil)
	if err != nil || !ok {
		return true, nil, orders, err
	}
	if err := s.settleRefundedRecords(tx, r.RefundNo); err != nil {
		return true, nil, nil, err
	}
	if contrib.IsAutoRefund(r.RefundNo) {
		// The system's own refund of an order it could not book is done:
		// so is the anomaly that reported it.
		if err := tx.Model(&store.AnomalyRow{}).Where("refund_no = ? AND kind = ? AND resolved_at IS NULL", r.RefundNo, "paid_twice").
			Updates(map[string]any{"resolved_at": now, "resolved_by": "system", "resolution": "自动退款已到账"}).Error; err != nil {
			return true, nil, nil, err
		}
	}
	if err := s.refunds.AddEvent(tx, r.RefundNo, store.RefundEventRow{Status: string(models.RefundRefunded), ActorKind: refunds.ActorSystem,
		ActorID: "system", Department: models.DeptTax, Note: models.Fen(r.RefundFen).Yuan() + " 元" + how}); err != nil {
		return true, nil, nil, err
	}
	pp, err := s.refunds.RefundMessage(tx, r, models.RefundRefunded, nil, how)
	if err != nil {
		return true, nil, nil, err
	}
	s.Log.Info("refund refunded", "refund_no", r.RefundNo, "refund_fen", r.RefundFen)
	return true, []kernel.PendingPush{pp}, orders, nil
}

// settleRefundedRecords moves a refunded application's records to
// refunded when all of a record's money has come back (over every
// refunded application), else back to booked or credited.
func (s *Payouts) settleRefundedRecords(tx *gorm.DB, refundNo string) error {
	var items []store.RefundItemRow
	if err := tx.Where("refund_no = ?", refundNo).Find(&items).Error; err != nil {
		return err
	}
	for _, it := range items {
		if it.RecordID == "" {
			continue // a unit's money that booked no record
		}
		var back int64
		if err := tx.Raw(`SELECT COALESCE(SUM(i.amount_fen), 0) FROM refund_items i JOIN refunds r ON r.refund_no = i.refund_no
			WHERE i.record_id = ? AND r.status = ?`, it.RecordID, string(models.RefundRefunded)).Scan(&back).Error; err != nil {
			return err
		}
		var rec store.RecordRow
		if err := tx.Where("id = ?", it.RecordID).Take(&rec).Error; err != nil {
			return err
		}
		if back >= rec.AmountFen {
			if err := tx.Model(&store.RecordRow{}).Where("id = ? AND status = ?", rec.ID, contrib.RecordRefunding).
				Update("status", contrib.RecordRefunded).Error; err != nil {
				return err
			}
			continue
		}
		if err := tx.Exec("UPDATE records SET status = CASE WHEN booked_at IS NOT NULL THEN ? ELSE ? END WHERE id = ? AND status = ?",
			contrib.RecordBooked, contrib.RecordCredited, rec.ID, contrib.RecordRefunding).Error; err != nil {
			return err
		}
	}
	return nil
}

// RefundWork follows payouts whose result is not known: it asks the
// channel or bank and settles the answer; a payout the other side never
// received, or that a channel has not finished, is sent again under the
// same number. A returning one is asked too: when both the window's answer
// and WeChat's notification were lost, only a query finds it returned, and
// it otherwise stayed returning with the person unpaid.
func (s *Payouts) RefundWork(ctx context.Context) error {
	now := s.Now()
	due := func(q *gorm.DB) *gorm.DB {
		return q.Where("status IN ? AND next_query_at <= ?", []string{refunds.PayoutPending, refunds.PayoutAbnormal, refunds.PayoutReturning}, now)
	}
	var nos []string
	if err := due(s.Conn(ctx).Model(&store.RefundPayoutRow{})).Order("next_query_at").Limit(100).Pluck("payout_no", &nos).Error; err != nil {
		return err
	}
	for _, no := range nos {
		if ctx.Err() != nil {
			return nil
		}
		// Claimed, then read again: another instance may have followed it
		// since the scan.
		if _, err := s.WithWork(ctx, kernel.WorkRefundPayout, no, func() error {
			var p store.RefundPayoutRow
			if err := due(s.Conn(ctx)).Where("payout_no = ?", no).Take(&p).Error; err != nil {
				if kernel.IsNotFound(err) {
					return nil
				}
				return err
			}
			return s.followPayout(ctx, p)
		}); err != nil {
			s.Log.WarnContext(ctx, "refund payout follow-up failed", "payout_no", no, "err", err)
		}
	}
	return nil
}

// sendIfStillPending sends a payout only if, read again under its work
// claim, it is still pending. The caller read it before claiming: in
// between, another instance's worker may have sent it, seen it fail and
// released it, and sending that stale "pending" row would pay out a number
// the channel had already answered for, outside the books.
func (s *Payouts) sendIfStillPending(ctx context.Context, payoutNo, source string) error {
	var p store.RefundPayoutRow
	err := s.Conn(ctx).Where("payout_no = ? AND status = ?", payoutNo, refunds.PayoutPending).Take(&p).Error
	if kernel.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.sendPayout(ctx, p, source)
}

func (s *Payouts) followPayout(ctx context.Context, p store.RefundPayoutRow) error {
	switch p.Kind {
	case refunds.PayoutChannel:
		ch, ok := s.Payments[p.Channel]
		if !ok {
			return s.applyPayout(ctx, p, refunds.PayoutPending, time.Time{}, fmt.Errorf("channel %s is not configured", p.Channel), "worker")
		}
		res, err := ch.QueryRefund(ctx, p.OrderNo, p.PayoutNo)
		switch {
		case err == nil && res.State == models.RefundSuccess && res.ToMerchant:
			return s.channelReturnedPayout(ctx, p, "query")
		case p.Status == refunds.PayoutReturning:
			// Not back with us yet (or not known): asked again later. It is
			// never sent again, failed or counted paid: the window asked
			// the channel to send it back and holds it until it is.
			return s.backOffPayout(ctx, p, err)
		case err == nil && res.State == models.RefundSuccess && (res.Amount == 0 || res.Amount == models.Fen(p.AmountFen)):
			return s.confirmPayout(ctx, p.PayoutNo, res.SucceededAt, "query")
		case err == nil && res.State == models.RefundFailed:
			return s.failPayout(ctx, p, "渠道查询：退款失败")
		case err == nil && res.State == models.RefundAbnormal:
			return s.holdAbnormalPayout(ctx, p, "query")
		case p.Status == refunds.PayoutAbnormal:
			// Still held by the channel (or not known): asked again later,
			// never sent again or paid another way.
			return s.backOffPayout(ctx, p, err)
		}
		// Not finished, not known, or never received: the same number again.
		return s.sendPayout(ctx, p, "worker")
	case refunds.PayoutBank:
		if s.Bank == nil {
			return s.applyPayout(ctx, p, refunds.PayoutPending, time.Time{}, errors.New("no bank transfer interface"), "worker")
		}
		res, err := s.Bank.QueryTransfer(ctx, p.PayoutNo)
		switch {
		case res.State == models.RefundFailed:
			// The bank answers FAILED with an error that says why; the
			// state is the answer, and dropping it left the payout pending
			// for good.
			return s.applyPayout(ctx, p, refunds.PayoutFailed, time.Time{}, err, "query")
		case err == nil:
			return s.applyPayout(ctx, p, payoutOutcome(res.State, nil), res.At, nil, "query")
		case errors.Is(err, models.ErrNotFound):
			return s.sendPayout(ctx, p, "worker") // never received: send it (same number)
		}
		return s.applyPayout(ctx, p, refunds.PayoutPending, time.Time{}, err, "worker")
	}
	return nil
}

// holdAbnormalPayout records that the channel holds a refund's money
// because it could not pay the person (WeChat ABNORMAL). The payout moves
// pending → abnormal once; that move notes it on the timeline and opens an
// anomaly saying what the system did, and the worker keeps asking the
// channel (a person may release it at the merchant platform). A payout
// already abnormal is only asked again later.
func (s *Payouts) holdAbnormalPayout(ctx context.Context, p store.RefundPayoutRow, source string) error {
	now := s.Now()
	moved := false
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		moved = false
		res := tx.Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, refunds.PayoutPending).
			Updates(map[string]any{"status": refunds.PayoutAbnormal, "attempts": gorm.Expr("attempts + 1"), "last_error": "渠道退款异常，款项由渠道暂存",
				"next_query_at": now.Add(contrib.QueryBackoff(p.Attempts + 1)), "updated_at": now})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		moved = true
		if err := s.refunds.AddEvent(tx, p.RefundNo, store.RefundEventRow{Status: string(models.RefundRefunding), ActorKind: refunds.ActorSystem,
			ActorID: "system", Department: models.DeptTax, Holder: models.DeptTax,
			Note: models.Fen(p.AmountFen).Yuan() + " 元原路退回时收款账户异常，款项暂由支付渠道保管，税务将另行处理"}); err != nil {
			return err
		}
		return s.OpenAnomaly(tx, kernel.AnomalyNote{Source: source, Channel: p.Channel, OrderNo: p.OrderNo, RefundNo: p.RefundNo,
			Kind: "refund_abnormal", AmountFen: p.AmountFen,
			Detail:       fmt.Sprintf("退款 %s 渠道状态为异常（用户银行卡注销或冻结等），%d 分由渠道暂存", p.PayoutNo, p.AmountFen),
			SystemAction: "已暂停该笔退款，不会改用其他方式重复退还；请在本系统将其退回商户账户后改为银行转账，或在微信支付商户平台处理"})
	})
	if err != nil {
		return kernel.Internal("abnormal payout", err)
	}
	if moved {
		s.Log.WarnContext(ctx, "refund payout abnormal; held by the channel", "payout_no", p.PayoutNo, "source", source)
		return nil
	}
	if p.Status == refunds.PayoutAbnormal {
		return s.backOffPayout(ctx, p, nil)
	}
	return nil
}

// backOffPayout schedules the next question about an abnormal payout.
func (s *Payouts) backOffPayout(ctx context.Context, p store.RefundPayoutRow, cause error) error {
	now := s.Now()
	upd := map[string]any{"attempts": gorm.Expr("attempts + 1"), "next_query_at": now.Add(contrib.QueryBackoff(p.Attempts + 1)), "updated_at": now}
	if cause != nil {
		upd["last_error"] = kernel.Truncate(cause.Error(), 300)
	}
	return kernel.Internal("payout back-off", s.Conn(ctx).Model(&store.RefundPayoutRow{}).Where("payout_no = ? AND status = ?", p.PayoutNo, p.Status).
		Updates(upd).Error)
}
