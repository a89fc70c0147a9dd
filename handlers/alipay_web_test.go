package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAlipayH5LoginNeedsTheStateItWasStartedWith: an auth_code that came
// back to an H5 page through Alipay's web authorization is redeemed only
// with a state this server issued for the login, unused and unexpired.
// Without that, an attacker could get an auth_code for their own Alipay
// account and plant it in a victim's browser (a link to the H5 with
// ?auth_code=…), logging the victim into the attacker's account, where
// the victim's real-name binding would land (login CSRF). The account is
// the application's Alipay user, the same one the mini-program logs in.
func TestAlipayH5LoginNeedsTheStateItWasStartedWith(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var s *handlers.Server
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Alipay: true, Wechat: true,
			Start: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)})
		s = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
		cl := apitest.Load(t).Client(t, s)
		fake := env.Alipay
		login := func(body map[string]string) *apitest.Response {
			t.Helper()
			return cl.Send("POST", "/api/v1/sessions/alipay-web", "", body)
		}

		// The start answers Alipay's web authorization page for the
		// application (the fake's here), with the state and the page.
		start, _, q := startRedirectLogin(t, cl, "/api/v1/sessions/alipay-web/authorize", alipayfake.H5Redirect)
		if !strings.HasPrefix(start.AuthorizationURL, fake.URL()+"/oauth2/publicAppAuthorize.htm?") || q.Get("app_id") != fake.AppID() ||
			q.Get("state") != start.State || q.Get("redirect_uri") != alipayfake.H5Redirect || q.Get("scope") != "auth_base" ||
			len(start.State) < 40 || len(start.State) > 100 || strings.Trim(start.State, alnum) != "" || !start.ExpiresAt.Equal(env.Clock.Now().Add(10*time.Minute)) {
			t.Fatalf("start = %+v", start)
		}
		for _, bad := range []string{"", "https://evil.example/h5/", alipayfake.H5Redirect + "x"} {
			if r := cl.Send("POST", "/api/v1/sessions/alipay-web/authorize", "", map[string]string{"redirect_uri": bad}); r.Status != 400 || r.ErrorCode() != "INVALID_ARGUMENT" {
				t.Errorf("start towards %q: %d %s", bad, r.Status, r.Body)
			}
		}

		// A code without a state, under the wrong name, or with a state
		// this server never issued for Alipay, is refused before Alipay
		// is asked.
		if r := login(map[string]string{"auth_code": "planted"}); r.Status != 400 || r.ErrorCode() != "INVALID_ARGUMENT" {
			t.Fatalf("a code alone: %d %s", r.Status, r.Body)
		}
		if r := login(map[string]string{"code": "planted", "state": start.State}); r.Status != 400 || r.ErrorCode() != "INVALID_ARGUMENT" {
			t.Fatalf("the code as code: %d %s", r.Status, r.Body)
		}
		if r := login(map[string]string{"auth_code": "planted", "state": "made-up-by-the-attacker"}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("a made-up state: %d %s", r.Status, r.Body)
		}
		var wx struct {
			State string `json:"state"`
		}
		if st := cl.DoJSON("POST", "/api/v1/sessions/wechat-web/authorize", "", map[string]string{"redirect_uri": servicetest.WechatWebRedirect}, &wx); st != 201 {
			t.Fatalf("wechat-web start: %d", st)
		}
		if r := login(map[string]string{"auth_code": "planted", "state": wx.State}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("微信城市服务's state: %d %s", r.Status, r.Body)
		}
		if n := fake.Calls("alipay.system.oauth.token"); n != 0 {
			t.Fatalf("Alipay was asked %d times for refused logins", n)
		}
		if n := servicetest.Count(t, db, "users", "channel = ?", "alipay"); n != 0 {
			t.Fatalf("%d alipay accounts after refused logins", n)
		}

		// The mini-program logs the same Alipay user in with its own code.
		const userID = "2088102146225135"
		fake.AddUser("mp-code", userID)
		var mp, h5 struct {
			User struct {
				UserID  string `json:"user_id"`
				Channel string `json:"channel"`
			} `json:"user"`
		}
		if st := cl.DoJSON("POST", "/api/v1/sessions/alipay", "", map[string]string{"auth_code": "mp-code"}, &mp); st != 201 || mp.User.Channel != "alipay" {
			t.Fatalf("loginAlipay: %d %+v", st, mp)
		}

		// The whole round as a browser makes it: Alipay's (the fake's)
		// authorize page sends it back to the H5 with auth_code and
		// state, and the H5 posts both once.
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get(start.AuthorizationURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), alipayfake.H5Redirect+"?") ||
			back.Query().Get("state") != start.State || back.Query().Get("auth_code") == "" {
			t.Fatalf("authorize page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		fake.AddUser(back.Query().Get("auth_code"), userID)
		r := login(map[string]string{"auth_code": back.Query().Get("auth_code"), "state": back.Query().Get("state")})
		if r.Status != 201 {
			t.Fatalf("login after the authorize page: %d %s", r.Status, r.Body)
		}
		r.Decode(t, &h5)
		if h5.User.Channel != "alipay" || h5.User.UserID != mp.User.UserID {
			t.Fatalf("the H5 account %+v is not the mini-program's %+v", h5.User, mp.User)
		}
		if n := servicetest.Count(t, db, "users", "channel = ? AND subject = ?", "alipay", userID); n != 1 {
			t.Fatalf("%d alipay accounts of one Alipay user", n)
		}

		// The state logs in once: again, even with a fresh code, it does not.
		if r := login(map[string]string{"auth_code": "fresh-code", "state": start.State}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("the state again: %d %s", r.Status, r.Body)
		}
		// A code Alipay refuses uses the state up too.
		st := alipayWebState(t, cl)
		if r := login(map[string]string{"auth_code": "invalid-code", "state": st}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("a refused code: %d %s", r.Status, r.Body)
		}
		if r := login(map[string]string{"auth_code": "good-code", "state": st}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("a state used by a refused code: %d %s", r.Status, r.Body)
		}
	})
}

// TestAlipayH5LoginWithoutAlipay: a server without Alipay says so.
func TestAlipayH5LoginWithoutAlipay(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{})
	s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	cl := apitest.Load(t).Client(t, s)
	if r := cl.Send("POST", "/api/v1/sessions/alipay-web/authorize", "", map[string]string{"redirect_uri": alipayfake.H5Redirect}); r.Status != 400 || r.ErrorCode() != "CHANNEL_UNSUPPORTED" {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	if r := cl.Send("POST", "/api/v1/sessions/alipay-web", "", map[string]string{"auth_code": "x", "state": "y"}); r.Status != 400 || r.ErrorCode() != "CHANNEL_UNSUPPORTED" {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
}

func alipayWebState(t *testing.T, cl *apitest.Client) string {
	t.Helper()
	var start struct {
		State string `json:"state"`
	}
	if st := cl.DoJSON("POST", "/api/v1/sessions/alipay-web/authorize", "", map[string]string{"redirect_uri": alipayfake.H5Redirect}, &start); st != 201 || start.State == "" {
		t.Fatalf("startAlipayWebLogin: %d %+v", st, start)
	}
	return start.State
}
