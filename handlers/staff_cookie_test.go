package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/pquerna/otp/totp"
)

// cookieLogin logs username in as the console does and returns the
// response, its session cookie and CSRF token. cookies are sent along, as
// a browser would send what it holds.
func cookieLogin(t *testing.T, env *servicetest.Env, cl *apitest.Client, username string, cookies ...string) (*apitest.Response, *http.Cookie, string) {
	t.Helper()
	code, _ := totp.GenerateCode(hallTOTP, env.Clock.Now())
	var hdr []string
	if len(cookies) > 0 {
		hdr = []string{"Cookie", strings.Join(cookies, "; ")}
	}
	r := cl.Send("POST", "/api/v1/staff/sessions", "", map[string]any{"username": username, "password": hallPassword, "totp": code, "cookie": true}, hdr...)
	if r.Status != 201 {
		t.Fatalf("cookie login %s: %d %s", username, r.Status, r.Body)
	}
	var body struct {
		Token     *string `json:"token"`
		CSRFToken string  `json:"csrf_token"`
	}
	r.Decode(t, &body)
	if body.Token != nil || body.CSRFToken == "" {
		t.Fatalf("a cookie login's body must carry the CSRF token and no session token: %s", r.Body)
	}
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "lb_staff" {
			ck = c
		}
	}
	if ck == nil || ck.Value == "" {
		t.Fatalf("no lb_staff cookie: %v", r.Header["Set-Cookie"])
	}
	return r, ck, body.CSRFToken
}

