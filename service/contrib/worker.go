package contrib

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// QueryBackoff is how long to wait before the next query of an order that
// is still paying: about a minute after creation, then less and less often.
func QueryBackoff(attempts int) time.Duration {
	steps := []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	if attempts < len(steps) {
		return steps[attempts]
	}
	return time.Hour
}

// FollowPayingOrders queries orders that have had no notification and
// closes the unpaid ones past their expiry (never younger than
// MinCloseAge). A channel that cannot answer leaves the order paying.
// Each order is claimed first (kernel.ClaimWork), so of several instances
// one asks the channel about it.
func (s *Contrib) FollowPayingOrders(ctx context.Context) error {
	now := s.Now()
	var nos []string
	// A unit's orders are not a payment channel's: service/unitpay follows
	// them (bank debits, voucher expiry).
	due := func(q *gorm.DB) *gorm.DB {
		return q.Where("status IN ? AND next_query_at <= ? AND unit_id = ''", []string{OrderCreated, OrderPaying}, now)
	}
	if err := due(s.Conn(ctx).Model(&store.OrderRow{})).Order("next_query_at").Limit(100).Pluck("order_no", &nos).Error; err != nil {
		return err
	}
	for _, no := range nos {
		if ctx.Err() != nil {
			return nil
		}
		if _, err := s.WithWork(ctx, kernel.WorkOrderQuery, no, func() error {
			// Read again under the claim: another instance may have
			// followed it since the scan.
			var o store.OrderRow
			if err := due(s.Conn(ctx)).Where("order_no = ?", no).Take(&o).Error; err != nil {
				if kernel.IsNotFound(err) {
					return nil
				}
				return err
			}
			return s.followPayingOrder(ctx, o, now)
		}); err != nil {
			return err
		}
	}
	return nil
}

// followPayingOrder asks the channel about one order and settles, closes
// or schedules it.
func (s *Contrib) followPayingOrder(ctx context.Context, o store.OrderRow, now time.Time) error {
	state, err := s.queryAndSettle(ctx, o)
	if errors.Is(err, models.ErrNotFound) && state != models.TradePaid {
		// The channel never saw the order (its prepay did not get
		// through: WeChat's ORDER_NOT_EXIST), so nothing can have been
		// paid on it. Without this it was never closed and its
		// declaration stayed paying for good.
		state, err = models.TradePaying, nil
	}
	// A paid answer is not skipped here: the back-off update below
	// touches only orders still paying, so a settled order is left
	// alone, while one settlement refused (another amount: an
	// anomaly) is asked again on the schedule. It used to be queried,
	// and get a new anomaly, on every worker pass.
	expired := now.After(o.ExpiresAt) && now.Sub(o.CreatedAt) >= s.Opt.MinCloseAge
	if err == nil && expired && (state == models.TradePaying || state == models.TradeClosed) {
		if err := s.closeOrder(ctx, o); err != nil {
			s.Log.WarnContext(ctx, "close failed; will retry", "order_no", o.OrderNo, "err", err)
		} else {
			return nil
		}
	}
	next := now.Add(QueryBackoff(o.QueryAttempts + 1))
	return s.Conn(ctx).Model(&store.OrderRow{}).Where("order_no = ? AND status IN ?", o.OrderNo, []string{OrderCreated, OrderPaying}).
		Updates(map[string]any{"next_query_at": next, "query_attempts": o.QueryAttempts + 1}).Error
}

// closeOrder closes an unpaid order at the channel and here, and gives its
// declaration back so the payer can try again. ORDERPAID means the payer
// paid at the last moment: settle instead.
func (s *Contrib) closeOrder(ctx context.Context, o store.OrderRow) error {
	ch, ok := s.Payments[o.Channel]
	if !ok {
		return models.ErrChannelUnsupported
	}
	// A created order may exist at the channel too (its prepay timed out),
	// so it is closed there as well; closing an order the channel never
	// saw is harmless.
	err := ch.Close(ctx, o.OrderNo)
	if errors.Is(err, models.ErrOrderPaidAtChannel) {
		_, err := s.queryAndSettle(ctx, o)
		return err
	}
	if errors.Is(err, models.ErrNotFound) {
		// The channel has not seen the order yet. An order with a pay URL
		// (Alipay H5) stays payable through it until the order's own
		// expiry: closing it here before then let a payer who switched
		// channels pay both. Past the expiry, or without a URL (a prepay
		// that never reached the channel), nothing can be paid on it.
		if now := s.Now(); !now.After(o.ExpiresAt) && hasPayURL(o) {
			at := o.ExpiresAt.Add(time.Minute).In(models.Beijing).Format("15:04")
			return models.ErrDeclarationPaying.WithReason("已打开的支付链接在 " + at + " 前仍可付款，请完成支付，或在此之后再更换缴费方式")
		}
		err = nil
	}
	if err != nil {
		return err
	}
	now := s.Now()
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.OrderRow{}).Where("order_no = ? AND status IN ?", o.OrderNo, []string{OrderCreated, OrderPaying}).
			Updates(map[string]any{"status": OrderClosed, "closed_at": now, "updated_at": now})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		return reopenDeclaration(tx, o, now)
	})
	if err == nil {
		s.ForgetPayables(ctx, o.PersonID)
	}
	return err
}

