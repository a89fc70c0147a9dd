package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// ---------------------------------------------------------------------------
// The rig: a service wired to the WeChat and Alipay fakes like
// newChannelEnv, plus the levers the safety tests pull: a database outage,
// a network that can hang or interfere with channel calls, an Alipay fake
// whose clock can be moved forward (its bills appear at 10:00 the next day),
// short channel timeouts, and keys generated once per test binary (RSA
// generation under -race dominates an environment's cost otherwise).
// ---------------------------------------------------------------------------

type rigConfig struct {
	// retry is the fakes' notification schedule: nil for their defaults;
	// an empty slice makes WeChat Pay deliver nothing and Alipay try once
	// (rig.lose loses that attempt too).
	retry []time.Duration
	// timeout bounds each channel call (default 2 s).
	timeout time.Duration
}

// rig is the environment as one test (or subtest) sees it: failures are
// reported on t.
type rig struct {
	*rigState
	t *testing.T
}

// with is the same environment for a subtest.
func (r *rig) with(t *testing.T) *rig { return &rig{rigState: r.rigState, t: t} }

type rigState struct {
	*servicetest.Env
	notify   string      // base of the notify URLs the fakes post to
	aliClock *shiftClock // the Alipay fake's clock: the wall clock, shifted
	wxNet    *hookTransport
	aliNet   *hookTransport
	dbDown   atomic.Bool // every statement fails while set (see down)
	outage   sync.Once
	lose     atomic.Bool // the notify endpoint is unreachable: deliveries are lost
	payers   atomic.Int32

	mu      sync.Mutex
	settled map[string]int // order number → times the service settled it
}

var rigKeys struct {
	once            sync.Once
	wx              *wechatfake.Keys
	aliApp, aliPlat *rsa.PrivateKey
}

