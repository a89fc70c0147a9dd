package oidcfake_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/mengsuban/oidcfake"
	"github.com/lianban/lianban/models"
)

// The sandbox serves the fake to anyone who reaches it, without a login:
// what a stranger makes it keep must stay bounded.
func TestAuthorizeKeepsBoundedState(t *testing.T) {
	clock := models.NewManualClock(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	const redirect = "https://h5.example.invalid/cb"
	fake, err := oidcfake.New(oidcfake.Options{Issuer: "http://127.0.0.1:1/oidc", Clock: clock,
		Clients: []oidcfake.Client{{ID: "c", Secret: "s", RedirectURIs: []string{redirect}}},
		People:  []oidcfake.Person{{Subject: "msb-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	authorize := func(nonce string) url.Values {
		q := url.Values{"response_type": {"code"}, "client_id": {"c"}, "redirect_uri": {redirect}, "scope": {"openid"},
			"state": {"st"}, "nonce": {nonce}, "code_challenge": {oidcfake.S256("v")}, "code_challenge_method": {"S256"},
			"login_hint": {"msb-1"}}
		w := httptest.NewRecorder()
		fake.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/oidc/authorize?"+q.Encode(), nil))
		if w.Code != http.StatusFound {
			t.Fatalf("authorize: %d", w.Code)
		}
		loc, err := url.Parse(w.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return loc.Query()
	}
	if got := authorize(strings.Repeat("n", 4096)); got.Get("code") != "" {
		t.Fatal("a 4 KiB nonce was kept with a code")
	}
	var refused bool
	for i := 0; i <= oidcfake.MaxPendingCodes; i++ {
		if authorize("n").Get("code") == "" {
			refused = true
			break
		}
	}
	if !refused {
		t.Fatalf("more than %d unredeemed codes kept", oidcfake.MaxPendingCodes)
	}
	clock.Advance(2 * time.Minute) // every code has expired
	if authorize("n").Get("code") == "" {
		t.Fatal("expired codes still count against the bound")
	}
}
