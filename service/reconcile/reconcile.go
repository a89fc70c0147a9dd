package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Reconciliation run statuses.
const (
	ReconRunning = "running"
	ReconDone    = "done"
	ReconFailed  = "failed"
)

// ReconcileResult summarises one channel's bill for one day.
type ReconcileResult struct {
	Channel    string
	BillDate   string
	BillLines  int
	Matched    int
	Mismatches int
}

// billReadyHour is when channels publish the previous day's bill (WeChat
// and Alipay: after 10:00 Beijing time).
const billReadyHour = 10

// Reconciliation runs hold a lease, so that a run left running by a crash
// (or by a finish that never reached the database) does not block its day
// for good: once the lease ends another run takes the day over. The lease
// is renewed while the bill is worked through, so only a dead or stuck run
// loses it. A failed run is tried again after reconcileRetryAfter, not on
// every worker pass (a channel that is down would be asked every second).
const (
	reconcileLease      = 30 * time.Minute
	reconcileRetryAfter = 15 * time.Minute
	reconcileRenewEvery = 200 // bill lines between lease renewals
	// reconcileLookbackDays is how many published bill days the worker
	// keeps looking at: every one of them without a finished run is
	// reconciled. Two weeks outlast the longest public holiday (春节,
	// 国庆: 7–9 days) with a week to spare, and the channels keep their
	// bills for three months (WeChat) or more.
	reconcileLookbackDays = 14
)