func sharedKeys() {
	rigKeys.once.Do(func() {
		var err error
		if rigKeys.wx, err = wechatfake.GenerateKeys(); err != nil {
			panic(err)
		}
		if rigKeys.aliApp, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rigKeys.aliPlat, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
}

func newRig(t *testing.T, db *store.DB, cfg rigConfig) *rig {
	t.Helper()
	sharedKeys()
	if cfg.timeout == 0 {
		cfg.timeout = 2 * time.Second
	}
	r := &rig{t: t, rigState: &rigState{aliClock: &shiftClock{}, wxNet: &hookTransport{}, aliNet: &hookTransport{}, settled: map[string]int{}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.lose.Load() {
			http.Error(w, "unreachable", http.StatusBadGateway)
			return
		}
		ch := strings.TrimPrefix(req.URL.Path, "/api/v1/notify/")
		if ch == "wechatpay" {
			ch = models.ChannelWechat
		}
		if err := r.Svc.HandleNotification(req.Context(), ch, w, req); err != nil {
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	r.notify = srv.URL + "/api/v1/notify/"

	wx := wechatfake.New(wechatfake.Options{Keys: rigKeys.wx, NotifyRetry: cfg.retry})
	wx.Start()
	t.Cleanup(wx.Close)
	ali := alipayfake.New(alipayfake.Options{Clock: r.aliClock, NotifyRetry: cfg.retry, AppKey: rigKeys.aliApp, AlipayKey: rigKeys.aliPlat})
	ali.Start()
	t.Cleanup(ali.Close)

	// The WeChat Pay SDK checks the fake's answers against the wall clock,
	// so the service clock starts at now (and moves only when told); the
	// channels and fakes stay on the wall clock, as in newChannelEnv.
	r.Env = servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Start: time.Now().UTC().Truncate(time.Second), WallClock: true,
		Mutate: func(d *service.Deps, _ *service.Options) {
			wc := wx.ClientConfig(r.notify + "wechatpay")
			wc.Templates = wechatfake.DefaultTemplates()
			wc.RequestTimeout = cfg.timeout
			mp := wechat.NewMiniProgram(wc, d.Redis.Client, nil)
			pay, err := wechat.NewPay(context.Background(), wc, &http.Client{Transport: r.wxNet, Timeout: cfg.timeout}, models.SystemClock{})
			if err != nil {
				t.Fatal(err)
			}
			ac := ali.ClientConfig(r.notify + "alipay")
			ac.RequestTimeout = cfg.timeout
			ac2, err := alipay.New(ac, &http.Client{Transport: r.aliNet}, models.SystemClock{})
			if err != nil {
				t.Fatal(err)
			}
			d.Logins[models.ChannelWechat], d.Payments[models.ChannelWechat] = mp, pay
			d.Messengers = map[string]models.MessageSender{models.ChannelWechat: mp}
			d.Logins[models.ChannelAlipay], d.Payments[models.ChannelAlipay] = ac2, ac2
		}})
	r.Wechat, r.Alipay = wx, ali
	// Every settlement (and only a settlement) tells OnPaid.
	r.Svc.OnPaid = func(_ context.Context, orderNo string) {
		r.mu.Lock()
		r.settled[orderNo]++
		r.mu.Unlock()
	}
	return r
}

// settlements is how many times orderNo was settled.
func (r *rig) settlements(orderNo string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settled[orderNo]
}

// shiftClock is the wall clock moved forward by a settable amount.
type shiftClock struct{ by atomic.Int64 }

func (c *shiftClock) Now() time.Time        { return time.Now().Add(time.Duration(c.by.Load())) }
func (c *shiftClock) Shift(d time.Duration) { c.by.Store(int64(d)) }

var _ models.Clock = (*shiftClock)(nil)

// hookTransport carries a channel client's calls to its fake. A hook sees
// each call's name (WeChat Pay: the URL path; Alipay: the method) and may
// act first (pay the order, as a payer racing us would) or hang the call
// until the client gives up, as a channel that stopped answering does.
type hookTransport struct {
	hook atomic.Pointer[func(call string) error]
}

// errHang makes a hook's call hang until the caller's deadline.
var errHang = errors.New("hang")

func (h *hookTransport) set(fn func(call string) error) { h.hook.Store(&fn) }
func (h *hookTransport) clear()                         { h.hook.Store(nil) }

func (h *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	fn := h.hook.Load()
	if fn == nil {
		return http.DefaultTransport.RoundTrip(req)
	}
	call := req.Clone(req.Context())
	name := req.URL.Path
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		call.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("method") != "" {
			name = form.Get("method")
		}
	}
	if m := req.URL.Query().Get("method"); m != "" {
		name = m
	}
	if err := (*fn)(name); errors.Is(err, errHang) {
		<-req.Context().Done()
		return nil, req.Context().Err()
	} else if err != nil {
		return nil, err
	}
	return http.DefaultTransport.RoundTrip(call)
}

// down takes the database away from the service (every statement fails)
// or gives it back. Test assertions must run with the database up.
func (r *rig) down(on bool) {
	r.outage.Do(func() {
		fail := func(tx *gorm.DB) {
			if r.dbDown.Load() {
				_ = tx.AddError(errors.New("simulated outage: connection refused"))
			}
		}
		cb := r.DB.Gorm.Callback()
		for _, err := range []error{
			cb.Create().Before("*").Register("test:outage", fail),
			cb.Query().Before("*").Register("test:outage", fail),
			cb.Update().Before("*").Register("test:outage", fail),
			cb.Delete().Before("*").Register("test:outage", fail),
			cb.Row().Before("*").Register("test:outage", fail),
			cb.Raw().Before("*").Register("test:outage", fail),
		} {
			if err != nil {
				r.t.Fatal(err)
			}
		}
	})
	r.dbDown.Store(on)
}

// declare logs a new payer in through channel, binds them to a person of
// their own, enrols that person as a flexible worker and declares their
// first open month.
func (r *rig) declare(channel string) (people.Session, string) {
	t := r.t
	t.Helper()
	ctx := context.Background()
	n := int(r.payers.Add(1))
	res, err := r.Svc.Login(ctx, channel, fmt.Sprintf("%s-payer-%d", channel, n))
	if err != nil {
		t.Fatalf("login through %s: %v", channel, err)
	}
	sess, err := r.Svc.Authenticate(ctx, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	name := "付" + string([]rune("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥")[n%22]) + "明"
	id := models.MakeIDNumber("150102", time.Date(1980+n%15, time.Month(1+n%12), 1+n%28, 0, 0, 0, 0, time.UTC), 100+n)
	if _, err := r.Svc.VerifyIdentity(ctx, sess.UserID, people.IdentityInput{Name: name, IDNumber: id}); err != nil {
		t.Fatalf("verify %s %s: %v", name, id, err)
	}
	if _, err := r.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: people.PersonRef{Self: true},
		Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
		t.Fatal(err)
	}
	pbs, err := r.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true})
	if err != nil || len(pbs) == 0 {
		t.Fatalf("payables %v %v", pbs, err)
	}
	d, err := r.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pbs[0].PayableID, OptionCode: "grade_60", PeriodTo: pbs[0].PeriodFrom})
	if err != nil {
		t.Fatal(err)
	}
	return sess, d.DeclarationID
}