// TestTheConsoleSessionIsAnHttpOnlyCookieThatOpensNothingWithoutItsCSRFToken:
// the console's session cookie is HttpOnly, Secure, SameSite=Strict and
// scoped to the staff API; it opens nothing alone or with a wrong CSRF
// token (whatever the method), it is no bearer token and a bearer token is
// no cookie; bearer sessions work as before; logout clears the cookie and
// ends the session; a new login in the same browser ends the old session.
func TestTheConsoleSessionIsAnHttpOnlyCookieThatOpensNothingWithoutItsCSRFToken(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	toks := hallTokens(t, env, cl)      // bearer sessions of every role
	env.Clock.Advance(31 * time.Second) // a TOTP code works once per account
	_, ck, csrf := cookieLogin(t, env, cl, "tax1")
	raw := strings.ToLower(ck.Raw)
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/api/v1/staff" || ck.MaxAge != 0 ||
		!strings.Contains(raw, "samesite=strict") {
		t.Fatalf("cookie attributes: %q", ck.Raw)
	}
	cookie := "lb_staff=" + ck.Value

	for _, tc := range []struct {
		name, method, path string
		headers            []string
	}{
		{"cookie without CSRF token (GET)", "GET", "/api/v1/staff/me", []string{"Cookie", cookie}},
		{"cookie without CSRF token (POST)", "POST", "/api/v1/staff/refunds/rf_nope/accept", []string{"Cookie", cookie}},
		{"cookie without CSRF token (DELETE)", "DELETE", "/api/v1/staff/sessions/current", []string{"Cookie", cookie}},
		{"cookie with another CSRF token", "GET", "/api/v1/staff/me", []string{"Cookie", cookie, "X-CSRF-Token", csrf[:len(csrf)-1] + "x"}},
		{"cookie with an empty CSRF token", "GET", "/api/v1/staff/me", []string{"Cookie", cookie, "X-CSRF-Token", ""}},
		{"CSRF token without the cookie", "GET", "/api/v1/staff/me", []string{"X-CSRF-Token", csrf}},
		{"the cookie's token as a bearer token", "GET", "/api/v1/staff/me", []string{"Authorization", "Bearer " + ck.Value}},
		{"the CSRF token as a bearer token", "GET", "/api/v1/staff/me", []string{"Authorization", "Bearer " + csrf}},
	} {
		if r := cl.Send(tc.method, tc.path, "", nil, tc.headers...); r.Status != 401 || r.ErrorCode() != "UNAUTHENTICATED" {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}

	with := []string{"Cookie", cookie, "X-CSRF-Token", csrf}
	var me struct {
		Username string `json:"username"`
	}
	if r := cl.Send("GET", "/api/v1/staff/me", "", nil, with...); r.Status != 200 {
		t.Fatalf("cookie with its CSRF token: %d %s", r.Status, r.Body)
	} else if r.Decode(t, &me); me.Username != "tax1" {
		t.Fatalf("me %+v", me)
	}
	if r := cl.Send("GET", "/api/v1/staff/refunds", "", nil, with...); r.Status != 200 {
		t.Fatalf("listStaffRefunds with the cookie: %d %s", r.Status, r.Body)
	}

	// Bearer sessions are unchanged, and their token is no cookie.
	if r := cl.Send("GET", "/api/v1/staff/me", toks["si1"], nil); r.Status != 200 {
		t.Fatalf("bearer: %d %s", r.Status, r.Body)
	}
	if r := cl.Send("GET", "/api/v1/staff/me", "", nil, "Cookie", "lb_staff="+toks["si1"], "X-CSRF-Token", csrf); r.Status != 401 {
		t.Fatalf("a bearer token as a cookie: %d %s", r.Status, r.Body)
	}
	// An Authorization header is judged alone: a bad one is not rescued
	// by a good cookie.
	if r := cl.Send("GET", "/api/v1/staff/me", "", nil, append(with, "Authorization", "Bearer stf_nope")...); r.Status != 401 {
		t.Fatalf("a bad bearer with a good cookie: %d %s", r.Status, r.Body)
	}

	// Logout clears the cookie and ends the session.
	r := cl.Send("DELETE", "/api/v1/staff/sessions/current", "", nil, with...)
	if r.Status != 204 {
		t.Fatalf("logout %d %s", r.Status, r.Body)
	}
	cleared := false
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		cleared = cleared || c.Name == "lb_staff" && c.Value == "" && c.MaxAge < 0 && c.Path == "/api/v1/staff"
	}
	if !cleared {
		t.Fatalf("logout did not clear the cookie: %v", r.Header["Set-Cookie"])
	}
	if r := cl.Send("GET", "/api/v1/staff/me", "", nil, with...); r.Status != 401 {
		t.Fatalf("after logout: %d", r.Status)
	}
	if r := cl.Send("DELETE", "/api/v1/staff/sessions/current", toks["si1"], nil); r.Status != 204 || len(r.Header["Set-Cookie"]) != 0 {
		t.Fatalf("a bearer logout sets no cookie: %d %v", r.Status, r.Header["Set-Cookie"])
	}

	// A reload loses the CSRF token; logging in again from the same
	// browser ends the session its cookie held.
	env.Clock.Advance(31 * time.Second)
	_, ck1, csrf1 := cookieLogin(t, env, cl, "mi1")
	_, ck2, csrf2 := cookieLogin(t, env, cl, "auditor1", "lb_staff="+ck1.Value)
	if r := cl.Send("GET", "/api/v1/staff/me", "", nil, "Cookie", "lb_staff="+ck1.Value, "X-CSRF-Token", csrf1); r.Status != 401 {
		t.Fatalf("the replaced session still works: %d", r.Status)
	}
	if r := cl.Send("GET", "/api/v1/staff/me", "", nil, "Cookie", "lb_staff="+ck2.Value, "X-CSRF-Token", csrf2); r.Status != 200 {
		t.Fatalf("the new session: %d %s", r.Status, r.Body)
	}
	// The service draws the same line as the middleware.
	if _, err := env.Svc.AuthenticateStaff(context.Background(), ck2.Value, servicetest.HallMeta); err == nil {
		t.Fatal("a cookie session authenticated as a bearer session in the service")
	}
}