// ReconcileYesterday runs the T+1 reconciliation of every published bill
// day in the lookback window that has no finished run: yesterday once its
// bill is out (10:00), and any earlier day whose run failed, died or never
// happened (the service was down that day). A failed run is tried again
// after reconcileRetryAfter; a running one is left to its holder until its
// lease ends.
func (s *Reconciler) ReconcileYesterday(ctx context.Context) error {
	now := s.Now()
	bj := now.In(models.Beijing)
	latest := time.Date(bj.Year(), bj.Month(), bj.Day(), 0, 0, 0, 0, models.Beijing).AddDate(0, 0, -1)
	if bj.Hour() < billReadyHour {
		latest = latest.AddDate(0, 0, -1) // yesterday's bill is not out yet
	}
	first := latest.AddDate(0, 0, -(reconcileLookbackDays - 1))
	names := make([]string, 0, len(s.Payments))
	for name := range s.Payments {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if _, ok := s.Payments[name].(models.BillSource); !ok {
			continue
		}
		var runs []store.ReconciliationRow
		if err := s.Conn(ctx).Where("channel = ? AND bill_date >= ? AND bill_date <= ?", name, first.Format(time.DateOnly), latest.Format(time.DateOnly)).
			Find(&runs).Error; err != nil {
			return kernel.Internal("reconciliation runs", err)
		}
		wait := map[string]bool{}
		for _, r := range runs {
			wait[r.BillDate] = !reconcileDue(r, now)
		}
		for day := first; !day.After(latest); day = day.AddDate(0, 0, 1) {
			if wait[day.Format(time.DateOnly)] {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if _, err := s.Reconcile(ctx, name, day); err != nil {
				s.Log.WarnContext(ctx, "reconciliation failed; will retry", "channel", name, "day", day.Format(time.DateOnly), "err", err)
				errs = append(errs, fmt.Errorf("%s %s: %w", name, day.Format(time.DateOnly), err))
			}
		}
	}
	return errors.Join(errs...)
}

// reconcileDue reports whether the worker should (re)run a day's existing
// run now: a failed one whose retry time came, a running one whose lease
// ended. Rows from before leases (lease_until NULL) count as expired once
// a lease's time passed since they started.
func reconcileDue(r store.ReconciliationRow, now time.Time) bool {
	switch r.Status {
	case ReconDone:
		return false
	case ReconFailed:
		return r.LeaseUntil == nil || !r.LeaseUntil.After(now)
	}
	if r.LeaseUntil == nil {
		return r.StartedAt.Add(reconcileLease).Before(now)
	}
	return r.LeaseUntil.Before(now)
}

// Reconcile compares a channel's bill for a Beijing day with our orders.
// Every channel transaction we had not settled is settled now (the lost
// notification case) and every difference is recorded as an anomaly with
// its resolution. A day already reconciled is not run again, nor is one
// another run holds a live lease on; a failed run, or a running one whose
// lease ended, is taken over. An error recording the run's end is returned
// like any other: the run is then not done.
func (s *Reconciler) Reconcile(ctx context.Context, channel string, day time.Time) (ReconcileResult, error) {
	src, ok := s.Payments[channel].(models.BillSource)
	if !ok {
		return ReconcileResult{}, models.ErrChannelUnsupported
	}
	// The bill sources read the calendar date off the time they are given
	// (WeChat's in the time's own zone), so hand them Beijing midnight:
	// an instant of the Beijing day given in UTC named the day before, and
	// this run then reconciled the wrong bill and was marked done.
	bj := day.In(models.Beijing)
	day = time.Date(bj.Year(), bj.Month(), bj.Day(), 0, 0, 0, 0, models.Beijing)
	date := day.Format("2006-01-02")
	res := ReconcileResult{Channel: channel, BillDate: date}
	now := s.Now()
	runID := kernel.NewID("rr")
	lease := now.Add(reconcileLease)
	run := store.ReconciliationRow{Channel: channel, BillDate: date, Status: ReconRunning, StartedAt: now, RunID: runID, LeaseUntil: &lease}
	inserted, err := kernel.InsertIfAbsent(s.Conn(ctx), &run)
	if err != nil {
		return res, kernel.Internal("reconciliation run", err)
	}
	if !inserted {
		// Take over a failed run, or a running one whose lease ended (its
		// worker died, or its finish was lost); a finished one, or one
		// whose holder is alive, is left alone.
		upd := s.Conn(ctx).Model(&store.ReconciliationRow{}).
			Where("channel = ? AND bill_date = ? AND (status = ? OR (status = ? AND (lease_until < ? OR (lease_until IS NULL AND started_at < ?))))",
				channel, date, ReconFailed, ReconRunning, now, now.Add(-reconcileLease)).
			Updates(map[string]any{"status": ReconRunning, "started_at": now, "run_id": runID, "lease_until": lease,
				"finished_at": nil, "detail": ""})
		if upd.Error != nil {
			return res, kernel.Internal("reconciliation run", upd.Error)
		}
		if upd.RowsAffected != 1 {
			return res, nil
		}
	}
	// Every write to the run is conditional on still holding it: a run
	// whose lease was taken over stops, and its results are not recorded.
	// They are written even when ctx ended (shutdown), so the run is
	// failed, to be retried, rather than left running.
	held := func(q *gorm.DB) *gorm.DB {
		return q.Model(&store.ReconciliationRow{}).Where("channel = ? AND bill_date = ? AND run_id = ? AND status = ?", channel, date, runID, ReconRunning)
	}
	lost := fmt.Errorf("reconciliation %s %s: run %s lost its lease to another run", channel, date, runID)
	finish := func(status, detail string) error {
		now := s.Now()
		fields := map[string]any{"status": status, "bill_lines": res.BillLines, "matched": res.Matched,
			"mismatches": res.Mismatches, "detail": detail, "finished_at": now, "lease_until": nil}
		if status == ReconFailed {
			fields["lease_until"] = now.Add(reconcileRetryAfter)
		}
		upd := held(s.Conn(context.WithoutCancel(ctx))).Updates(fields)
		if upd.Error != nil {
			return kernel.Internal("finish reconciliation", upd.Error)
		}
		if upd.RowsAffected != 1 {
			return lost
		}
		return nil
	}
	fail := func(detail string, err error) (ReconcileResult, error) {
		if ferr := finish(ReconFailed, detail); ferr != nil {
			return res, errors.Join(err, ferr)
		}
		return res, err
	}
	// renew extends the lease and records the progress (which also makes
	// the update change the row, so every dialect counts it).
	renew := func() error {
		upd := held(s.Conn(ctx)).Updates(map[string]any{"lease_until": s.Now().Add(reconcileLease), "bill_lines": res.BillLines,
			"matched": res.Matched, "mismatches": res.Mismatches})
		if upd.Error != nil {
			return kernel.Internal("renew reconciliation lease", upd.Error)
		}
		if upd.RowsAffected != 1 {
			return lost
		}
		return nil
	}
	lines, err := src.DownloadBill(ctx, day)
	if err != nil {
		return fail("账单下载失败", err)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if l.State != models.TradePaid || l.RefundAmount > 0 {
			continue // refund lines are reconciled by the refund workflow
		}
		if res.BillLines > 0 && res.BillLines%reconcileRenewEvery == 0 {
			if err := renew(); err != nil {
				return res, err
			}
		}
		res.BillLines++
		seen[l.OrderNo] = true
		ok, err := s.reconcileLine(ctx, channel, l)
		if err != nil {
			return fail("处理账单明细失败", err)
		}
		if ok {
			res.Matched++
		} else {
			res.Mismatches++
		}
	}
	// Orders we hold as paid that the bill does not list.
	from := day
	var ours []store.OrderRow
	if err := s.Conn(ctx).Where("channel = ? AND paid_at >= ? AND paid_at < ?", channel, from.UTC(), from.AddDate(0, 0, 1).UTC()).
		Find(&ours).Error; err != nil {
		return fail("读取订单失败", kernel.Internal("reconcile orders", err))
	}
	for _, o := range ours {
		if !seen[o.OrderNo] {
			res.Mismatches++
			s.Anomaly(ctx, "reconcile", channel, o.OrderNo, "missing_in_bill",
				fmt.Sprintf("本系统记为已支付（%d 分），但 %s 渠道账单无此交易；请人工核实渠道交易状态", o.AmountFen, date))
		}
	}
	if err := finish(ReconDone, ""); err != nil {
		return res, err
	}
	s.Log.InfoContext(ctx, "reconciled", "channel", channel, "day", date, "lines", res.BillLines, "matched", res.Matched, "mismatches", res.Mismatches)
	return res, nil
}

// reconcileLine checks one paid bill line; it reports whether it matched.
func (s *Reconciler) reconcileLine(ctx context.Context, channel string, l models.BillLine) (bool, error) {
	var o store.OrderRow
	err := s.Conn(ctx).Where("order_no = ?", l.OrderNo).Take(&o).Error
	if kernel.IsNotFound(err) || (err == nil && o.Channel != channel) {
		s.Anomaly(ctx, "reconcile", channel, l.OrderNo, "unknown_order", "渠道账单有交易但本系统无此订单；请人工核查并原路退款")
		return false, nil
	}
	if err != nil {
		return false, kernel.Internal("reconcile order", err)
	}
	if l.Amount != models.Fen(o.AmountFen) {
		s.Anomaly(ctx, "reconcile", channel, l.OrderNo, "amount_mismatch",
			fmt.Sprintf("账单金额 %d 分与订单金额 %d 分不符；请人工核查", l.Amount, o.AmountFen))
		return false, nil
	}
	switch o.Status {
	case contrib.OrderPaid, contrib.OrderPartiallyRefunded, contrib.OrderRefunded:
		return true, nil
	}
	// Paid at the channel, never settled here (notification and queries
	// lost, or the order was closed a moment too early): settle it now.
	outcome, err := s.contrib.Settle(ctx, models.Notification{Channel: channel, Kind: models.NotifyPayment, OrderNo: l.OrderNo,
		TransactionID: l.TransactionID, Amount: l.Amount, Paid: true, At: l.At}, "reconcile")
	if err != nil {
		return false, err
	}
	if outcome != contrib.OutcomeSettled {
		// Settled by a notification or query between our read and this
		// settle: the bill matches an order settled correctly, and an
		// anomaly telling staff to refund it was wrong.
		var again store.OrderRow
		if err := s.Conn(ctx).Where("order_no = ?", l.OrderNo).Take(&again).Error; err != nil {
			return false, kernel.Internal("reconcile order", err)
		}
		switch again.Status {
		case contrib.OrderPaid, contrib.OrderPartiallyRefunded, contrib.OrderRefunded:
			return true, nil
		}
	}
	now := s.Now()
	a := store.AnomalyRow{ID: kernel.NewID("an"), Source: "reconcile", Channel: channel, OrderNo: l.OrderNo,
		Kind: "paid_not_settled", Detail: "渠道已收款但本系统未入账（通知丢失）", Resolution: "已按渠道账单补记入账",
		CreatedAt: now, ResolvedAt: &now}
	if outcome == contrib.OutcomeSettled {
		var auto int64
		if err := s.Conn(ctx).Model(&store.RefundRow{}).Where("refund_no = ?", contrib.AutoRefundNo(l.OrderNo)).Count(&auto).Error; err != nil {
			return false, kernel.Internal("reconcile automatic refund", err)
		}
		if auto > 0 {
			// Settled, but its months were paid by another order: it is
			// being refunded, not booked.
			a.Resolution = "已补记收款，因所缴月份已由其他订单缴纳，已自动原路退款（退款单号 " + contrib.AutoRefundNo(l.OrderNo) + "）"
		}
	}
	if outcome != contrib.OutcomeSettled {
		// Settle booked nothing (an order state it does not settle from,
		// such as failed): the money is still unaccounted for, so the
		// anomaly stays open for a person to refund. It used to be marked
		// resolved as booked. It is opened once while open: a failed run
		// retried, or a run whose lease was taken over, reads the same
		// line again, and two open anomalies each asking staff to refund
		// the one payment could have it refunded twice.
		if err := s.OpenAnomaly(s.Conn(ctx), kernel.AnomalyNote{Source: "reconcile", Channel: channel, OrderNo: l.OrderNo,
			Kind: a.Kind, AmountFen: int64(l.Amount),
			Detail: fmt.Sprintf("渠道已收款，但订单状态为 %s，未能补记入账；请人工核实并原路退款", o.Status)}); err != nil {
			return false, kernel.Internal("anomaly", err)
		}
		return false, nil
	}
	if err := s.Conn(ctx).Create(&a).Error; err != nil {
		return false, kernel.Internal("anomaly", err)
	}
	return false, nil
}
