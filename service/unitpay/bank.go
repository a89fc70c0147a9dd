package unitpay

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// debitBackoff is how long to wait before asking the bank about a debit
// whose outcome is unknown: soon at first, then less and less often. A
// debit is never given up on: the money may have moved.
func debitBackoff(attempts int) time.Duration {
	steps := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute}
	if attempts < len(steps) {
		return steps[attempts]
	}
	return time.Hour
}

// sendDebit asks the bank to debit (again, under the same number) and
// applies its answer.
func (s *UnitPay) sendDebit(ctx context.Context, d store.TripartiteDebitRow, agreementNo string) {
	res, err := s.Tripartite.Debit(ctx, models.DebitRequest{DebitNo: d.DebitNo, AgreementNo: agreementNo, Amount: models.Fen(d.AmountFen),
		Memo: "社会保险费 " + d.OrderNo})
	if err := s.applyDebit(ctx, d, res, err, "debit"); err != nil {
		s.Log.ErrorContext(ctx, "debit answer not applied; the worker asks again", "debit_no", d.DebitNo, "err", err)
	}
}

// applyDebit moves a debit (and its order) by the bank's answer: success
// settles, a definite failure fails the order and reopens the declaration,
// anything else stays pending and is asked again later.
func (s *UnitPay) applyDebit(ctx context.Context, d store.TripartiteDebitRow, res models.DebitResult, callErr error, source string) error {
	now := s.Now()
	switch {
	case callErr == nil && res.State == models.DebitSuccess:
		_, err := s.settle(ctx, paidEvent{OrderNo: d.OrderNo, Amount: res.Amount, At: res.At, TransactionID: d.DebitNo, Source: source,
			Before: s.finishDebit(d.DebitNo, DebitSuccess, "", res.At)})
		return err
	case (callErr == nil || errors.Is(callErr, models.ErrInvalid)) && res.State == models.DebitFailed:
		return s.failDebit(ctx, d, res, now)
	}
	if errors.Is(callErr, models.ErrInternal) {
		s.Anomaly(ctx, source, MethodTripartite, d.OrderNo, "debit_no_conflict", "银行报告扣款流水号 "+d.DebitNo+" 已用于其他扣款，请核实")
	}
	why := "银行处理中"
	if callErr != nil {
		why = kernel.Truncate(callErr.Error(), 300)
	}
	next := now.Add(debitBackoff(d.Attempts + 1))
	return s.Conn(ctx).Model(&store.TripartiteDebitRow{}).Where("debit_no = ? AND status = ?", d.DebitNo, DebitPending).
		Updates(map[string]any{"attempts": d.Attempts + 1, "next_query_at": next, "last_error": why, "updated_at": now}).Error
}

// finishDebit marks a pending debit final inside the settling
// transaction.
func (s *UnitPay) finishDebit(debitNo, status, why string, at time.Time) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error {
		now := s.Now()
		if at.IsZero() {
			at = now
		}
		// A success may follow a failure (the bank changed its answer):
		// the money was taken, so the debit says so.
		from := []string{DebitPending}
		if status == DebitSuccess {
			from = append(from, DebitFailed)
		}
		return tx.Model(&store.TripartiteDebitRow{}).Where("debit_no = ? AND status IN ?", debitNo, from).
			Updates(map[string]any{"status": status, "last_error": why, "finished_at": at, "next_query_at": nil, "updated_at": now}).Error
	}
}

// failDebit ends an order whose debit the bank failed: nothing was taken,
// so the declaration goes back to the unit to pay again.
func (s *UnitPay) failDebit(ctx context.Context, d store.TripartiteDebitRow, res models.DebitResult, now time.Time) error {
	why := res.FailReason
	if why == "" {
		why = "银行扣款失败"
	}
	if res.FailCode != "" {
		why = res.FailCode + " " + why
	}
	return s.Tx(ctx, func(tx *gorm.DB) error {
		var o store.OrderRow
		if err := tx.Where("order_no = ?", d.OrderNo).Take(&o).Error; err != nil {
			return err
		}
		if o.Status == contrib.OrderPaid {
			// The bank said success before (we settled) and now failed:
			// the money may have gone back. Staff look.
			return s.AnomalyTx(tx, "debit", MethodTripartite, o.OrderNo, "debit_failed_after_paid", "银行报告已入账的扣款失败："+why)
		}
		if err := s.finishDebit(d.DebitNo, DebitFailed, kernel.Truncate(why, 300), res.At)(tx); err != nil {
			return err
		}
		_, err := s.failOrder(tx, o, contrib.OrderFailed, now)
		return err
	})
}

