package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// Test微信城市服务: an H5 user inside WeChat logs in through the official
// account's web OAuth, pays by WeChat Pay JSAPI under the official
// account's appid at the fake, and the fake's notification settles the
// order through the one WeChat Pay notify route; a notification naming an
// appid we do not have settles nothing.
func Test微信城市服务LoginAndJSAPIPayment(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var s *handlers.Server
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Wechat: true,
			NotifyRetry: []time.Duration{0, 200 * time.Millisecond, time.Second},
			Start:       time.Now().UTC().Truncate(time.Second), WallClock: true})
		s = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
		cl := apitest.Load(t).Client(t, s)
		fake := env.Wechat

		// Login: a good code once with its state, then the same code
		// again (with a fresh state), then a bad one.
		var login struct {
			Token string
			User  struct {
				Channel string `json:"channel"`
			}
		}
		if st := cl.DoJSON("POST", "/api/v1/sessions/wechat-web", "", map[string]string{"code": "h5-code-1", "state": wechatWebState(t, cl)}, &login); st != 201 {
			t.Fatalf("wechat-web login: %d", st)
		}
		if login.User.Channel != "wechat_web" {
			t.Fatalf("user channel %q", login.User.Channel)
		}
		if r := cl.Send("POST", "/api/v1/sessions/wechat-web", "", map[string]string{"code": "h5-code-1", "state": wechatWebState(t, cl)}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("reused code: %d %s", r.Status, r.Body)
		}
		if r := cl.Send("POST", "/api/v1/sessions/wechat-web", "", map[string]string{"code": "invalid", "state": wechatWebState(t, cl)}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("bad code: %d %s", r.Status, r.Body)
		}
		if n := servicetest.Count(t, db, "users", "channel = ? AND subject = ?", "wechat_web", fake.OAOpenID("h5-code-1")); n != 1 {
			t.Fatalf("%d wechat_web users with the official account's openid", n)
		}
		tok := login.Token

		me := servicetest.Person(t, "张三明")
		if st, b := cl.Do("POST", "/api/v1/me/identity", tok, map[string]string{"name": me.Name, "id_number": me.IDNumber}); st != 200 {
			t.Fatalf("identity %d %s", st, b)
		}
		if st, b := cl.Do("POST", "/api/v1/enrolments", tok, map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}); st != 201 {
			t.Fatalf("enrol %d %s", st, b)
		}
		var pb struct {
			Items []struct {
				PayableID  string `json:"payable_id"`
				PeriodFrom string `json:"period_from"`
			}
		}
		cl.DoJSON("POST", "/api/v1/payables/query", tok, map[string]string{"person": "self"}, &pb)
		if len(pb.Items) == 0 {
			t.Fatal("nothing payable")
		}
		var d struct {
			DeclarationID string `json:"declaration_id"`
		}
		if st := cl.DoJSON("POST", "/api/v1/declarations", tok, map[string]string{"payable_id": pb.Items[0].PayableID,
			"option_code": "grade_60", "period_to": pb.Items[0].PeriodFrom}, &d); st != 201 {
			t.Fatalf("declare %d", st)
		}
		var p struct {
			OrderNo   string            `json:"order_no"`
			AmountFen int64             `json:"amount_fen"`
			PayParams map[string]string `json:"pay_params"`
		}
		if st := cl.DoJSON("POST", "/api/v1/payments", tok, map[string]string{"declaration_id": d.DeclarationID, "channel": "wechat"}, &p); st != 201 {
			t.Fatalf("createPayment %d", st)
		}
		o, ok := fake.Order(p.OrderNo)
		if !ok || o.AppID != fake.OAAppID() || o.OpenID != fake.OAOpenID("h5-code-1") || int64(o.Amount) != p.AmountFen {
			t.Fatalf("order at WeChat Pay = %+v", o)
		}
		pp := p.PayParams
		if pp["appId"] != fake.OAAppID() || pp["package"] != "prepay_id="+o.PrepayID || pp["signType"] != "RSA" ||
			pp["timeStamp"] == "" || pp["nonceStr"] == "" || pp["paySign"] == "" {
			t.Fatalf("JSAPI pay params = %v", pp)
		}

		// A validly signed notification for this order naming a foreign
		// appid is acknowledged (WeChat would resend it for ever) but
		// settles nothing and is kept as an anomaly.
		h, body, err := fake.ForeignNotification(p.OrderNo, "wx00000000foreign01", "")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/wechatpay", bytes.NewReader(body))
		req.Header = h.Clone()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("foreign notification answered %d %s", rec.Code, rec.Body)
		}
		if servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, "paid") != 0 {
			t.Fatal("a foreign appid's notification settled the order")
		}
		if servicetest.Count(t, db, "anomalies", "order_no = ? AND kind = ?", p.OrderNo, "foreign_notification") != 1 {
			t.Fatal("the foreign notification was not kept as an anomaly")
		}

		// Paid at the cashier: the fake posts the real notification to the
		// notify route, which settles the order.
		if err := fake.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := fake.WaitDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitPaid(t, db, p.OrderNo)
		var got struct {
			Status  string `json:"status"`
			Channel string `json:"channel"`
		}
		if st := cl.DoJSON("GET", "/api/v1/payments/"+p.OrderNo, tok, nil, &got); st != 200 || got.Status != "paid" || got.Channel != "wechat" {
			t.Fatalf("getPayment %d %+v", st, got)
		}
	})
}