// pay opens a new order for a declaration through channel's mini-program
// (or H5 cashier).
func (r *rig) pay(sess people.Session, declarationID, channel string, h5 bool) contrib.Payment {
	r.t.Helper()
	p, created, err := r.Svc.CreatePayment(context.Background(), sess, contrib.PayInput{DeclarationID: declarationID, Channel: channel, H5: h5})
	if err != nil || !created || p.Status != contrib.OrderPaying {
		r.t.Fatalf("createPayment through %s: %+v created=%v %v", channel, p, created, err)
	}
	return p
}

// openOrder is declare and pay: a new payer with an order paying.
func (r *rig) openOrder(channel string, h5 bool) (people.Session, contrib.Payment) {
	r.t.Helper()
	sess, d := r.declare(channel)
	return sess, r.pay(sess, d, channel, h5)
}

// status is an order's status in the database.
func (r *rig) status(orderNo string) string {
	r.t.Helper()
	var o store.OrderRow
	if err := r.DB.Gorm.Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
		r.t.Fatal(err)
	}
	return o.Status
}

// declStatus is the status of an order's declaration.
func (r *rig) declStatus(declarationID string) string {
	r.t.Helper()
	var d store.DeclarationRow
	if err := r.DB.Gorm.Where("id = ?", declarationID).Take(&d).Error; err != nil {
		r.t.Fatal(err)
	}
	return d.Status
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// fastRetry is a provider schedule compressed to a few seconds.
func fastRetry() []time.Duration {
	d := []time.Duration{0}
	for i := 0; i < 40; i++ {
		d = append(d, 150*time.Millisecond)
	}
	return d
}

// wechatAttempts and alipayAttempts are the fakes' delivery attempts for
// one order: the answers the providers got.
func (r *rig) wechatAttempts(orderNo string) (codes []int) {
	for _, d := range r.Wechat.Deliveries() {
		if d.Key == orderNo {
			codes = append(codes, d.Status)
		}
	}
	return codes
}

// lastAttempt is the HTTP status of the latest delivery attempt.
func (r *rig) lastAttempt(channel, orderNo string) int {
	status := -1
	if channel == models.ChannelWechat {
		for _, d := range r.Wechat.Deliveries() {
			if d.Key == orderNo {
				status = d.Status
			}
		}
		return status
	}
	for _, d := range r.Alipay.Deliveries() {
		if d.OrderNo == orderNo {
			status = d.Status
		}
	}
	return status
}

func (r *rig) alipayAttempts(orderNo string) (accepted []bool) {
	for _, d := range r.Alipay.Deliveries() {
		if d.OrderNo == orderNo {
			accepted = append(accepted, d.Accepted)
		}
	}
	return accepted
}

func TestANotificationArrivingWhileTheDatabaseIsDownIsRefusedAndItsRetrySettlesOnceTheDatabaseIsBack(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, rigConfig{retry: fastRetry()})
		_, wp := r.openOrder(models.ChannelWechat, false)
		_, ap := r.openOrder(models.ChannelAlipay, false)

		r.down(true)
		// What the providers are told while the database is down: retry.
		h, b, err := r.Wechat.Notification(wp.OrderNo)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := r.postWechat(h, b); !wechatRetries(code, body) {
			t.Fatalf("wechat notification during the outage answered %d %q, want 5xx FAIL", code, body)
		}
		if code, body := r.postAlipay(r.Alipay.Notification(ap.OrderNo)); body == "success" {
			t.Fatalf("alipay notification during the outage answered %d %q", code, body)
		}
		// Even one that settles nothing is acknowledged only once recorded.
		fh, fb, err := r.Wechat.ForeignNotification(wp.OrderNo, "", "1999999999")
		if err != nil {
			t.Fatal(err)
		}
		if code, body := r.postWechat(fh, fb); !wechatRetries(code, body) {
			t.Fatalf("foreign notification during the outage answered %d %q, want 5xx FAIL", code, body)
		}
		// The payers pay; the providers deliver, are refused, and retry.
		if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "refused deliveries", func() bool {
			return len(r.wechatAttempts(wp.OrderNo)) >= 2 && len(r.alipayAttempts(ap.OrderNo)) >= 2
		})
		// Database back, notify endpoint briefly cut off: nothing of the
		// refused deliveries was kept. (Once each provider has been turned
		// away at the cut, no attempt from the outage is still in flight.)
		r.lose.Store(true)
		waitFor(t, "deliveries turned away at the cut", func() bool {
			return r.lastAttempt(models.ChannelWechat, wp.OrderNo) == http.StatusBadGateway &&
				r.lastAttempt(models.ChannelAlipay, ap.OrderNo) == http.StatusBadGateway
		})
		r.down(false)
		for _, o := range []string{wp.OrderNo, ap.OrderNo} {
			r.unsettled(o)
			if n := count(t, db, "notifications", "order_no = ?", o); n != 0 {
				t.Fatalf("%d notification rows kept for %s from the outage", n, o)
			}
		}
		if code, body := r.postWechat(fh, fb); !wechatAcked(code) || r.anomalies(models.ChannelWechat, "foreign_notification", wp.OrderNo) != 1 {
			t.Fatalf("foreign notification after the outage answered %d %q; want it recorded once and acknowledged", code, body)
		}
		r.lose.Store(false)
		if err := r.Wechat.WaitDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
		r.Alipay.Drain()
		for _, o := range []string{wp.OrderNo, ap.OrderNo} {
			r.settledOnce(o)
			if n := count(t, db, "notifications", "order_no = ?", o); n != 1 {
				t.Fatalf("%d notification rows for %s", n, o)
			}
		}
		// Every attempt before the last was refused; the last was
		// acknowledged, and so the provider stopped.
		wc := r.wechatAttempts(wp.OrderNo)
		for i, c := range wc {
			if last := i == len(wc)-1; last != wechatAcked(c) {
				t.Fatalf("wechat delivery answers %v: only the last may be 200/204", wc)
			}
		}
		ac := r.alipayAttempts(ap.OrderNo)
		for i, ok := range ac {
			if last := i == len(ac)-1; last != ok {
				t.Fatalf("alipay delivery answers %v: only the last may be success", ac)
			}
		}
	})
}

