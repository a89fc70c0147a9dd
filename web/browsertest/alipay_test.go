package browsertest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// alipayUA is the user agent of the Alipay app's web view on a phone:
// the H5 offers the Alipay login where it finds AlipayClient.
const alipayUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
	"Mobile/15E148 ChannelId(0) Ariver/1.1.0 AliApp(AP/10.5.36.6000) Nebula WK AlipayDefined(nt:WIFI,ws:390|844|3.0) " +
	"AlipayClient/10.5.36.6000 Language/zh-Hans Region/CN"

// alipaySite is newSite with Alipay wired to its fake, whose web
// authorization page sends people back to this site's /h5/.
func alipaySite(t *testing.T) (*site, *alipayfake.Server) {
	t.Helper()
	need(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	fake := alipayfake.New(alipayfake.Options{})
	t.Cleanup(fake.Close)
	cfg := fake.ClientConfig(srv.URL + "/api/v1/notify/alipay")
	cfg.H5RedirectURIs = []string{srv.URL + "/h5/"}
	c, err := alipay.New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, WallClock: true, Start: time.Now().UTC().Truncate(time.Second),
		Mutate: func(d *service.Deps, _ *service.Options) {
			d.Logins[models.ChannelAlipay], d.Logins[models.ChannelAlipayWeb], d.Payments[models.ChannelAlipay] = c, c.WebLogin(), c
		}})
	h = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	return &site{URL: srv.URL, Env: env, shots: shotDir(t)}, fake
}

// attackersLink is what an attacker makes: a login of their own started
// at the API, taken through Alipay's authorize page, and the H5 address
// Alipay sent them back to, with their auth_code and a state this server
// really issued, but to them.
func attackersLink(t *testing.T, s *site) string {
	t.Helper()
	body := strings.NewReader(`{"redirect_uri":` + jsonString(s.URL+"/h5/") + `}`)
	resp, err := http.Post(s.URL+"/api/v1/sessions/alipay-web/authorize", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&start)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the attacker's start: %d %v", resp.StatusCode, err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(start.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("auth_code") == "" || back.Query().Get("state") == "" {
		t.Fatalf("the attacker's return: %q", resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// TestH5AlipayReturnNeedsItsOwnState: inside Alipay the H5 logs in
// through Alipay's web authorization, and takes an auth_code coming back
// only with the state this tab was given (login CSRF: an auth_code
// someone got for their own Alipay account must not log this browser
// in, where the person's real-name binding would become theirs). A bare
// ?auth_code= link, or one with a state not this tab's (even one the
// server issued to someone else), is never posted, and the address is
// cleaned either way.
func TestH5AlipayReturnNeedsItsOwnState(t *testing.T) {
	s, fake := alipaySite(t)
	p := s.open(t, Phone)
	if _, err := chromedp.Call(p.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: alipayUA}); err != nil {
		t.Fatal(err)
	}
	notLoggedIn := func(what string) {
		t.Helper()
		if eval[string](p, `location.search`) != "" {
			t.Errorf("%s: the auth_code stayed in the address", what)
		}
		if eval[string](p, `sessionStorage.getItem("lb.h5.token") || ""`) != "" {
			t.Errorf("%s logged the page in", what)
		}
		if n := fake.Calls("alipay.system.oauth.token"); n != 0 {
			t.Errorf("%s: the auth_code was redeemed (%d token calls)", what, n)
		}
		if n := servicetest.Count(t, s.Env.DB, "users", "channel = ?", "alipay"); n != 0 {
			t.Errorf("%s: %d alipay accounts", what, n)
		}
	}

	// A bare auth_code: dropped unposted, the start page as usual.
	p.visit("/h5/?auth_code=someone-elses-code")
	h5Screen(p, "社保缴费")
	notLoggedIn("a bare auth_code")
	if eval[bool](p, `document.querySelector("main [role=alert]:not([hidden])") !== null`) {
		t.Error("a bare auth_code shows an error")
	}

	// The attacker's own code with the state the server issued them.
	p.visit(attackersLink(t, s))
	p.waitJS(`document.querySelector("main [role=alert]:not([hidden])") !== null`, "the refusal")
	if got := eval[string](p, `document.querySelector("main [role=alert]:not([hidden])").innerText`); !strings.Contains(got, "登录来源无法确认") || strings.Contains(got, "null") {
		t.Errorf("another's state shows %q", got)
	}
	notLoggedIn("the attacker's link")
	p.shot("alipay-foreign-state")
	p.axe("alipay-foreign-state")

	// The tab's own login: the button inside Alipay, Alipay's (the fake's)
	// authorize page, back with auth_code and state, logged in.
	p.visit("/h5/#/login")
	h5Screen(p, loginTitle(p))
	p.shot("alipay-login")
	p.axe("alipay-login")
	h5Tap(p, "main button", "用支付宝登录")
	p.waitJS(`(sessionStorage.getItem("lb.h5.token") || "") !== ""`, "the Alipay login")
	p.waitJS(`document.querySelector("[name=id_number]") !== null`, "the identity form")
	if got := eval[string](p, `location.search`); got != "" {
		t.Errorf("the address kept %q", got)
	}
	if eval[string](p, `sessionStorage.getItem("lb.h5.alistate") || ""`) != "" {
		t.Error("the state was not used up")
	}
	if n := servicetest.Count(t, s.Env.DB, "users", "channel = ?", "alipay"); n != 1 || fake.Calls("alipay.system.oauth.token") != 1 {
		t.Errorf("%d alipay accounts after %d token calls", n, fake.Calls("alipay.system.oauth.token"))
	}
	me := eval[string](p, `LB.api("GET", "/api/v1/me", {token: sessionStorage.getItem("lb.h5.token")}).then(function (u) { return u.channel; })`)
	if me != "alipay" {
		t.Errorf("the H5 account's channel is %q", me)
	}
	p.shot("alipay-logged-in")
	p.checkPage()
}
