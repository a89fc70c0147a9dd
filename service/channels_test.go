package service_test

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
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// newChannelEnv builds a service with WeChat and Alipay against their
// fakes; notifications reach the service's real notify handling over HTTP.
func newChannelEnv(t *testing.T, db *store.DB, retry []time.Duration) *servicetest.Env {
	t.Helper()
	var env *servicetest.Env
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
	env = servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Wechat: true, Alipay: true, NotifyRetry: retry,
		Start: time.Now().UTC().Truncate(time.Second), WallClock: true})
	return env
}

// channelJourney logs in through channel, binds 张三明, enrols him and
// opens an order for the first open month through that channel.
func channelJourney(t *testing.T, env *servicetest.Env, channel, code string, h5 bool) (people.Session, contrib.Payment) {
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
	me := servicetest.Person(t, "张三明")
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

// waitPaid polls the database (not the channel) until the order is paid
// by its notification.
func waitPaid(t *testing.T, db *store.DB, orderNo string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if count(t, db, "orders", "order_no = ? AND status = ?", orderNo, "paid") == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("order %s was not settled by its notification", orderNo)
}

func TestPayingThroughWechatEndToEnd(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := newChannelEnv(t, db, nil)
		sess, p := channelJourney(t, env, models.ChannelWechat, "wx-code-1", false)
		for _, k := range []string{"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"} {
			if p.PayParams[k] == "" {
				t.Fatalf("pay_params lacks %s: %v", k, p.PayParams)
			}
		}
		if err := env.Wechat.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		waitPaid(t, db, p.OrderNo)
		recs := records(t, env, sess)
		if len(recs) != 1 || recs[0].Status != "paid" || recs[0].AmountFen != p.AmountFen {
			t.Fatalf("records %+v", recs)
		}
	})
}

func TestPayingThroughAlipayEndToEnd(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := newChannelEnv(t, db, nil)
		sess, p := channelJourney(t, env, models.ChannelAlipay, "ali-code-1", false)
		if p.PayParams["trade_no"] == "" {
			t.Fatalf("pay_params %v", p.PayParams)
		}
		if err := env.Alipay.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		waitPaid(t, db, p.OrderNo)
		if recs := records(t, env, sess); len(recs) != 1 || recs[0].Status != "paid" {
			t.Fatalf("records %+v", recs)
		}
	})
}

// TestAWechatUserBindsTheirPhoneFromAGetPhoneNumberCode: the phone is read
// from WeChat server-side and shown only masked.
func TestAWechatUserBindsTheirPhoneFromAGetPhoneNumberCode(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := newChannelEnv(t, db, nil)
	ctx := context.Background()
	env.Wechat.AddPhone("phone-code-1", "13912345678")
	res, err := env.Svc.Login(ctx, models.ChannelWechat, "wx-phone")
	if err != nil {
		t.Fatal(err)
	}
	me := servicetest.Person(t, "张三明")
	u, err := env.Svc.VerifyIdentity(ctx, res.User.UserID, people.IdentityInput{Name: me.Name, IDNumber: me.IDNumber, PhoneCode: "phone-code-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.PhoneMasked != "139****5678" {
		t.Fatalf("phone %q", u.PhoneMasked)
	}
}
