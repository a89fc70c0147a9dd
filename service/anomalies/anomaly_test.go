package anomalies_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/anomalies"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// downChannel is the sandbox channel whose queries can be cut off.
type downChannel struct {
	models.PaymentChannel
	down atomic.Bool
}

func (c *downChannel) Query(ctx context.Context, orderNo string) (models.Trade, error) {
	if c.down.Load() {
		return models.Trade{}, errors.New("connection refused")
	}
	return c.PaymentChannel.Query(ctx, orderNo)
}

func ids(items []anomalies.AnomalyItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.AnomalyID)
	}
	return out
}

func sameIDs(got []anomalies.AnomalyItem, want ...string) bool {
	g := ids(got)
	if len(g) != len(want) {
		return false
	}
	for i := range g {
		if g[i] != want[i] {
			return false
		}
	}
	return true
}

// TestEveryAnomalyHasAnOwnerWhoResolvesItOnce walks the queue: each role
// sees the anomalies it owns, oldest first (the tax window the payments',
// each reviewer its scheme's refunds', the auditor all); one anomaly shows
// the order, the refund, what the system did and the channel's view (or,
// the channel down, says so); only its owner closes it, with a listed
// resolution and a reason, once however many press at the same time; every
// step is audited; and the metric counts what is open.
func TestEveryAnomalyHasAnOwnerWhoResolvesItOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ch := &downChannel{}
		env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			ch.PaymentChannel = d.Payments[models.ChannelSandbox]
			d.Payments[models.ChannelSandbox] = ch
		})
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		si := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: 98140})
		now := env.Clock.Now().UTC()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(db.Gorm.Create(&store.RefundRow{RefundNo: "RFMI0001", PersonID: "p_x", Scheme: string(models.SchemeFlexibleMedical),
			Department: models.DeptMedicalInsurance, Status: string(models.RefundForwarded), RefundFen: 500, CreatedAt: now, UpdatedAt: now}).Error)
		must(db.Gorm.Create(&store.RefundPayoutRow{PayoutNo: si.RefundNo + "-1C", RefundNo: si.RefundNo, Kind: refunds.PayoutChannel,
			Channel: models.ChannelSandbox, OrderNo: p.OrderNo, AmountFen: 98140, Status: refunds.PayoutPending, CreatedAt: now, UpdatedAt: now}).Error)
		add := func(id, kind, refundNo string, age time.Duration, resolved bool) {
			t.Helper()
			a := store.AnomalyRow{ID: id, Source: "reconcile", Channel: models.ChannelSandbox, OrderNo: p.OrderNo, RefundNo: refundNo,
				Kind: kind, Detail: "测试", AmountFen: 98140, CreatedAt: now.Add(-age)}
			if resolved {
				at := now.Add(-age / 2)
				a.Resolution, a.ResolvedBy, a.ResolvedAt = "已按渠道账单补记入账", "system", &at
			}
			must(db.Gorm.Create(&a).Error)
		}
		add("an_pay1", "unknown_order", "", 5*time.Hour, false)
		add("an_pay2", "amount_mismatch", "", 4*time.Hour, false)
		add("an_done", "paid_not_settled", "", 3*time.Hour+30*time.Minute, true)
		add("an_si", "refund_amount_mismatch", si.RefundNo, 3*time.Hour, false)
		add("an_sipay", "refund_overpaid", si.RefundNo+"-1C", 2*time.Hour, false) // a payout's number
		add("an_mi", "refund_overpaid", "RFMI0001", time.Hour, false)
		add("an_lost", "unknown_refund", "RF_NEVER_ISSUED", 30*time.Minute, false) // nobody's refund: the tax window's
		page := kernel.Page{Size: 20}
		list := func(a kernel.StaffActor, f anomalies.AnomalyFilter, pg kernel.Page) ([]anomalies.AnomalyItem, string) {
			t.Helper()
			items, next, err := env.Svc.ListAnomalies(ctx, a, f, pg)
			if err != nil {
				t.Fatalf("list as %s: %v", a.Role, err)
			}
			return items, next
		}

		// Each role its own, oldest first.
		if got, _ := list(h.Tax, anomalies.AnomalyFilter{}, page); !sameIDs(got, "an_pay1", "an_pay2", "an_lost") {
			t.Fatalf("the tax window's queue %v", ids(got))
		}
		if got, _ := list(h.Si, anomalies.AnomalyFilter{}, page); !sameIDs(got, "an_si", "an_sipay") || got[0].OwnerRole != models.RoleSIReviewer {
			t.Fatalf("the pension reviewer's queue %v", ids(got))
		}
		if got, _ := list(h.Mi, anomalies.AnomalyFilter{}, page); !sameIDs(got, "an_mi") {
			t.Fatalf("the medical reviewer's queue %v", ids(got))
		}
		if got, _ := list(h.Auditor, anomalies.AnomalyFilter{}, page); !sameIDs(got, "an_pay1", "an_pay2", "an_si", "an_sipay", "an_mi", "an_lost") {
			t.Fatalf("the auditor's queue %v", ids(got))
		}
		if got, _ := list(h.Auditor, anomalies.AnomalyFilter{Status: "resolved"}, page); !sameIDs(got, "an_done") ||
			got[0].Status != anomalies.AnomalyStatusResolved || got[0].SystemAction != "已按渠道账单补记入账" {
			t.Fatalf("resolved ones %+v", got)
		}
		if got, _ := list(h.Tax, anomalies.AnomalyFilter{Kind: "amount_mismatch"}, page); !sameIDs(got, "an_pay2") || got[0].KindName == "" {
			t.Fatalf("by kind %+v", got)
		}
		// Pages, oldest first, through the auditor's whole list.
		var walked []anomalies.AnomalyItem
		pg := kernel.Page{Size: 4}
		for {
			items, next := list(h.Auditor, anomalies.AnomalyFilter{Status: "all"}, pg)
			walked = append(walked, items...)
			if next == "" {
				break
			}
			pg.After = next
		}
		if !sameIDs(walked, "an_pay1", "an_pay2", "an_done", "an_si", "an_sipay", "an_mi", "an_lost") {
			t.Fatalf("paged %v", ids(walked))
		}
		if _, _, err := env.Svc.ListAnomalies(ctx, h.Admin, anomalies.AnomalyFilter{}, page); !errors.Is(err, models.ErrRoleForbidden) {
			t.Fatalf("the admin's list: %v", err)
		}
		for _, f := range []anomalies.AnomalyFilter{{Status: "closed"}, {Kind: "x' OR 1=1"}} {
			if _, _, err := env.Svc.ListAnomalies(ctx, h.Tax, f, page); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("filter %+v: %v", f, err)
			}
		}
		if _, _, err := env.Svc.ListAnomalies(ctx, h.Tax, anomalies.AnomalyFilter{}, kernel.Page{Size: 5, After: "nonsense"}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("a forged page token: %v", err)
		}

		// One anomaly, with the order and the channel's view now.
		d, err := env.Svc.GetAnomaly(ctx, h.Tax, "an_pay1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Order == nil || d.Order.Status != contrib.OrderPaid || d.Order.AmountFen != models.Fen(p.AmountFen) || d.SystemAction == "" ||
			!d.ChannelView.Available || d.ChannelView.TradeState != string(models.TradePaid) || d.ChannelView.AmountFen == nil ||
			*d.ChannelView.AmountFen != models.Fen(p.AmountFen) {
			t.Fatalf("the detail %+v / order %+v / channel %+v", d.AnomalyItem, d.Order, d.ChannelView)
		}
		ds, err := env.Svc.GetAnomaly(ctx, h.Si, "an_sipay")
		if err != nil || ds.Refund == nil || ds.Refund.RefundNo != si.RefundNo || ds.Refund.Department != models.DeptSocialInsurance {
			t.Fatalf("the refund anomaly's detail %+v %v", ds.Refund, err)
		}
		if _, err := env.Svc.GetAnomaly(ctx, h.Auditor, "an_mi"); err != nil {
			t.Fatalf("the auditor reads: %v", err)
		}
		for _, c := range []struct {
			a  kernel.StaffActor
			id string
		}{{h.Si, "an_pay1"}, {h.Tax, "an_si"}, {h.Mi, "an_si"}, {h.Si, "an_mi"}, {h.Admin, "an_pay1"}} {
			if _, err := env.Svc.GetAnomaly(ctx, c.a, c.id); !errors.Is(err, models.ErrRoleForbidden) {
				t.Fatalf("%s reading %s: %v", c.a.Role, c.id, err)
			}
		}
		if _, err := env.Svc.GetAnomaly(ctx, h.Tax, "an_nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("no such anomaly: %v", err)
		}
		// The channel down: the page still opens, and says so.
		ch.down.Store(true)
		d, err = env.Svc.GetAnomaly(ctx, h.Tax, "an_pay1")
		if err != nil || d.ChannelView.Available || d.ChannelView.Message == "" || d.Order == nil {
			t.Fatalf("with the channel down: %+v %v", d.ChannelView, err)
		}
		ch.down.Store(false)

		// Only the owner closes it, with a listed resolution and a reason.
		in := anomalies.ResolveAnomalyInput{Resolution: models.ResolvedRefunded, Reason: "已在商户平台原路退款"}
		for _, a := range []kernel.StaffActor{h.Auditor, h.Si, h.Admin} {
			if _, err := env.Svc.ResolveAnomaly(ctx, a, "an_pay1", in); !errors.Is(err, models.ErrRoleForbidden) {
				t.Fatalf("%s resolving: %v", a.Role, err)
			}
		}
		for _, bad := range []anomalies.ResolveAnomalyInput{{Resolution: "fixed", Reason: "已处理"}, {Resolution: models.ResolvedBooked}} {
			if _, err := env.Svc.ResolveAnomaly(ctx, h.Tax, "an_pay1", bad); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("resolving with %+v: %v", bad, err)
			}
		}
		// Six presses at once close it once.
		const presses = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		closed, refused := 0, 0
		for i := 0; i < presses; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := env.Svc.ResolveAnomaly(ctx, h.Tax, "an_pay1", in)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					closed++
				case errors.Is(err, models.ErrAnomalyResolved):
					refused++
				default:
					t.Errorf("resolve: %v", err)
				}
			}()
		}
		wg.Wait()
		if closed != 1 || refused != presses-1 {
			t.Fatalf("%d closed it and %d were refused, want 1 and %d", closed, refused, presses-1)
		}
		var row store.AnomalyRow
		must(db.Gorm.Where("id = ?", "an_pay1").Take(&row).Error)
		if row.ResolvedAt == nil || row.Resolution != "refunded" || row.ResolveReason != in.Reason || row.ResolvedBy != h.Tax.StaffID {
			t.Fatalf("the closed anomaly %+v", row)
		}
		if _, err := env.Svc.ResolveAnomaly(ctx, h.Si, "an_sipay", anomalies.ResolveAnomalyInput{Resolution: models.ResolvedNoDiscrepancy,
			Reason: "渠道已确认退款金额正确"}); err != nil {
			t.Fatalf("the pension reviewer closing a payout's anomaly: %v", err)
		}
		if got, _ := list(h.Tax, anomalies.AnomalyFilter{}, page); !sameIDs(got, "an_pay2", "an_lost") {
			t.Fatalf("the tax window's queue after closing %v", ids(got))
		}

		// Audited: every read, each refusal, the close once.
		audits := func(action, outcome, target string) int64 {
			return servicetest.Count(t, db, "audit_log", "action = ? AND outcome = ? AND target_id = ?", action, outcome, target)
		}
		if audits("anomaly.resolve", kernel.AuditOK, "an_pay1") != 1 || audits("anomaly.resolve", kernel.AuditFailed, "an_pay1") != presses-1 ||
			audits("anomaly.resolve", kernel.AuditDenied, "an_pay1") != 3 || audits("anomaly.read", kernel.AuditOK, "an_pay1") != 2 ||
			audits("anomaly.read", kernel.AuditDenied, "an_si") != 2 {
			t.Fatal("the anomaly steps are not audited as they happened")
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND outcome = ?", "anomaly.list", kernel.AuditOK); n < 8 {
			t.Fatalf("%d list reads audited", n)
		}

		// The metric: open ones by kind, every kind reported.
		stats, err := env.Svc.OpenAnomalyStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]anomalies.OpenAnomalies{}
		for _, s := range stats {
			got[s.Kind] = s
		}
		if got["unknown_order"].Count != 0 || got["amount_mismatch"].Count != 1 || got["amount_mismatch"].Oldest != 4*time.Hour ||
			got["refund_overpaid"].Count != 1 || got["refund_amount_mismatch"].Count != 1 || got["unknown_refund"].Count != 1 ||
			got["paid_not_settled"].Count != 0 || len(got) < len(models.AnomalyKinds) {
			t.Fatalf("open anomalies %+v", got)
		}
	})
}