// wechatWebState starts a 微信城市服务 login towards the H5 and returns
// the state WeChat would hand back.
func wechatWebState(t *testing.T, cl *apitest.Client) string {
	t.Helper()
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string `json:"state"`
	}
	if st := cl.DoJSON("POST", "/api/v1/sessions/wechat-web/authorize", "", map[string]string{"redirect_uri": servicetest.WechatWebRedirect}, &start); st != 201 || start.State == "" {
		t.Fatalf("startWechatWebLogin: %d %+v", st, start)
	}
	return start.State
}

// Test微信城市服务LoginNeedsTheStateItWasStartedWith: a web OAuth code is
// redeemed only with a state this server issued for the login, unused
// and unexpired. Without that an attacker could get a code for their own
// openid and plant it in a victim's browser (a link to the H5's callback
// with ?code=…), logging the victim into the attacker's account, where a
// real-name binding or a payment the victim then made would be the
// attacker's (login CSRF).
func Test微信城市服务LoginNeedsTheStateItWasStartedWith(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	var s *handlers.Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Wechat: true, Logins: true,
		Start: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)})
	s = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true,
		SandboxTaxApp: env.TaxApp, SandboxOIDC: env.OIDC})
	cl := apitest.Load(t).Client(t, s)
	fake := env.Wechat
	login := func(body map[string]string) *apitest.Response {
		t.Helper()
		return cl.Send("POST", "/api/v1/sessions/wechat-web", "", body)
	}

	// The start answers WeChat's authorize URL for the official account,
	// carrying the state and the registered page.
	start, u, q := startRedirectLogin(t, cl, "/api/v1/sessions/wechat-web/authorize", servicetest.WechatWebRedirect)
	if u.Path != "/connect/oauth2/authorize" || q.Get("appid") != fake.OAAppID() || q.Get("state") != start.State ||
		q.Get("redirect_uri") != servicetest.WechatWebRedirect || q.Get("scope") != "snsapi_base" || q.Get("response_type") != "code" ||
		len(start.State) < 40 || len(start.State) > 128 || strings.Trim(start.State, alnum) != "" ||
		!start.ExpiresAt.Equal(env.Clock.Now().Add(10*time.Minute)) {
		t.Fatalf("start = %+v (WeChat takes a state of a-zA-Z0-9, at most 128 bytes)", start)
	}
	for _, bad := range []string{"", "https://evil.example/h5/", servicetest.WechatWebRedirect + "x", servicetest.MengsubanRedirect} {
		if r := cl.Send("POST", "/api/v1/sessions/wechat-web/authorize", "", map[string]string{"redirect_uri": bad}); r.Status != 400 || r.ErrorCode() != "INVALID_ARGUMENT" {
			t.Errorf("start towards %q: %d %s", bad, r.Status, r.Body)
		}
	}

	// A code without a state, or with one this server never issued, is
	// refused before WeChat is asked: the code is still good afterwards.
	if r := login(map[string]string{"code": "planted"}); r.Status != 400 || r.ErrorCode() != "INVALID_ARGUMENT" {
		t.Fatalf("a code alone: %d %s", r.Status, r.Body)
	}
	if r := login(map[string]string{"code": "planted", "state": "made-up-by-the-attacker"}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
		t.Fatalf("a made-up state: %d %s", r.Status, r.Body)
	}
	// A 蒙速办 state is no 微信城市服务 state.
	var msb struct {
		State string `json:"state"`
	}
	if st := cl.DoJSON("POST", "/api/v1/sessions/mengsuban/authorize", "", map[string]string{"redirect_uri": servicetest.MengsubanRedirect,
		"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, &msb); st != 201 {
		t.Fatalf("mengsuban start: %d", st)
	}
	if r := login(map[string]string{"code": "planted", "state": msb.State}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
		t.Fatalf("another channel's state: %d %s", r.Status, r.Body)
	}
	if n := servicetest.Count(t, db, "users", "channel = ?", "wechat_web"); n != 0 {
		t.Fatalf("%d wechat_web accounts after refused logins", n)
	}

	// The state WeChat handed back logs in once; the same state again,
	// even with a fresh code, does not.
	var res struct{ Token string }
	if r := login(map[string]string{"code": "planted", "state": start.State}); r.Status != 201 {
		t.Fatalf("the issued state: %d %s", r.Status, r.Body)
	} else {
		r.Decode(t, &res)
	}
	if r := login(map[string]string{"code": "fresh-code", "state": start.State}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
		t.Fatalf("the state again: %d %s", r.Status, r.Body)
	}

	// A state lives ten minutes: it is kept (hashed) under a key that
	// expires then, and one whose key is gone logs nobody in.
	old := wechatWebState(t, cl)
	sum := sha256.Sum256([]byte(old))
	key := "lb:authz:" + hex.EncodeToString(sum[:])
	if ttl, err := env.Redis.Client.TTL(context.Background(), key).Result(); err != nil || ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("the state's key lives %v (%v)", ttl, err)
	}
	env.Redis.Client.Del(context.Background(), key)
	if r := login(map[string]string{"code": "late-code", "state": old}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
		t.Fatalf("an expired state: %d %s", r.Status, r.Body)
	}

	// The whole round as a browser makes it: start, WeChat's (the fake's)
	// authorize page, back to the H5 with code and state, login.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	st2 := wechatWebStart(t, cl)
	resp, err := noRedirect.Get(st2.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), servicetest.WechatWebRedirect+"?") {
		t.Fatalf("authorize page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := login(map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state")}); r.Status != 201 {
		t.Fatalf("login after the authorize page: %d %s", r.Status, r.Body)
	}
}

