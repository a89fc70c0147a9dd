package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/reconcile"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func TestReconciliationSettlesWhatTheBillShowsPaidAndRecordsEachDifferenceOnce(t *testing.T) {
	t.Parallel()
	day := servicetest.AvoidBeijingMidnight(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		r.Lose.Store(true) // notifications are delivered by hand or lost
		for _, channel := range []string{models.ChannelWechat, models.ChannelAlipay} {
			payAtChannel := func(orderNo string) {
				t.Helper()
				var err error
				if channel == models.ChannelWechat {
					err = r.Wechat.Pay(orderNo, true)
				} else {
					err = r.Alipay.Pay(orderNo, true)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			_, notified := r.OpenOrder(channel, false) // paid, its notification arrived
			_, lost := r.OpenOrder(channel, false)     // paid, notification and queries lost
			_, closed := r.OpenOrder(channel, false)   // paid, but closed here in a race
			_, phantom := r.OpenOrder(channel, false)  // paid here only (a bug, a forgery)
			_, failed := r.OpenOrder(channel, false)   // paid there, failed here
			for _, p := range []contrib.Payment{notified, lost, closed, failed} {
				payAtChannel(p.OrderNo)
			}
			if channel == models.ChannelWechat {
				h, b, err := r.Wechat.Notification(notified.OrderNo)
				if err != nil {
					t.Fatal(err)
				}
				if code, _ := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
					t.Fatalf("notification answered %d", code)
				}
			} else if _, body := r.PostAlipay(r.Alipay.Notification(notified.OrderNo)); body != "success" {
				t.Fatalf("notification answered %q", body)
			}
			r.SettledOnce(notified.OrderNo)
			r.CloseHere(closed)
			if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", failed.OrderNo).Update("status", contrib.OrderFailed).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", phantom.OrderNo).
				Updates(map[string]any{"status": contrib.OrderPaid, "paid_at": r.Clock.Now(), "transaction_id": "NEVER-AT-CHANNEL"}).Error; err != nil {
				t.Fatal(err)
			}
			// A trade at the channel for an order number we never issued.
			stranger := "LBX" + time.Now().Format("150405") + channel
			if _, err := r.Deps.Payments[channel].Prepay(ctx, models.PrepayRequest{OrderNo: stranger, Amount: 1234, Description: "他人订单",
				Payer: models.ChannelIdentity{Channel: channel, Subject: map[string]string{models.ChannelWechat: "o-stranger", models.ChannelAlipay: "2088000000000999"}[channel]}}); err != nil {
				t.Fatal(err)
			}
			payAtChannel(stranger)

			billDay := day
			if channel == models.ChannelAlipay {
				// Alipay publishes the day's bill at 10:00 the next day.
				if _, err := r.Svc.Reconcile(ctx, channel, billDay); err == nil {
					t.Fatal("alipay reconciled a bill that is not published yet")
				}
				r.AliClock.Shift(48 * time.Hour)
			} else {
				// Any instant of the Beijing day names it, whatever its zone
				// (07:00 Beijing is the previous day in UTC).
				billDay = day.Add(7 * time.Hour).UTC()
			}
			res, err := r.Svc.Reconcile(ctx, channel, billDay)
			if err != nil {
				t.Fatalf("reconcile %s: %v", channel, err)
			}
			if res.BillDate != day.Format(time.DateOnly) || res.BillLines != 5 || res.Matched != 1 || res.Mismatches != 5 {
				t.Fatalf("%s reconciliation %+v, want 5 lines for %s, 1 matched, 5 mismatches", channel, res, day.Format(time.DateOnly))
			}
			if a := r.AnomalyRows(notified.OrderNo); len(a) != 0 {
				t.Fatalf("the matched order has anomalies %+v", a)
			}
			// Money the bill shows and we had not booked is booked now, and
			// the anomaly says so (resolved).
			for _, p := range []contrib.Payment{lost, closed} {
				r.SettledOnce(p.OrderNo)
				if st := r.DeclStatus(p.DeclarationID); st != contrib.DeclPaid {
					t.Fatalf("declaration of %s is %s, want paid", p.OrderNo, st)
				}
				a := r.AnomalyRows(p.OrderNo)
				if len(a) != 1 || a[0].Kind != "paid_not_settled" || a[0].ResolvedAt == nil || a[0].Resolution == "" || a[0].Channel != channel {
					t.Fatalf("anomalies of %s %+v, want one resolved paid_not_settled", p.OrderNo, a)
				}
			}
			// Money for an order in a state settlement does not take (failed)
			// is not booked, and the anomaly must not claim it was.
			if a := r.AnomalyRows(failed.OrderNo); len(a) != 1 || a[0].Kind != "paid_not_settled" || a[0].ResolvedAt != nil {
				t.Fatalf("anomalies of the failed order paid at the channel %+v, want one open paid_not_settled", a)
			}
			if n := servicetest.Count(t, db, "records", "order_no = ?", failed.OrderNo); n != 0 {
				t.Fatalf("%d records for the failed order", n)
			}
			if a := r.AnomalyRows(phantom.OrderNo); len(a) != 1 || a[0].Kind != "missing_in_bill" || a[0].ResolvedAt != nil {
				t.Fatalf("anomalies of the order the channel never saw %+v, want one open missing_in_bill", a)
			}
			if a := r.AnomalyRows(stranger); len(a) != 1 || a[0].Kind != "unknown_order" || a[0].ResolvedAt != nil {
				t.Fatalf("anomalies of the stranger's trade %+v, want one open unknown_order", a)
			}
			var run store.ReconciliationRow
			if err := db.Gorm.Where("channel = ? AND bill_date = ?", channel, day.Format(time.DateOnly)).Take(&run).Error; err != nil ||
				run.Status != reconcile.ReconDone || run.BillLines != 5 || run.FinishedAt == nil {
				t.Fatalf("reconciliation run %+v %v", run, err)
			}

			// The same day again changes nothing.
			anomalies := servicetest.Count(t, db, "anomalies", "channel = ?", channel)
			records := servicetest.Count(t, db, "records", "order_no IS NOT NULL")
			again, err := r.Svc.Reconcile(ctx, channel, day)
			if err != nil || again.BillLines != 0 || again.Mismatches != 0 {
				t.Fatalf("second reconciliation of %s: %+v %v", channel, again, err)
			}
			if n := servicetest.Count(t, db, "anomalies", "channel = ?", channel); n != anomalies {
				t.Fatalf("second reconciliation added %d anomalies", n-anomalies)
			}
			if n := servicetest.Count(t, db, "records", "order_no IS NOT NULL"); n != records {
				t.Fatalf("second reconciliation added %d records", n-records)
			}
			for _, p := range []contrib.Payment{notified, lost, closed} {
				r.SettledOnce(p.OrderNo)
			}
		}
	})
}

