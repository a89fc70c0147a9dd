package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A payment the bill shows that reconciliation cannot book (its order is
// failed here) leaves one open anomaly asking staff to refund it, however
// often the day is run: a failed run retried, or a run whose lease another
// took over, reads the same line again. Two open anomalies for one payment
// each asked a person to refund it.
func TestAPaymentReconciliationCannotBookIsOneOpenAnomalyAcrossRuns(t *testing.T) {
	day := avoidBeijingMidnight(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, rigConfig{retry: []time.Duration{}})
		r.lose.Store(true)
		_, p := r.openOrder(models.ChannelWechat, false)
		if err := r.Wechat.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).Update("status", service.OrderFailed).Error; err != nil {
			t.Fatal(err)
		}
		billDay := day.Add(7 * time.Hour)
		for run := 0; run < 3; run++ {
			if run > 0 {
				// The day's run failed (or lost its lease): it is run again.
				if err := db.Gorm.Model(&store.ReconciliationRow{}).Where("channel = ?", models.ChannelWechat).
					Updates(map[string]any{"status": service.ReconFailed, "lease_until": r.Clock.Now().Add(-time.Minute)}).Error; err != nil {
					t.Fatal(err)
				}
			}
			res, err := r.Svc.Reconcile(ctx, models.ChannelWechat, billDay)
			if err != nil || res.Mismatches != 1 {
				t.Fatalf("run %d: %+v %v", run, res, err)
			}
		}
		var open []store.AnomalyRow
		for _, a := range r.anomalyRows(p.OrderNo) {
			if a.Kind == "paid_not_settled" && a.ResolvedAt == nil {
				open = append(open, a)
			}
		}
		if len(open) != 1 {
			t.Fatalf("%d open paid_not_settled anomalies, want 1: %+v", len(open), open)
		}
		// Staff see how much is to be refunded.
		if open[0].AmountFen != int64(p.AmountFen) {
			t.Fatalf("anomaly amount %d, want %d", open[0].AmountFen, p.AmountFen)
		}
		if st := r.status(p.OrderNo); st != service.OrderFailed {
			t.Fatalf("order %s", st)
		}
	})
}