type wechatWebStarted struct {
	AuthorizationURL string `json:"authorization_url"`
	State            string `json:"state"`
}

func wechatWebStart(t *testing.T, cl *apitest.Client) wechatWebStarted {
	t.Helper()
	var s wechatWebStarted
	if st := cl.DoJSON("POST", "/api/v1/sessions/wechat-web/authorize", "", map[string]string{"redirect_uri": servicetest.WechatWebRedirect}, &s); st != 201 {
		t.Fatalf("startWechatWebLogin: %d", st)
	}
	return s
}

// alnum is what WeChat and Alipay accept in an OAuth state.
const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// redirectStart is a redirect login's start (startWechatWebLogin,
// startAlipayWebLogin).
type redirectStart struct {
	AuthorizationURL string    `json:"authorization_url"`
	State            string    `json:"state"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// startRedirectLogin starts a redirect login towards redirectURI, checks
// it is 201 and not cached, and returns the start with its authorize URL
// parsed.
func startRedirectLogin(t *testing.T, cl *apitest.Client, path, redirectURI string) (redirectStart, *url.URL, url.Values) {
	t.Helper()
	r := cl.Send("POST", path, "", map[string]string{"redirect_uri": redirectURI})
	if r.Status != 201 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("start: %d %v %s", r.Status, r.Header, r.Body)
	}
	var start redirectStart
	r.Decode(t, &start)
	u, err := url.Parse(start.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	return start, u, u.Query()
}