// notificationsSettleAndPaymentsShowWhileRedisIsDown closes the rig's
// Redis client for good: it must run last on its rig.
func notificationsSettleAndPaymentsShowWhileRedisIsDown(r *rig) {
	t, ctx := r.t, context.Background()
	ws, wp := r.openOrder(models.ChannelWechat, false)
	as, ap := r.openOrder(models.ChannelAlipay, false)
	// Redis goes away (every command now fails at once).
	if err := r.Redis.Client.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Redis.Client.Ping(ctx).Err(); err == nil {
		t.Fatal("redis still answers")
	}
	if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	h, b, err := r.Wechat.Notification(wp.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := r.postWechat(h, b); !wechatAcked(code) {
		t.Fatalf("wechat notification without redis answered %d %q, want 200/204", code, body)
	}
	if code, body := r.postAlipay(r.Alipay.Notification(ap.OrderNo)); body != "success" {
		t.Fatalf("alipay notification without redis answered %d %q, want success", code, body)
	}
	r.settledOnce(wp.OrderNo)
	r.settledOnce(ap.OrderNo)
	// The payer's polling falls back to the database.
	for _, c := range []struct {
		sess people.Session
		p    contrib.Payment
	}{{ws, wp}, {as, ap}} {
		got, err := r.Svc.GetPayment(ctx, c.sess.UserID, c.p.OrderNo)
		if err != nil || got.Status != contrib.OrderPaid {
			t.Fatalf("getPayment without redis: %+v %v", got, err)
		}
	}
}

func TestAChannelThatTimesOutOrFailsLeavesTheOrderPayingUntilItAnswers(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, rigConfig{retry: []time.Duration{}, timeout: time.Second})
		r.lose.Store(true)
		ws, wp := r.openOrder(models.ChannelWechat, false)
		as, ap := r.openOrder(models.ChannelAlipay, false)
		poll := func(sess people.Session, orderNo, fault string) {
			t.Helper()
			_ = r.Redis.Client.Del(ctx, "lb:order:{"+orderNo+"}:q") // the poll reaches the channel
			got, err := r.Svc.GetPayment(ctx, sess.UserID, orderNo)
			if err != nil || got.Status != contrib.OrderPaying {
				t.Fatalf("getPayment with %s: %+v %v, want paying", fault, got.Status, err)
			}
		}
		hangQueries := func(call string) error {
			if call == "alipay.trade.query" || strings.HasPrefix(call, "/v3/pay/transactions/out-trade-no/") {
				return errHang
			}
			return nil
		}

		// The payer polls while the channels misbehave.
		r.wxNet.set(hangQueries)
		poll(ws, wp.OrderNo, "a wechat query that times out")
		r.wxNet.clear()
		r.Wechat.FailNextPayCalls(1)
		poll(ws, wp.OrderNo, "a wechat query answered 500 SYSTEM_ERROR")
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Delay: 3 * time.Second})
		poll(as, ap.OrderNo, "an alipay query that times out")
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Status: http.StatusBadGateway, Body: "<html>502 Bad Gateway</html>"})
		poll(as, ap.OrderNo, "an alipay gateway answering 502")
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Code: "20000", SubCode: "isp.unknow-error", SubMsg: "系统繁忙"})
		poll(as, ap.OrderNo, "an alipay query answered isp.unknow-error")

		// Past expiry the worker would close them, but not on an unknown
		// answer: a payer may have paid.
		r.Clock.Advance(31 * time.Minute)
		r.wxNet.set(hangQueries)
		r.aliNet.set(hangQueries)
		r.Svc.WorkOnce(ctx)
		r.Clock.Advance(3 * time.Minute) // past the next query
		r.wxNet.clear()
		r.aliNet.clear()
		r.Wechat.FailNextPayCalls(1)
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Code: "20000", SubCode: "isp.unknow-error", SubMsg: "系统繁忙"})
		r.Svc.WorkOnce(ctx)
		for _, p := range []contrib.Payment{wp, ap} {
			if st := r.status(p.OrderNo); st != contrib.OrderPaying {
				t.Fatalf("order %s is %s after unanswered queries, want paying", p.OrderNo, st)
			}
			if st := r.declStatus(p.DeclarationID); st != "paying" {
				t.Fatalf("declaration of %s is %s, want paying", p.OrderNo, st)
			}
		}
		if o, _ := r.Wechat.Order(wp.OrderNo); o.State != "NOTPAY" {
			t.Fatalf("wechat order closed at the channel on an unknown answer: %s", o.State)
		}
		if tr, _ := r.Alipay.Trade(ap.OrderNo); tr.Status != "WAIT_BUYER_PAY" {
			t.Fatalf("alipay trade closed at the channel on an unknown answer: %s", tr.Status)
		}

		// Once the channels answer "not paid", the next pass closes both.
		r.Clock.Advance(6 * time.Minute)
		r.Svc.WorkOnce(ctx)
		for _, p := range []contrib.Payment{wp, ap} {
			if st := r.status(p.OrderNo); st != contrib.OrderClosed {
				t.Fatalf("order %s is %s once the channel answered, want closed", p.OrderNo, st)
			}
		}
	})
}

