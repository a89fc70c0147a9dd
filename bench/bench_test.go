package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

type rig struct {
	env  *servicetest.Env
	h    http.Handler
	sess people.Session
	db   *store.DB
	n    int
}

func newRig(b *testing.B) *rig {
	b.Helper()
	db := benchTarget(b).Open(b)
	var env *servicetest.Env
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = env.Svc.HandleNotification(r.Context(), models.ChannelSandbox, w, r)
	}))
	b.Cleanup(srv.Close)
	env = servicetest.New(b, db, servicetest.Config{PublicURL: srv.URL})
	h := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	p := servicetest.Person(b, "张三明")
	return &rig{env: env, h: h, db: db, sess: env.LoginVerified(b, "bench", p.Name, p.IDNumber)}
}

// benchTarget is the store the rig runs on: embedded SQLite, or the
// server LIANBAN_BENCH_STORE names (postgres, mysql) when its
// LIANBAN_TEST_… URL is set too, so the ratios can be read on both store
// set-ups of issue 13 without changing what a plain make bench measures.
func benchTarget(b *testing.B) storetest.Target {
	want := os.Getenv("LIANBAN_BENCH_STORE")
	if want == "" {
		want = "sqlite"
	}
	for _, tg := range storetest.Targets() {
		if tg.Name == want {
			return tg
		}
	}
	b.Fatalf("LIANBAN_BENCH_STORE=%s: no such target (set its LIANBAN_TEST_… URL)", want)
	return storetest.Target{}
}

// newPayer makes a fresh verified person with a flexible pension payable,
// so each iteration of a money benchmark pays for months nobody holds.
func (r *rig) newPayer(b *testing.B) (people.Session, contrib.Payable) {
	r.n++
	id := models.MakeIDNumber("150102", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.n%9000), 100+r.n%800)
	sess := r.env.LoginVerified(b, fmt.Sprintf("bench-%d", r.n), "测试人", id)
	ctx := context.Background()
	if _, err := r.env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: people.PersonRef{Self: true},
		Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil && err != models.ErrAlreadyEnrolled {
		b.Fatal(err)
	}
	items, err := r.env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true})
	if err != nil {
		b.Fatal(err)
	}
	return sess, items[0]
}