// FollowUnitPayments is the unit payments' worker step: it asks the bank
// about debits whose outcome is unknown (sending a debit again, under its
// number, when the bank never received it) and closes the orders of
// vouchers and POS waits that expired unpaid, reopening their
// declarations. Several instances may run it: a debit is claimed
// (kernel.ClaimWork) while the bank is asked about it, and every move is
// conditional.
func (s *UnitPay) FollowUnitPayments(ctx context.Context) error {
	now := s.Now()
	if s.Tripartite != nil {
		due := func(q *gorm.DB) *gorm.DB { return q.Where("status = ? AND next_query_at <= ?", DebitPending, now) }
		var nos []string
		if err := due(s.Conn(ctx).Model(&store.TripartiteDebitRow{})).Order("next_query_at").Limit(100).Pluck("debit_no", &nos).Error; err != nil {
			return err
		}
		for _, no := range nos {
			if ctx.Err() != nil {
				return nil
			}
			// Claimed, then read again: another instance may have asked
			// the bank about it since the scan.
			if _, err := s.WithWork(ctx, kernel.WorkUnitDebit, no, func() error {
				var d store.TripartiteDebitRow
				if err := due(s.Conn(ctx)).Where("debit_no = ?", no).Take(&d).Error; err != nil {
					if kernel.IsNotFound(err) {
						return nil
					}
					return err
				}
				return s.followDebit(ctx, d)
			}); err != nil {
				return err
			}
		}
	}
	var expired []store.OrderRow
	if err := s.Conn(ctx).Where("unit_id <> '' AND method IN ? AND status IN ? AND expires_at < ?",
		[]string{MethodBankVoucher, MethodPOS}, []string{contrib.OrderCreated, contrib.OrderPaying}, now).
		Limit(200).Find(&expired).Error; err != nil {
		return err
	}
	for _, o := range expired {
		if err := s.Tx(ctx, func(tx *gorm.DB) error {
			_, err := s.failOrder(tx, o, contrib.OrderClosed, now)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// followDebit asks the bank about one debit and applies the answer.
func (s *UnitPay) followDebit(ctx context.Context, d store.TripartiteDebitRow) error {
	res, err := s.Tripartite.QueryDebit(ctx, d.DebitNo)
	if errors.Is(err, models.ErrNotFound) {
		// The bank never received it: sending it again is safe.
		var a store.TripartiteAgreementRow
		if err := s.Conn(ctx).Where("id = ?", d.AgreementID).Take(&a).Error; err != nil {
			return err
		}
		s.sendDebit(ctx, d, a.AgreementNo)
		return nil
	}
	return s.applyDebit(ctx, d, res, err, "query")
}

// NoticeResult says what became of a bank debit notice.
type NoticeResult string

// Notice results.
const (
	NoticeProcessed NoticeResult = "processed" // settled, failed, a duplicate or an anomaly: acknowledged
	NoticeRejected  NoticeResult = "rejected"  // not the bank's: settles nothing
	NoticeRetry     NoticeResult = "retry"     // genuine but not recorded: the bank sends it again
)

// HandleBankDebitNotice verifies the bank's notice of a debit's final
// state and applies it exactly once (deduplicated on the notice id, and
// on the order's conditional move), then answers the bank: 200 once
// recorded, 401 for a notice that is not the bank's, 500 to have it sent
// again when the database failed.
func (s *UnitPay) HandleBankDebitNotice(ctx context.Context, w http.ResponseWriter, r *http.Request) NoticeResult {
	if s.Tripartite == nil {
		w.WriteHeader(http.StatusNotFound)
		return NoticeRejected
	}
	n, err := s.Tripartite.ParseDebitNotice(r)
	if err != nil {
		s.Log.WarnContext(ctx, "bank debit notice rejected", "err", err)
		ack(w, http.StatusUnauthorized, "REJECTED")
		return NoticeRejected
	}
	var d store.TripartiteDebitRow
	err = s.Conn(ctx).Where("debit_no = ?", n.DebitNo).Take(&d).Error
	if kernel.IsNotFound(err) {
		if err := s.AnomalyTx(s.Conn(ctx), "notify", MethodTripartite, "", "unknown_debit", "银行通知的扣款流水号 "+kernel.Truncate(n.DebitNo, 40)+" 不存在"); err != nil {
			ack(w, http.StatusInternalServerError, "RETRY")
			return NoticeRetry
		}
		ack(w, http.StatusOK, "SUCCESS")
		return NoticeProcessed
	}
	if err != nil {
		ack(w, http.StatusInternalServerError, "RETRY")
		return NoticeRetry
	}
	switch n.State {
	case models.DebitSuccess:
		note := models.Notification{Channel: MethodTripartite, ID: n.ID, Kind: models.NotifyPayment, OrderNo: d.OrderNo,
			TransactionID: d.DebitNo, Amount: n.Amount, Paid: true, At: n.At}
		_, err = s.settle(ctx, paidEvent{OrderNo: d.OrderNo, Amount: n.Amount, At: n.At, TransactionID: d.DebitNo, Source: "notify",
			Notice: &note, Before: s.finishDebit(d.DebitNo, DebitSuccess, "", n.At)})
	default:
		err = s.failDebit(ctx, d, n.DebitResult, s.Now())
	}
	if err != nil {
		s.Log.ErrorContext(ctx, "bank debit notice not applied; the bank will send it again", "debit_no", d.DebitNo, "err", err)
		ack(w, http.StatusInternalServerError, "RETRY")
		return NoticeRetry
	}
	ack(w, http.StatusOK, "SUCCESS")
	return NoticeProcessed
}

func ack(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"code":"` + code + `"}`))
}