// hasPayURL reports whether an order's pay parameters are a link the payer
// can open later (Alipay H5), which creates the trade at the channel then.
func hasPayURL(o store.OrderRow) bool {
	var p models.PayParams
	return o.PayParams != "" && json.Unmarshal([]byte(o.PayParams), &p) == nil && p["url"] != ""
}

// reopenDeclaration gives a declaration whose order ended unpaid back to
// the payer, with its months still held.
func reopenDeclaration(tx *gorm.DB, o store.OrderRow, now time.Time) error {
	res := tx.Model(&store.DeclarationRow{}).Where("id = ? AND status = ? AND order_no = ?", o.DeclarationID, DeclPaying, o.OrderNo).
		Updates(map[string]any{"status": DeclOpen, "order_no": "", "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return res.Error
	}
	return tx.Model(&store.ClaimRow{}).Where("declaration_id = ? AND state = ?", o.DeclarationID, ClaimPaying).
		Update("state", ClaimDeclared).Error
}

// AdvanceCredits asks the treasury about paid records and marks the
// credited ones (入库).
func (s *Contrib) AdvanceCredits(ctx context.Context) error {
	return s.advance(ctx, kernel.WorkCredit, RecordPaid, s.creditQuestion, RecordCredited, "credited_at", "tax_voucher_no")
}

// creditQuestion asks the treasury whether it credited a paid order.
func (s *Contrib) creditQuestion(ctx context.Context, ref models.SettlementRef) (models.SettlementResult, error) {
	return s.Treasury.CreditStatus(ctx, ref)
}

// AdvanceBookings asks the agency about credited records and marks the
// booked ones (记账).
func (s *Contrib) AdvanceBookings(ctx context.Context) error {
	return s.advance(ctx, kernel.WorkBooking, RecordCredited, func(ctx context.Context, ref models.SettlementRef) (models.SettlementResult, error) {
		return s.Agency.BookingStatus(ctx, ref)
	}, RecordBooked, "booked_at", "booking_no")
}

// settlementQuestion asks the treasury or the agency about a paid order.
type settlementQuestion func(context.Context, models.SettlementRef) (models.SettlementResult, error)

// advance moves the records of orders in from to to once the treasury or
// the agency says the step happened. Each order is claimed (step) while it
// is asked about, so several instances do not ask about it at once.
func (s *Contrib) advance(ctx context.Context, step, from string, ask settlementQuestion, to, atCol, noCol string) error {
	if (to == RecordCredited && s.Treasury == nil) || (to == RecordBooked && s.Agency == nil) {
		return nil // not connected: records stay where they are, never guessed forward
	}
	// By order, not by record: a unit's order has a record per employee,
	// and 500 of one order's records used to fill every pass. Only orders
	// due (settle_next_at, migrations/0016): one the treasury has not
	// credited yet is asked again later, so it neither takes a place in
	// every pass nor is asked about every second.
	var orderNos []string
	if err := s.Conn(ctx).Table("records").Joins("JOIN orders ON orders.order_no = records.order_no").
		Where("records.status = ? AND (orders.settle_next_at IS NULL OR orders.settle_next_at <= ?)", from, s.Now()).
		Group("records.order_no").Order("MIN(records.paid_at)").Limit(500).Pluck("records.order_no", &orderNos).Error; err != nil {
		return err
	}
	for _, no := range orderNos {
		if ctx.Err() != nil {
			return nil
		}
		if _, err := s.WithWork(ctx, step, no, func() error {
			_, err := s.advanceOrder(ctx, no, from, ask, to, atCol, noCol, false)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// advanceOrder asks about one order's records in from and moves them.
// Unless anyTime, an order not due (settle_next_at ahead: another
// instance asked since this pass's scan) is left alone. unanswered is
// true when the treasury or agency was asked and did not answer: the
// step may have happened, or not.
func (s *Contrib) advanceOrder(ctx context.Context, no, from string, ask settlementQuestion, to, atCol, noCol string, anyTime bool) (unanswered bool, err error) {
	var r store.RecordRow
	if err := s.Conn(ctx).Where("order_no = ? AND status = ?", no, from).Order("paid_at").Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return false, nil // moved on by another worker
		}
		return false, err
	}
	var o store.OrderRow
	if err := s.Conn(ctx).Where("order_no = ?", r.OrderNo).Take(&o).Error; err != nil {
		return false, err
	}
	if !anyTime && o.SettleNextAt != nil && o.SettleNextAt.After(s.Now()) {
		return false, nil
	}
	ref := models.SettlementRef{OrderNo: o.OrderNo, Amount: models.Fen(o.AmountFen), Scheme: models.Scheme(o.Scheme), PaidAt: r.PaidAt}
	if r.CreditedAt != nil {
		ref.CreditedAt = *r.CreditedAt
	}
	// The step has waited since the order was paid (credit) or credited
	// (booking).
	waiting := ref.PaidAt
	if to == RecordBooked && r.CreditedAt != nil {
		waiting = *r.CreditedAt
	}
	res, err := ask(ctx, ref)
	// What the answer means is written whatever becomes of ctx (a
	// request's budget, a shutdown) once the answer is in: a step cut
	// between its writes left credited records whose booking waited for
	// the old back-off.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		s.Log.WarnContext(ctx, "settlement status unknown; will ask again", "order_no", o.OrderNo, "step", to, "err", err)
		return true, s.askLater(wctx, o.OrderNo, waiting)
	}
	if res.State != models.SettlementDone {
		return false, s.askLater(wctx, o.OrderNo, waiting)
	}
	at := res.At.UTC()
	if at.IsZero() {
		at = s.Now()
	}
	if err := s.Tx(wctx, func(tx *gorm.DB) error {
		// Conditional on the records still being in from: a counter's
		// reversal (ReverseOrderTx) removes paid records by the same
		// kind of statement, so whichever commits first wins and the
		// other changes nothing.
		if err := tx.Model(&store.RecordRow{}).Where("order_no = ? AND status = ?", o.OrderNo, from).
			Updates(map[string]any{"status": to, atCol: at, noCol: res.VoucherNo}).Error; err != nil {
			return err
		}
		// The next step starts now, not at this one's back-off.
		if o.SettleNextAt == nil {
			return nil
		}
		return tx.Model(&store.OrderRow{}).Where("order_no = ?", o.OrderNo).UpdateColumn("settle_next_at", nil).Error
	}); err != nil {
		return false, err
	}
	s.forgetOrderRowPayables(wctx, o)
	return false, nil
}

// errCreditUnknown refuses what must not happen to money the treasury may
// have credited (a counter's 冲正) while the treasury cannot say.
var errCreditUnknown = models.ErrUnavailable.WithReason("暂时无法向国库确认该笔缴费是否已入库，请稍后重试")

// AskCreditNow asks the treasury about a paid order at once, outside its
// back-off, and credits its records when the treasury has (as the worker
// would). A counter's reversal asks first: the worker learns of a credit
// only at the order's next question, up to SettleAskCeiling after it, and
// money the treasury holds must not also go back across the counter. It
// fails when the treasury does not answer, or the worker's question about
// the order is still running after two seconds; then nothing may be
// reversed. Without a treasury nothing is ever credited, and it asks
// nothing.
func (s *Contrib) AskCreditNow(ctx context.Context, orderNo string) error {
	if s.Treasury == nil {
		return nil
	}
	unanswered := false
	// The worker may be asking about the order this moment: its answer
	// is as good as ours once it has recorded it, so wait for its claim
	// to end (a question takes milliseconds; a treasury that hangs is
	// refused after a few seconds).
	for try := 0; ; try++ {
		ran, err := s.WithWork(ctx, kernel.WorkCredit, orderNo, func() error {
			var err error
			unanswered, err = s.advanceOrder(ctx, orderNo, RecordPaid, s.creditQuestion, RecordCredited, "credited_at", "tax_voucher_no", true)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return errCreditUnknown // the caller's time ran out: asked or not, no answer
			}
			return kernel.Internal("ask the treasury", err)
		}
		if ran {
			break
		}
		if try == 40 {
			return errCreditUnknown
		}
		select {
		case <-ctx.Done():
			return errCreditUnknown
		case <-time.After(50 * time.Millisecond):
		}
	}
	if unanswered {
		return errCreditUnknown
	}
	return nil
}

// CreditWaitedOn asks the treasury at once about paid orders a person is
// waiting on to be credited: a tax certificate or a refund, each of which
// is refused while a month is only paid. Between its questions the worker
// may learn of a credit up to SettleAskCeiling late, and "not yet
// credited" after the treasury had credited the money sent people away
// for no reason. The caller reads its records again afterwards; whatever
// goes wrong here only leaves the refusal as it was. Never inside a
// transaction: the questions are written on connections of their own.
//
// The questions are bounded, since a refusal invites asking again: the
// first creditWaitedOnLimit orders given, each at most once per
// creditAskGap whoever asks (a Redis mark on the service clock; with Redis
// down nothing is asked), all within creditWaitedOnBudget, stopping at the
// first question that goes unanswered.
func (s *Contrib) CreditWaitedOn(ctx context.Context, orderNos []string) {
	ctx, cancel := context.WithTimeout(ctx, creditWaitedOnBudget)
	defer cancel()
	seen := map[string]bool{}
	for _, no := range orderNos {
		if seen[no] {
			continue
		}
		if len(seen) == creditWaitedOnLimit {
			return
		}
		seen[no] = true
		if !s.markCreditAsk(ctx, no) {
			continue
		}
		if err := s.AskCreditNow(ctx, no); err != nil {
			s.Log.WarnContext(ctx, "treasury not asked at once; the worker will ask", "order_no", no, "err", err)
			return
		}
	}
}

// markCreditAsk reports whether the order may be asked about now (not
// within creditAskGap of the last request's question) and marks it asked,
// in one step at Redis, so of two requests at the same moment only one
// asks. The gap is read on the service's clock, which tests move.
func (s *Contrib) markCreditAsk(ctx context.Context, orderNo string) bool {
	now := s.Now()
	n, err := creditAskScript.Run(ctx, s.Redis.Client, []string{"lb:creditask:{" + orderNo + "}"},
		now.UnixMilli(), creditAskGap.Milliseconds()).Int()
	return err == nil && n == 1
}

// creditAskScript marks an order asked unless it was asked within the gap:
// KEYS[1] holds the last question's time; ARGV[1] is now and ARGV[2] the
// gap, both in milliseconds (the gap is also the mark's life). It returns
// 1 when the caller may ask.
var creditAskScript = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// What one request may ask the treasury (CreditWaitedOn). The months still
// waiting are the latest few orders (a year paid in one go is one order);
// a refused payer who tries again within creditAskGap hears the same.
const (
	creditWaitedOnLimit  = 4
	creditWaitedOnBudget = 3 * time.Second
	creditAskGap         = 10 * time.Second
)

// SettleAskCeiling is the longest an order waiting for the treasury or
// the agency goes unasked.
const SettleAskCeiling = 30 * time.Minute

// SettleAskAfter is how long after an answer of "not yet" the order is
// asked about again, having waited so long since it was paid (or
// credited): a quarter of that, at most SettleAskCeiling. The sandbox's
// seconds are asked about every pass or two; a real treasury's next-day
// credit about 40 times in its first two hours (a pass a second), then
// twice an hour. What must not wait for the next question asks at once:
// a counter's reversal (AskCreditNow), a tax certificate and a refund
// application (CreditWaitedOn).
func SettleAskAfter(waited time.Duration) time.Duration {
	return min(max(waited/4, 0), SettleAskCeiling)
}

// askLater puts off the next question about an order whose step has not
// happened yet (or that got no answer). The next due time is all it changes: the claim on the
// order (WithWork) is what keeps instances from asking at once.
func (s *Contrib) askLater(ctx context.Context, orderNo string, waitingSince time.Time) error {
	now := s.Now()
	next := now.Add(SettleAskAfter(now.Sub(waitingSince)))
	return s.Conn(ctx).Model(&store.OrderRow{}).Where("order_no = ?", orderNo).UpdateColumn("settle_next_at", next).Error
}

// ExpireDeclarations releases the months of open declarations past their
// expiry, so the payable shows them as open again.
func (s *Contrib) ExpireDeclarations(ctx context.Context) error {
	var ids []string
	if err := s.Conn(ctx).Model(&store.DeclarationRow{}).Where("status = ? AND expires_at < ?", DeclOpen, s.Now()).
		Limit(200).Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := s.expireDeclaration(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