func TestWithoutNotificationsTheWorkerFindsPaymentsByQueryAndClosesAbandonedOrders(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, rigConfig{retry: []time.Duration{}})
		r.lose.Store(true) // no notification ever arrives
		_, wPaid := r.openOrder(models.ChannelWechat, false)
		_, aPaid := r.openOrder(models.ChannelAlipay, true)
		wSess, wLeft := r.openOrder(models.ChannelWechat, false)
		aSess, aLeft := r.openOrder(models.ChannelAlipay, false)
		// An order whose prepay never reached WeChat Pay.
		uSess, uDecl := r.declare(models.ChannelWechat)
		r.Wechat.FailNextPayCalls(1)
		if _, _, err := r.Svc.CreatePayment(ctx, uSess, contrib.PayInput{DeclarationID: uDecl, Channel: models.ChannelWechat}); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("createPayment with WeChat Pay failing: %v, want unavailable", err)
		}
		var unsent store.OrderRow
		if err := db.Gorm.Where("declaration_id = ?", uDecl).Take(&unsent).Error; err != nil || unsent.Status != contrib.OrderCreated {
			t.Fatalf("order of the failed prepay: %+v %v", unsent, err)
		}
		// An order the channel reports paid for another amount than ours
		// (here our amount is changed after the prepay).
		_, wOther := r.openOrder(models.ChannelWechat, false)
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", wOther.OrderNo).Update("amount_fen", wOther.AmountFen+1).Error; err != nil {
			t.Fatal(err)
		}
		if err := r.Wechat.Pay(wOther.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		// The H5 trade exists at Alipay once the payer opens the URL.
		if err := r.Alipay.Pay(aPaid.OrderNo, true); err == nil {
			t.Fatal("an H5 order was payable before its URL was opened")
		}
		if resp, err := http.Get(aPaid.PayParams["url"]); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("opening the H5 cashier: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		if err := r.Wechat.Pay(wPaid.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if err := r.Alipay.Pay(aPaid.OrderNo, true); err != nil {
			t.Fatal(err)
		}

		queries := func() int { return r.Alipay.Calls("alipay.trade.query") }
		r.Svc.WorkOnce(ctx)
		if queries() != 0 || r.status(wPaid.OrderNo) != contrib.OrderPaying {
			t.Fatalf("the worker queried within the first minute (%d alipay queries)", queries())
		}
		r.Clock.Advance(61 * time.Second)
		r.Svc.WorkOnce(ctx)
		r.settledOnce(wPaid.OrderNo)
		r.settledOnce(aPaid.OrderNo)
		if n := count(t, db, "notifications", "order_no IN ?", []string{wPaid.OrderNo, aPaid.OrderNo}); n != 0 {
			t.Fatalf("settled by query, yet %d notification rows", n)
		}
		// The unpaid ones are asked again on a back-off schedule: not at
		// 2 minutes, but by 3 (a minute, then two more).
		if queries() != 2 {
			t.Fatalf("%d alipay queries at 1 minute, want 2", queries())
		}
		r.Clock.Advance(60 * time.Second)
		r.Svc.WorkOnce(ctx)
		if queries() != 2 {
			t.Fatalf("%d alipay queries at 2 minutes, want still 2", queries())
		}
		// The order paid for another amount is not settled: it is held (no
		// longer followed, its declaration given back), with one anomaly
		// saying what the channel took, not one a pass.
		if st := r.status(wOther.OrderNo); st != contrib.OrderHeld {
			t.Fatalf("the order paid for another amount is %s, want held", st)
		}
		if n := count(t, db, "records", "order_no = ?", wOther.OrderNo); n != 0 || r.settlements(wOther.OrderNo) != 0 {
			t.Fatalf("%d records for the order paid for another amount", n)
		}
		if st := r.declStatus(wOther.DeclarationID); st != contrib.DeclOpen {
			t.Fatalf("its declaration is %s, want open", st)
		}
		if n := r.anomalies(models.ChannelWechat, "amount_mismatch", wOther.OrderNo); n != 1 {
			t.Fatalf("%d amount_mismatch anomalies for %s after two passes, want 1", n, wOther.OrderNo)
		}
		r.Clock.Advance(62 * time.Second)
		r.Svc.WorkOnce(ctx)
		if queries() != 3 {
			t.Fatalf("%d alipay queries at 3 minutes, want 3", queries())
		}
		for _, o := range []string{wLeft.OrderNo, aLeft.OrderNo, unsent.OrderNo} {
			if st := r.status(o); st != contrib.OrderPaying && st != contrib.OrderCreated {
				t.Fatalf("order %s is %s before its expiry", o, st)
			}
		}

		// Past expiry the abandoned orders are closed at the channel and
		// here, and their declarations can be paid again.
		r.Clock.Advance(30 * time.Minute)
		r.Svc.WorkOnce(ctx)
		for _, c := range []struct {
			sess    people.Session
			order   string
			decl    string
			channel string
		}{{wSess, wLeft.OrderNo, wLeft.DeclarationID, models.ChannelWechat}, {aSess, aLeft.OrderNo, aLeft.DeclarationID, models.ChannelAlipay},
			{uSess, unsent.OrderNo, uDecl, models.ChannelWechat}} {
			if st := r.status(c.order); st != contrib.OrderClosed {
				t.Fatalf("abandoned %s order %s is %s, want closed", c.channel, c.order, st)
			}
			if st := r.declStatus(c.decl); st != contrib.DeclOpen {
				t.Fatalf("declaration of closed order %s is %s, want open", c.order, st)
			}
			again := r.pay(c.sess, c.decl, c.channel, false)
			if again.OrderNo == c.order {
				t.Fatalf("paying again reused the closed order %s", c.order)
			}
		}
		if o, _ := r.Wechat.Order(wLeft.OrderNo); o.State != "CLOSED" {
			t.Fatalf("wechat order %s is %s at the channel, want CLOSED", wLeft.OrderNo, o.State)
		}
		if tr, _ := r.Alipay.Trade(aLeft.OrderNo); tr.Status != "TRADE_CLOSED" {
			t.Fatalf("alipay trade %s is %s at the channel, want TRADE_CLOSED", aLeft.OrderNo, tr.Status)
		}
	})
}