func (r *rig) healthz(b *testing.B, n int) {
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	for i := 0; i < n; i++ {
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func (r *rig) redisGet(b *testing.B, n int) {
	ctx := context.Background()
	c := r.env.Redis.Client
	c.Set(ctx, "bench:key", "value", time.Minute)
	for i := 0; i < n; i++ {
		if err := c.Get(ctx, "bench:key").Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *rig) insertCommit(b *testing.B, n int) {
	for i := 0; i < n; i++ {
		r.insertOne(b, i)
	}
}

// insertOne is the unit of the money steps' cost: one single-row insert
// and its commit.
func (r *rig) insertOne(b *testing.B, i int) {
	row := store.AnomalyRow{ID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), Source: "bench", Channel: "x",
		OrderNo: "x", Kind: "bench", Detail: "bench", CreatedAt: time.Now().UTC()}
	if err := r.db.Gorm.Create(&row).Error; err != nil {
		b.Fatal(err)
	}
}

func (r *rig) getMe(b *testing.B, n int) {
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := r.env.Svc.Me(ctx, r.sess.UserID); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *rig) queryPayables(b *testing.B) {
	sess, _ := r.newPayer(b)
	b.ResetTimer()
	r.queryPayablesOf(sess)(b, b.N)
}

func (r *rig) queryPayablesOf(sess people.Session) func(*testing.B, int) {
	return func(b *testing.B, n int) {
		ctx := context.Background()
		for i := 0; i < n; i++ {
			if _, err := r.env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// declarePaySettle is the whole journey of a new payer: enrol, declare,
// open an order, settle its notification (in process, without the HTTP
// hop to the provider). BenchmarkRatios times the money path alone.
func (r *rig) declarePaySettle(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sess, pb := r.newPayer(b)
		r.payFor(b, sess, pb)
	}
}

// payFor declares the payable, opens a sandbox order and settles it,
// returning the order number.
func (r *rig) payFor(b *testing.B, sess people.Session, pb contrib.Payable) string {
	d := r.declare(b, sess, pb)
	p := r.pay(b, sess, d)
	r.settle(b, p)
	return p.OrderNo
}

// declare, pay and settle are the three money steps issue 13 prices
// separately (each ≤ 4 insert commits). Declare and pay run as a request
// runs them, with the session's verified user and person in the context.
func (r *rig) declare(b *testing.B, sess people.Session, pb contrib.Payable) contrib.Declaration {
	d, err := r.env.Svc.CreateDeclaration(servicetest.RequestContext(context.Background(), sess), sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_100"})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func (r *rig) pay(b *testing.B, sess people.Session, d contrib.Declaration) contrib.Payment {
	p, _, err := r.env.Svc.CreatePayment(servicetest.RequestContext(context.Background(), sess), sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func (r *rig) settle(b *testing.B, p contrib.Payment) {
	if _, err := r.env.Svc.Settle(context.Background(), models.Notification{Channel: "sandbox", ID: "B-" + p.OrderNo, Kind: models.NotifyPayment,
		OrderNo: p.OrderNo, Amount: p.AmountFen, Paid: true, At: r.env.Clock.Now()}, "bench"); err != nil {
		b.Fatal(err)
	}
}

// moneyStep times one money step alone: prepare makes (untimed) what the
// step needs for one iteration, and the step runs on it. Each iteration
// has a payer of its own, made before the timer starts.
func moneyStep[T any](r *rig, prepare func(b *testing.B) T, step func(b *testing.B, in T)) func(*testing.B) {
	return func(b *testing.B) {
		ins := make([]T, b.N)
		for i := range ins {
			ins[i] = prepare(b)
		}
		b.ResetTimer()
		// Each step is paired with one insert+commit right after it, so
		// the ratio holds on a machine whose load drifts (2 shared cores).
		var stepD, insertD time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			step(b, ins[i])
			stepD += time.Since(start)
			b.StopTimer()
			start = time.Now()
			r.insertOne(b, i)
			insertD += time.Since(start)
			b.StartTimer()
		}
		b.ReportMetric(float64(stepD)/float64(insertD), "x_insert")
	}
}

type payerPayable struct {
	sess people.Session
	pb   contrib.Payable
}

type payerDecl struct {
	sess people.Session
	d    contrib.Declaration
}

func (r *rig) declareStep() func(*testing.B) {
	return moneyStep(r, func(b *testing.B) payerPayable {
		sess, pb := r.newPayer(b)
		return payerPayable{sess, pb}
	}, func(b *testing.B, in payerPayable) { r.declare(b, in.sess, in.pb) })
}

func (r *rig) payStep() func(*testing.B) {
	return moneyStep(r, func(b *testing.B) payerDecl {
		sess, pb := r.newPayer(b)
		return payerDecl{sess, r.declare(b, sess, pb)}
	}, func(b *testing.B, in payerDecl) { r.pay(b, in.sess, in.d) })
}

func (r *rig) settleStep() func(*testing.B) {
	return moneyStep(r, func(b *testing.B) contrib.Payment {
		sess, pb := r.newPayer(b)
		return r.pay(b, sess, r.declare(b, sess, pb))
	}, func(b *testing.B, p contrib.Payment) { r.settle(b, p) })
}

func (r *rig) getPaymentCached(b *testing.B) {
	run := r.paidOrderPolling(b)
	b.ResetTimer()
	run(b, b.N)
}

// paidOrderPolling settles an order and returns the payer's polling loop.
func (r *rig) paidOrderPolling(b *testing.B) func(*testing.B, int) {
	ctx := context.Background()
	sess, pb := r.newPayer(b)
	orderNo := r.payFor(b, sess, pb)
	return func(b *testing.B, n int) {
		for i := 0; i < n; i++ {
			if _, err := r.env.Svc.GetPayment(ctx, sess.UserID, orderNo); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkHealthz(b *testing.B)          { newRig(b).healthz(b, b.N) }
func BenchmarkRedisGet(b *testing.B)         { newRig(b).redisGet(b, b.N) }
func BenchmarkInsertCommit(b *testing.B)     { newRig(b).insertCommit(b, b.N) }
func BenchmarkGetMe(b *testing.B)            { newRig(b).getMe(b, b.N) }
func BenchmarkQueryPayables(b *testing.B)    { newRig(b).queryPayables(b) }
func BenchmarkDeclarePaySettle(b *testing.B) { newRig(b).declarePaySettle(b) }
func BenchmarkDeclare(b *testing.B)          { newRig(b).declareStep()(b) }
func BenchmarkPay(b *testing.B)              { newRig(b).payStep()(b) }
func BenchmarkSettle(b *testing.B)           { newRig(b).settleStep()(b) }
func BenchmarkGetPaymentCached(b *testing.B) { newRig(b).getPaymentCached(b) }

// timed runs op n times after an untimed setup per iteration and returns
// the mean time of op alone. testing.Benchmark would scale N on the timed
// part only and spend minutes in the untimed setup of the money path.
func timed(n int, setup func() func()) time.Duration {
	var total time.Duration
	for i := 0; i < n; i++ {
		op := setup()
		start := time.Now()
		op()
		total += time.Since(start)
	}
	return total / time.Duration(n)
}

// BenchmarkRatios measures everything in one run and reports each
// operation as a multiple of the three baselines.
func BenchmarkRatios(b *testing.B) {
	if b.N > 1 {
		b.Skip("reported once")
	}
	r := newRig(b)
	// testing.Benchmark cannot run inside a benchmark (it waits for the
	// lock this one holds), so each operation is timed here by hand over
	// about half a second.
	loop := func(fn func(*testing.B, int)) time.Duration {
		const batch = 20 // run the op in batches on this benchmark, so a failure fails it
		var n int
		start := time.Now()
		for time.Since(start) < 500*time.Millisecond {
			fn(b, batch)
			n += batch
		}
		return time.Since(start) / time.Duration(n)
	}
	healthz, redisGet, insert := loop(r.healthz), loop(r.redisGet), loop(r.insertCommit)
	payer, _ := r.newPayer(b)
	ops := []struct {
		name string
		d    time.Duration
	}{
		{"get_me", loop(r.getMe)},
		{"query_payables", loop(r.queryPayablesOf(payer))},
		{"get_payment_cached", loop(r.paidOrderPolling(b))},
		{"declare_pay_settle", timed(50, func() func() {
			sess, pb := r.newPayer(b)
			return func() { r.payFor(b, sess, pb) }
		})},
		{"declare", timed(50, func() func() {
			sess, pb := r.newPayer(b)
			return func() { r.declare(b, sess, pb) }
		})},
		{"pay", timed(50, func() func() {
			sess, pb := r.newPayer(b)
			d := r.declare(b, sess, pb)
			return func() { r.pay(b, sess, d) }
		})},
		{"settle", timed(50, func() func() {
			sess, pb := r.newPayer(b)
			p := r.pay(b, sess, r.declare(b, sess, pb))
			return func() { r.settle(b, p) }
		})},
		{"unit_roster_5000", timed(2, func() func() { return r.importRoster(b) })},
		{"unit_payables_5000", loop(r.unitPayablesOf(b))},
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nbaselines: healthz %v, redis GET %v, insert+commit %v (%s)\n", healthz, redisGet, insert, r.db.Dialect)
	fmt.Fprintf(&sb, "%-20s %12s %10s %10s %10s\n", "operation", "time/op", "×healthz", "×redisGET", "×insert")
	for _, o := range ops {
		fmt.Fprintf(&sb, "%-20s %12v %10.1f %10.1f %10.2f\n", o.name, o.d,
			float64(o.d)/float64(healthz), float64(o.d)/float64(redisGet), float64(o.d)/float64(insert))
		b.ReportMetric(float64(o.d)/float64(insert), o.name+"_x_insert")
	}
	b.Log(sb.String())
}
