package servicetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// NewEnv builds a service whose sandbox provider delivers notifications to
// a real HTTP endpoint served by the same service.
func NewEnv(t *testing.T, db *store.DB) *Env { return NewEnvOn(t, db, nil) }

// NewEnvOn is NewEnv on the Redis r (nil: storetest's default), for the
// suites storetest.ForEachRedis also runs on a Redis Cluster.
func NewEnvOn(t *testing.T, db *store.DB, r *store.Redis) *Env {
	t.Helper()
	var env *Env
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = env.Svc.HandleNotification(r.Context(), models.ChannelSandbox, w, r)
	}))
	t.Cleanup(srv.Close)
	env = New(t, db, Config{PublicURL: srv.URL, Redis: r})
	return env
}

type journey struct {
	env  *Env
	Sess people.Session
	Self contrib.Payable
}

// StartJourney logs in 张三明, enrols him as a flexible worker and returns his
// pension payable.
func StartJourney(t *testing.T, env *Env) journey {
	t.Helper()
	ctx := context.Background()
	me := Person(t, "张三明")
	sess := env.LoginVerified(t, "zhang", me.Name, me.IDNumber)
	en, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: people.PersonRef{Self: true},
		Scheme: models.SchemeFlexiblePension, RegionCode: "150100"})
	if err != nil {
		t.Fatal(err)
	}
	if en.ReceiptNo == "" || en.Status != "active" {
		t.Fatalf("enrolment %+v", en)
	}
	items, err := env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("want one payable, got %d", len(items))
	}
	return journey{env: env, Sess: sess, Self: items[0]}
}

// OpenOrder declares 张三明's payable at grade_100 and opens a sandbox
// order for it, as his requests would (ctx carries his session, see
// RequestContext).
func (j journey) OpenOrder(t *testing.T, ctx context.Context) (contrib.Declaration, contrib.Payment) {
	t.Helper()
	d, err := j.env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID, OptionCode: "grade_100"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := j.env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	return d, p
}

// Records lists the session user's contribution records.
func Records(t *testing.T, env *Env, sess people.Session) []contrib.Record {
	t.Helper()
	recs, err := env.Svc.ListRecords(context.Background(), sess.UserID, contrib.RecordFilter{Person: people.PersonRef{Self: true}})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Parallel runs fn n times at once and returns the errors.
func Parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return errs
}

// Count counts the rows of table matching where.
func Count(t *testing.T, db *store.DB, table string, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
