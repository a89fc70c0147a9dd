package reconcile_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/reconcile"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// billGate wraps the sandbox channel's bill: it counts downloads per day,
// can hold one download of a day until released (a worker that hangs or
// dies mid-run), and can fail downloads of a day (a bill not out).
type billGate struct {
	models.PaymentChannel
	src models.BillSource

	mu        sync.Mutex
	downloads map[string]int
	holdDay   string
	entered   chan struct{}
	release   chan struct{}
	failDay   map[string]int // downloads of the day left to fail
}

func (g *billGate) DownloadBill(ctx context.Context, day time.Time) ([]models.BillLine, error) {
	d := day.In(models.Beijing).Format(time.DateOnly)
	g.mu.Lock()
	g.downloads[d]++
	hold := g.holdDay == d
	if hold {
		g.holdDay = ""
	}
	fail := g.failDay[d] > 0
	if fail {
		g.failDay[d]--
	}
	g.mu.Unlock()
	if hold {
		close(g.entered)
		<-g.release
	}
	if fail {
		return nil, errors.New("bill not available")
	}
	return g.src.DownloadBill(ctx, day)
}

func (g *billGate) count(day string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.downloads[day]
}

func newGatedEnv(t *testing.T, db *store.DB) (*servicetest.Env, *billGate) {
	t.Helper()
	g := &billGate{downloads: map[string]int{}, failDay: map[string]int{}, entered: make(chan struct{}), release: make(chan struct{})}
	env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
		sbx := d.Payments[models.ChannelSandbox]
		g.PaymentChannel, g.src = sbx, sbx.(models.BillSource)
		d.Payments[models.ChannelSandbox] = g
	})
	return env, g
}

func reconRun(t *testing.T, db *store.DB, day string) store.ReconciliationRow {
	t.Helper()
	var r store.ReconciliationRow
	if err := db.Gorm.Where("channel = ? AND bill_date = ?", models.ChannelSandbox, day).Take(&r).Error; err != nil {
		t.Fatalf("run of %s: %v", day, err)
	}
	return r
}

// TestAReconciliationRunLeftRunningIsTakenOverOnceItsLeaseEnds kills a run
// between its steps: it stops inside the bill download, holding its day.
// While its lease lasts nobody else runs the day; once it ended the worker
// takes the day over and settles what the bill shows; and when the stuck
// run wakes up, its finish finds the day no longer its own and fails with
// an error instead of writing over the run that finished.
func TestAReconciliationRunLeftRunningIsTakenOverOnceItsLeaseEnds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, gate := newGatedEnv(t, db) // clock at 2026-11-20 10:00 Beijing
		j := servicetest.StartJourney(t, env)
		d, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		if err != nil {
			t.Fatal(err)
		}
		// Paid; the notification and the worker's queries are lost.
		gone, cancel := context.WithCancel(ctx)
		cancel()
		_ = env.Sandbox.Pay(gone, p.OrderNo, true)
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).
			Update("next_query_at", env.Clock.Now().AddDate(0, 1, 0)).Error; err != nil {
			t.Fatal(err)
		}
		const day = "2026-11-20"
		env.Clock.Set(time.Date(2026, 11, 21, 10, 5, 0, 0, models.Beijing))

		// The first run stops inside the download of the 20th's bill.
		gate.mu.Lock()
		gate.holdDay = day
		gate.mu.Unlock()
		stuck := make(chan error, 1)
		go func() {
			_, err := env.Svc.Reconcile(ctx, models.ChannelSandbox, time.Date(2026, 11, 20, 0, 0, 0, 0, models.Beijing))
			stuck <- err
		}()
		<-gate.entered
		first := reconRun(t, db, day)
		if first.Status != reconcile.ReconRunning || first.RunID == "" || first.LeaseUntil == nil {
			t.Fatalf("the stuck run %+v", first)
		}

		// While its lease lasts, the worker leaves the day alone.
		env.Clock.Advance(29 * time.Minute)
		env.Svc.WorkOnce(ctx)
		if gate.count(day) != 1 || reconRun(t, db, day).RunID != first.RunID {
			t.Fatalf("the day was run again under a live lease: %d downloads", gate.count(day))
		}
		if servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, contrib.OrderPaying) != 1 {
			t.Fatal("the order was settled while the day was held")
		}

		// The lease ends: the worker takes the day over and finishes it.
		env.Clock.Advance(2 * time.Minute)
		env.Svc.WorkOnce(ctx)
		taken := reconRun(t, db, day)
		if gate.count(day) != 2 || taken.Status != reconcile.ReconDone || taken.RunID == first.RunID || taken.BillLines != 1 || taken.FinishedAt == nil {
			t.Fatalf("after the lease ended: %d downloads, run %+v", gate.count(day), taken)
		}
		if servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, contrib.OrderPaid) != 1 ||
			servicetest.Count(t, db, "anomalies", "order_no = ? AND kind = ?", p.OrderNo, "paid_not_settled") != 1 {
			t.Fatal("the run that took over did not settle the bill's payment once")
		}
		records := servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo)

		// The stuck run wakes up: its finish is an error, and it changes
		// neither the finished run nor the books.
		close(gate.release)
		if err := <-stuck; err == nil {
			t.Fatal("the run that lost its lease finished without an error")
		}
		if after := reconRun(t, db, day); after.RunID != taken.RunID || after.Status != reconcile.ReconDone || after.BillLines != 1 {
			t.Fatalf("the stale run overwrote the finished one: %+v", after)
		}
		if servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo) != records || servicetest.Count(t, db, "anomalies", "order_no = ?", p.OrderNo) != 1 {
			t.Fatal("the stale run booked or recorded again")
		}
		// A finished day stays finished.
		env.Clock.Advance(time.Hour)
		env.Svc.WorkOnce(ctx)
		if gate.count(day) != 2 {
			t.Fatal("a finished day was downloaded again")
		}
	})
}

