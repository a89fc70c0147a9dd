package servicetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// NewChannelEnv builds a service with WeChat and Alipay against their
// fakes; notifications reach the service's real notify handling over HTTP.
func NewChannelEnv(t *testing.T, db *store.DB, retry []time.Duration) *Env {
	t.Helper()
	var env *Env
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := strings.TrimPrefix(r.URL.Path, "/api/v1/notify/")
		if ch == "wechatpay" {
			ch = models.ChannelWechat
		}
		if err := env.Svc.HandleNotification(r.Context(), ch, w, r); err != nil {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	// The WeChat Pay SDK checks the fake's answers against the wall clock,
	// so these tests run the service clock from now (fixed thereafter).
	env = New(t, db, Config{PublicURL: srv.URL, Wechat: true, Alipay: true, NotifyRetry: retry,
		Start: time.Now().UTC().Truncate(time.Second), WallClock: true})
	return env
}

// ChannelJourney logs in through channel, binds 张三明, enrols him and
// opens an order for the first open month through that channel.
func ChannelJourney(t *testing.T, env *Env, channel, code string, h5 bool) (people.Session, contrib.Payment) {
	t.Helper()
	ctx := context.Background()
	res, err := env.Svc.Login(ctx, channel, code)
	if err != nil {
		t.Fatalf("login through %s: %v", channel, err)
	}
	sess, err := env.Svc.Authenticate(ctx, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	me := Person(t, "张三明")
	if _, err := env.Svc.VerifyIdentity(ctx, sess.UserID, people.IdentityInput{Name: me.Name, IDNumber: me.IDNumber}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: people.PersonRef{Self: true},
		Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil && err != models.ErrAlreadyEnrolled {
		t.Fatal(err)
	}
	pbs, err := env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pbs[0].PayableID, OptionCode: "grade_60", PeriodTo: pbs[0].PeriodFrom})
	if err != nil {
		t.Fatal(err)
	}
	p, created, err := env.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: channel, H5: h5})
	if err != nil || !created || p.Status != contrib.OrderPaying {
		t.Fatalf("createPayment through %s: %+v %v", channel, p, err)
	}
	return sess, p
}

// WaitPaid polls the database (not the channel) until the order is paid
// by its notification.
func WaitPaid(t *testing.T, db *store.DB, orderNo string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if Count(t, db, "orders", "order_no = ? AND status = ?", orderNo, "paid") == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("order %s was not settled by its notification", orderNo)
}
