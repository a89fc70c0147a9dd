package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

type rig struct {
	env  *servicetest.Env
	h    http.Handler
	sess service.Session
	db   *store.DB
	n    int
}

func newRig(b *testing.B) *rig {
	b.Helper()
	db := storetest.Targets()[0].Open(b)
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

// newPayer makes a fresh verified person with a flexible pension payable,
// so each iteration of a money benchmark pays for months nobody holds.
func (r *rig) newPayer(b *testing.B) (service.Session, service.Payable) {
	r.n++
	id := models.MakeIDNumber("150102", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.n%9000), 100+r.n%800)
	sess := r.env.LoginVerified(b, fmt.Sprintf("bench-%d", r.n), "测试人", id)
	ctx := context.Background()
	if _, err := r.env.Svc.CreateEnrolment(ctx, sess.UserID, service.EnrolInput{Person: service.PersonRef{Self: true},
		Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil && err != models.ErrAlreadyEnrolled {
		b.Fatal(err)
	}
	items, err := r.env.Svc.QueryPayables(ctx, sess.UserID, service.PersonRef{Self: true})
	if err != nil {
		b.Fatal(err)
	}
	return sess, items[0]
}

func (r *rig) healthz(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func (r *rig) redisGet(b *testing.B) {
	ctx := context.Background()
	c := r.env.Redis.Client
	c.Set(ctx, "bench:key", "value", time.Minute)
	for i := 0; i < b.N; i++ {
		if err := c.Get(ctx, "bench:key").Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *rig) insertCommit(b *testing.B) {
	for i := 0; i < b.N; i++ {
		row := store.AnomalyRow{ID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), Source: "bench", Channel: "x",
			OrderNo: "x", Kind: "bench", Detail: "bench", CreatedAt: time.Now().UTC()}
		if err := r.db.Gorm.Create(&row).Error; err != nil {
			b.Fatal(err)
		}
	}
}

func (r *rig) getMe(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := r.env.Svc.Me(ctx, r.sess.UserID); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *rig) queryPayables(b *testing.B) {
	sess, _ := r.newPayer(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.env.Svc.QueryPayables(ctx, sess.UserID, service.PersonRef{Self: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// declarePaySettle is the money path: declare, open an order, settle its
// notification (in process, without the HTTP hop to the provider).
func (r *rig) declarePaySettle(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sess, pb := r.newPayer(b)
		b.StartTimer()
		d, err := r.env.Svc.CreateDeclaration(ctx, sess.UserID, service.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_100"})
		if err != nil {
			b.Fatal(err)
		}
		p, _, err := r.env.Svc.CreatePayment(ctx, sess, service.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.env.Svc.Settle(ctx, models.Notification{Channel: "sandbox", ID: "B-" + p.OrderNo, Kind: models.NotifyPayment,
			OrderNo: p.OrderNo, Amount: p.AmountFen, Paid: true, At: r.env.Clock.Now()}, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *rig) getPaymentCached(b *testing.B) {
	ctx := context.Background()
	sess, pb := r.newPayer(b)
	d, _ := r.env.Svc.CreateDeclaration(ctx, sess.UserID, service.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_100"})
	p, _, _ := r.env.Svc.CreatePayment(ctx, sess, service.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
	_, _ = r.env.Svc.Settle(ctx, models.Notification{Channel: "sandbox", ID: "C-" + p.OrderNo, Kind: models.NotifyPayment,
		OrderNo: p.OrderNo, Amount: p.AmountFen, Paid: true}, "bench")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.env.Svc.GetPayment(ctx, sess.UserID, p.OrderNo); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHealthz(b *testing.B)          { newRig(b).healthz(b) }
func BenchmarkRedisGet(b *testing.B)         { newRig(b).redisGet(b) }
func BenchmarkInsertCommit(b *testing.B)     { newRig(b).insertCommit(b) }
func BenchmarkGetMe(b *testing.B)            { newRig(b).getMe(b) }
func BenchmarkQueryPayables(b *testing.B)    { newRig(b).queryPayables(b) }
func BenchmarkDeclarePaySettle(b *testing.B) { newRig(b).declarePaySettle(b) }
func BenchmarkGetPaymentCached(b *testing.B) { newRig(b).getPaymentCached(b) }

// BenchmarkRatios measures everything in one run and reports each
// operation as a multiple of the three baselines.
func BenchmarkRatios(b *testing.B) {
	if b.N > 1 {
		b.Skip("reported once")
	}
	r := newRig(b)
	measure := func(fn func(*testing.B)) testing.BenchmarkResult { return testing.Benchmark(fn) }
	base := map[string]testing.BenchmarkResult{
		"healthz":       measure(r.healthz),
		"redis_get":     measure(r.redisGet),
		"insert_commit": measure(r.insertCommit),
	}
	ops := map[string]testing.BenchmarkResult{
		"get_me":             measure(r.getMe),
		"query_payables":     measure(r.queryPayables),
		"declare_pay_settle": measure(r.declarePaySettle),
		"get_payment_cached": measure(r.getPaymentCached),
	}
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nbaselines: healthz %d ns/op, redis GET %d ns/op, insert+commit %d ns/op\n",
		base["healthz"].NsPerOp(), base["redis_get"].NsPerOp(), base["insert_commit"].NsPerOp())
	fmt.Fprintf(&sb, "%-20s %12s %10s %10s %10s %10s\n", "operation", "ns/op", "×healthz", "×redisGET", "×insert", "B/op")
	for _, n := range names {
		o := ops[n]
		ns := float64(o.NsPerOp())
		fmt.Fprintf(&sb, "%-20s %12d %10.1f %10.1f %10.2f %10d\n", n, o.NsPerOp(),
			ns/float64(base["healthz"].NsPerOp()), ns/float64(base["redis_get"].NsPerOp()),
			ns/float64(base["insert_commit"].NsPerOp()), o.AllocedBytesPerOp())
		b.ReportMetric(ns/float64(base["insert_commit"].NsPerOp()), n+"_x_insert")
	}
	b.Log(sb.String())
}