func TestYesterdaysBillsAreReconciledByTheWorkerOnlyAfterTenOClockBeijingTime(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db) // the sandbox channel, clock at 2026-11-20 10:00 Beijing
		j := servicetest.StartJourney(t, env)
		d, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		if err != nil {
			t.Fatal(err)
		}
		// The payer pays; the notification is lost and, for this test, so
		// are the worker's queries.
		gone, cancel := context.WithCancel(ctx)
		cancel()
		_ = env.Sandbox.Pay(gone, p.OrderNo, true)
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).
			Update("next_query_at", env.Clock.Now().AddDate(0, 1, 0)).Error; err != nil {
			t.Fatal(err)
		}
		runs := func() int64 {
			return servicetest.Count(t, db, "reconciliations", "channel = ? AND bill_date = ?", models.ChannelSandbox, "2026-11-20")
		}

		env.Clock.Set(time.Date(2026, 11, 21, 9, 59, 0, 0, models.Beijing))
		env.Svc.WorkOnce(ctx)
		if runs() != 0 || servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, contrib.OrderPaying) != 1 {
			t.Fatal("the 20th was reconciled before its bill was published")
		}
		env.Clock.Set(time.Date(2026, 11, 21, 10, 0, 30, 0, models.Beijing))
		env.Svc.WorkOnce(ctx)
		if runs() != 1 || servicetest.Count(t, db, "reconciliations", "bill_date = ? AND status = ?", "2026-11-20", reconcile.ReconDone) != 1 {
			t.Fatal("the 20th was not reconciled after 10:00 on the 21st")
		}
		if servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, contrib.OrderPaid) != 1 {
			t.Fatal("the bill's payment was not settled")
		}
		recs := servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo)
		if recs != 2 || servicetest.Count(t, db, "anomalies", "order_no = ? AND kind = ? AND resolved_at IS NOT NULL", p.OrderNo, "paid_not_settled") != 1 {
			t.Fatalf("after reconciliation: %d records, anomalies %+v", recs, must(env.Svc.Anomalies(ctx, p.OrderNo)))
		}
		env.Clock.Advance(time.Hour)
		env.Svc.WorkOnce(ctx)
		if runs() != 1 || servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo) != recs || servicetest.Count(t, db, "anomalies", "order_no = ?", p.OrderNo) != 1 {
			t.Fatal("the next pass reconciled the 20th again")
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