func TestAPaymentMadeBetweenTheLastQueryAndTheCloseIsSettledNotClosed(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, rigConfig{retry: []time.Duration{}})
		r.lose.Store(true)
		_, wp := r.openOrder(models.ChannelWechat, false)
		_, ap := r.openOrder(models.ChannelAlipay, false)
		// The worker's query finds each order unpaid; the payer pays just
		// before the close reaches the channel, which refuses it (WeChat
		// ORDERPAID; Alipay ACQ.TRADE_STATUS_ERROR, then a query).
		var wOnce, aOnce sync.Once
		var payErr atomic.Value
		r.wxNet.set(func(call string) error {
			if call == "/v3/pay/transactions/out-trade-no/"+wp.OrderNo+"/close" {
				wOnce.Do(func() {
					if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
						payErr.Store(err)
					}
				})
			}
			return nil
		})
		r.aliNet.set(func(call string) error {
			if call == "alipay.trade.close" {
				aOnce.Do(func() {
					if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
						payErr.Store(err)
					}
				})
			}
			return nil
		})
		r.Clock.Advance(31 * time.Minute)
		r.Svc.WorkOnce(ctx)
		if err := payErr.Load(); err != nil {
			t.Fatal(err)
		}
		if r.Alipay.Calls("alipay.trade.close") != 1 {
			t.Fatal("the worker did not try to close the alipay order")
		}
		for _, p := range []contrib.Payment{wp, ap} {
			r.settledOnce(p.OrderNo)
			if st := r.declStatus(p.DeclarationID); st != contrib.DeclPaid {
				t.Fatalf("declaration of %s is %s, want paid", p.OrderNo, st)
			}
		}
		if o, _ := r.Wechat.Order(wp.OrderNo); o.State != "SUCCESS" {
			t.Fatalf("wechat order is %s", o.State)
		}
	})
}

