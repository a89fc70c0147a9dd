package servicetest

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

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// ---------------------------------------------------------------------------
// The rig: a service wired to the WeChat and Alipay fakes like
// NewChannelEnv, plus the levers the safety tests pull: a database outage,
// a network that can hang or interfere with channel calls, an Alipay fake
// whose clock can be moved forward (its bills appear at 10:00 the next day),
// short channel timeouts, and keys generated once per test binary (RSA
// generation under -race dominates an environment's cost otherwise).
// ---------------------------------------------------------------------------

// RigConfig sets the rig's levers before it starts.
type RigConfig struct {
	// retry is the fakes' notification schedule: nil for their defaults;
	// an empty slice makes WeChat Pay deliver nothing and Alipay try once
	// (rig.lose loses that attempt too).
	Retry []time.Duration
	// timeout bounds each channel call (default 2 s).
	Timeout time.Duration
}

// Rig is the environment as one test (or subtest) sees it: failures are
// reported on t.
type Rig struct {
	*rigState
	T *testing.T
}

// With is the same environment for a subtest.
func (r *Rig) With(t *testing.T) *Rig { return &Rig{rigState: r.rigState, T: t} }

type rigState struct {
	*Env
	notify   string      // base of the notify URLs the fakes post to
	AliClock *ShiftClock // the Alipay fake's clock: the wall clock, shifted
	WxNet    *hookTransport
	AliNet   *hookTransport
	dbDown   atomic.Bool // every statement fails while set (see down)
	outage   sync.Once
	Lose     atomic.Bool // the notify endpoint is unreachable: deliveries are lost
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

// NewRig starts a rig on db; it is closed when t ends.
func NewRig(t *testing.T, db *store.DB, cfg RigConfig) *Rig {
	t.Helper()
	sharedKeys()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	r := &Rig{T: t, rigState: &rigState{AliClock: &ShiftClock{}, WxNet: &hookTransport{}, AliNet: &hookTransport{}, settled: map[string]int{}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.Lose.Load() {
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

	wx := wechatfake.New(wechatfake.Options{Keys: rigKeys.wx, NotifyRetry: cfg.Retry})
	wx.Start()
	t.Cleanup(wx.Close)
	ali := alipayfake.New(alipayfake.Options{Clock: r.AliClock, NotifyRetry: cfg.Retry, AppKey: rigKeys.aliApp, AlipayKey: rigKeys.aliPlat})
	ali.Start()
	t.Cleanup(ali.Close)

	// The WeChat Pay SDK checks the fake's answers against the wall clock,
	// so the service clock starts at now (and moves only when told); the
	// channels and fakes stay on the wall clock, as in NewChannelEnv.
	r.Env = New(t, db, Config{PublicURL: srv.URL, Start: time.Now().UTC().Truncate(time.Second), WallClock: true,
		Mutate: func(d *service.Deps, _ *service.Options) {
			wc := wx.ClientConfig(r.notify + "wechatpay")
			wc.Templates = wechatfake.DefaultTemplates()
			wc.RequestTimeout = cfg.Timeout
			mp := wechat.NewMiniProgram(wc, d.Redis.Client, nil)
			pay, err := wechat.NewPay(context.Background(), wc, &http.Client{Transport: r.WxNet, Timeout: cfg.Timeout}, models.SystemClock{})
			if err != nil {
				t.Fatal(err)
			}
			ac := ali.ClientConfig(r.notify + "alipay")
			ac.RequestTimeout = cfg.Timeout
			ac2, err := alipay.New(ac, &http.Client{Transport: r.AliNet}, models.SystemClock{})
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

// Settlements is how many times orderNo was settled.
func (r *Rig) Settlements(orderNo string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settled[orderNo]
}

// ShiftClock is the wall clock moved forward by a settable amount.
type ShiftClock struct{ by atomic.Int64 }

func (c *ShiftClock) Now() time.Time        { return time.Now().Add(time.Duration(c.by.Load())) }
func (c *ShiftClock) Shift(d time.Duration) { c.by.Store(int64(d)) }

// hookTransport carries a channel client's calls to its fake. A hook sees
// each call's name (WeChat Pay: the URL path; Alipay: the method) and may
// act first (pay the order, as a payer racing us would) or hang the call
// until the client gives up, as a channel that stopped answering does.
type hookTransport struct {
	hook atomic.Pointer[func(call string) error]
}

// ErrHang makes a hook's call hang until the caller's deadline.
var ErrHang = errors.New("hang")

// Set installs fn as the hook; Clear removes it.
func (h *hookTransport) Set(fn func(call string) error) { h.hook.Store(&fn) }
func (h *hookTransport) Clear()                         { h.hook.Store(nil) }

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
	if err := (*fn)(name); errors.Is(err, ErrHang) {
		<-req.Context().Done()
		return nil, req.Context().Err()
	} else if err != nil {
		return nil, err
	}
	return http.DefaultTransport.RoundTrip(call)
}

// Down takes the database away from the service (every statement fails)
// or gives it back. Test assertions must run with the database up.
func (r *Rig) Down(on bool) {
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
				r.T.Fatal(err)
			}
		}
	})
	r.dbDown.Store(on)
}

// Declare logs a new payer in through channel, binds them to a person of
// their own, enrols that person as a flexible worker and declares their
// first open month.
func (r *Rig) Declare(channel string) (people.Session, string) {
	t := r.T
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

// Pay opens a new order for a declaration through channel's mini-program
// (or H5 cashier).
func (r *Rig) Pay(sess people.Session, declarationID, channel string, h5 bool) contrib.Payment {
	r.T.Helper()
	p, created, err := r.Svc.CreatePayment(context.Background(), sess, contrib.PayInput{DeclarationID: declarationID, Channel: channel, H5: h5})
	if err != nil || !created || p.Status != contrib.OrderPaying {
		r.T.Fatalf("createPayment through %s: %+v created=%v %v", channel, p, created, err)
	}
	return p
}

// OpenOrder is declare and pay: a new payer with an order paying.
func (r *Rig) OpenOrder(channel string, h5 bool) (people.Session, contrib.Payment) {
	r.T.Helper()
	sess, d := r.Declare(channel)
	return sess, r.Pay(sess, d, channel, h5)
}

// Status is an order's status in the database.
func (r *Rig) Status(orderNo string) string {
	r.T.Helper()
	var o store.OrderRow
	if err := r.DB.Gorm.Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
		r.T.Fatal(err)
	}
	return o.Status
}

// DeclStatus is the status of an order's declaration.
func (r *Rig) DeclStatus(declarationID string) string {
	r.T.Helper()
	var d store.DeclarationRow
	if err := r.DB.Gorm.Where("id = ?", declarationID).Take(&d).Error; err != nil {
		r.T.Fatal(err)
	}
	return d.Status
}

// WaitFor polls cond for up to 10 s.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// WechatAttempts and AlipayAttempts are the fakes' delivery attempts for
// one order: the answers the providers got.
func (r *Rig) WechatAttempts(orderNo string) (codes []int) {
	for _, d := range r.Wechat.Deliveries() {
		if d.Key == orderNo {
			codes = append(codes, d.Status)
		}
	}
	return codes
}

// LastAttempt is the HTTP status of the latest delivery attempt.
func (r *Rig) LastAttempt(channel, orderNo string) int {
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

// AlipayAttempts lists, for each Alipay notification delivery of an order,
// whether the service accepted it.
func (r *Rig) AlipayAttempts(orderNo string) (accepted []bool) {
	for _, d := range r.Alipay.Deliveries() {
		if d.OrderNo == orderNo {
			accepted = append(accepted, d.Accepted)
		}
	}
	return accepted
}

// CloseHere does in the database what closing an order does (order closed,
// declaration given back), as if our close had raced the payer's payment.
func (r *Rig) CloseHere(p contrib.Payment) {
	r.T.Helper()
	db := r.DB.Gorm
	now := r.Clock.Now()
	for _, err := range []error{
		db.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).Updates(map[string]any{"status": contrib.OrderClosed, "closed_at": now}).Error,
		db.Model(&store.DeclarationRow{}).Where("id = ?", p.DeclarationID).Updates(map[string]any{"status": contrib.DeclOpen, "order_no": ""}).Error,
		db.Model(&store.ClaimRow{}).Where("declaration_id = ? AND state = ?", p.DeclarationID, contrib.ClaimPaying).Update("state", contrib.ClaimDeclared).Error,
	} {
		if err != nil {
			r.T.Fatal(err)
		}
	}
}