// TestEveryDayOfTheLookbackWindowWithoutAFinishedRunIsReconciled starts the
// worker after days without it: every published day of the window is
// reconciled, not only yesterday; a day whose bill fails is tried again
// after a pause, not on every pass; a run that died before leases existed
// (no lease recorded) is taken over too.
func TestEveryDayOfTheLookbackWindowWithoutAFinishedRunIsReconciled(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, gate := newGatedEnv(t, db)
		// A run of the 12th that died before leases were recorded.
		if err := db.Gorm.Create(&store.ReconciliationRow{Channel: models.ChannelSandbox, BillDate: "2026-11-12", Status: reconcile.ReconRunning,
			StartedAt: time.Date(2026, 11, 13, 10, 0, 0, 0, models.Beijing)}).Error; err != nil {
			t.Fatal(err)
		}
		gate.failDay["2026-11-24"] = 1
		// 09:00 on the 25th: the 24th's bill is not out; the window is the
		// fourteen days up to the 23rd.
		env.Clock.Set(time.Date(2026, 11, 25, 9, 0, 0, 0, models.Beijing))
		env.Svc.WorkOnce(ctx)
		done := func() int64 {
			return servicetest.Count(t, db, "reconciliations", "channel = ? AND status = ?", models.ChannelSandbox, reconcile.ReconDone)
		}
		if n := done(); n != 14 || servicetest.Count(t, db, "reconciliations", "bill_date < ?", "2026-11-10") != 0 || gate.count("2026-11-24") != 0 {
			t.Fatalf("%d days reconciled, want the 14 from the 10th to the 23rd", n)
		}
		if r := reconRun(t, db, "2026-11-12"); r.Status != reconcile.ReconDone || r.RunID == "" {
			t.Fatalf("the dead run of the 12th was not taken over: %+v", r)
		}
		// 10:00: the 24th's bill is due but fails; it is tried again after
		// the pause, not on the next pass.
		env.Clock.Set(time.Date(2026, 11, 25, 10, 0, 0, 0, models.Beijing))
		env.Svc.WorkOnce(ctx)
		if r := reconRun(t, db, "2026-11-24"); r.Status != reconcile.ReconFailed || gate.count("2026-11-24") != 1 {
			t.Fatalf("the failed 24th: %+v, %d downloads", r, gate.count("2026-11-24"))
		}
		env.Clock.Advance(time.Minute)
		env.Svc.WorkOnce(ctx)
		if gate.count("2026-11-24") != 1 {
			t.Fatal("a failed day was retried on the next pass")
		}
		env.Clock.Advance(15 * time.Minute)
		env.Svc.WorkOnce(ctx)
		if r := reconRun(t, db, "2026-11-24"); r.Status != reconcile.ReconDone || gate.count("2026-11-24") != 2 || done() != 15 {
			t.Fatalf("the 24th after the pause: %+v, %d downloads", r, gate.count("2026-11-24"))
		}
		// Nothing finished is downloaded again.
		before := gate.count("2026-11-15")
		env.Clock.Advance(time.Hour)
		env.Svc.WorkOnce(ctx)
		if gate.count("2026-11-15") != before {
			t.Fatal("a finished day was downloaded again")
		}
	})
}