func anOrderClosedHereButPaidAtTheChannelIsSettledByItsNotification(r *rig) {
	t := r.t
	for _, channel := range []string{models.ChannelWechat, models.ChannelAlipay} {
		_, p := r.openOrder(channel, false)
		if channel == models.ChannelWechat {
			if err := r.Wechat.Pay(p.OrderNo, true); err != nil {
				t.Fatal(err)
			}
		} else if err := r.Alipay.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		r.closeHere(p)
		if channel == models.ChannelWechat {
			h, b, err := r.Wechat.Notification(p.OrderNo)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := r.postWechat(h, b); !wechatAcked(code) {
				t.Fatalf("answered %d %q", code, body)
			}
		} else if code, body := r.postAlipay(r.Alipay.Notification(p.OrderNo)); body != "success" {
			t.Fatalf("answered %d %q", code, body)
		}
		r.settledOnce(p.OrderNo)
		if st := r.declStatus(p.DeclarationID); st != contrib.DeclPaid {
			t.Fatalf("declaration of %s is %s, want paid", p.OrderNo, st)
		}
	}
}

// closeHere does in the database what closing an order does (order closed,
// declaration given back), as if our close had raced the payer's payment.
func (r *rig) closeHere(p contrib.Payment) {
	r.t.Helper()
	db := r.DB.Gorm
	now := r.Clock.Now()
	for _, err := range []error{
		db.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).Updates(map[string]any{"status": contrib.OrderClosed, "closed_at": now}).Error,
		db.Model(&store.DeclarationRow{}).Where("id = ?", p.DeclarationID).Updates(map[string]any{"status": contrib.DeclOpen, "order_no": ""}).Error,
		db.Model(&store.ClaimRow{}).Where("declaration_id = ? AND state = ?", p.DeclarationID, contrib.ClaimPaying).Update("state", contrib.ClaimDeclared).Error,
	} {
		if err != nil {
			r.t.Fatal(err)
		}
	}
}
