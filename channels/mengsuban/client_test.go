package mengsuban_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/mengsuban"
	"github.com/lianban/lianban/channels/mengsuban/oidcfake"
	"github.com/lianban/lianban/models"
	"golang.org/x/oauth2"
)

const redirect = "https://h5.example.invalid/login/mengsuban"

type rig struct {
	fake   *oidcfake.Server
	client *mengsuban.Client
	clock  *models.ManualClock
	up     bool
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{clock: models.NewManualClock(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)), up: true}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.up {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	fake, err := oidcfake.New(oidcfake.Options{Issuer: srv.URL + "/oidc", Clock: r.clock,
		Clients: []oidcfake.Client{{ID: "lianban", Secret: "s3cret", RedirectURIs: []string{redirect}}},
		People:  []oidcfake.Person{{Subject: "msb-1", Name: "张三明", IDNumber: "150102199003071234"}, {Subject: "msb-2"}}})
	if err != nil {
		t.Fatal(err)
	}
	h = fake
	c, err := mengsuban.New(mengsuban.Config{Issuer: fake.Issuer(), ClientID: "lianban", ClientSecret: "s3cret",
		RedirectURIs: []string{redirect}}, srv.Client(), r.clock)
	if err != nil {
		t.Fatal(err)
	}
	r.fake, r.client = fake, c
	return r
}

// authorize follows the authorization URL as the browser would, choosing
// the person hint, and returns the code the provider sent back.
func (r *rig) authorize(t *testing.T, state, nonce, verifier, hint string) string {
	t.Helper()
	u, err := r.client.AuthorizationURL(context.Background(), models.AuthorizationRequest{State: state, Nonce: nonce,
		RedirectURI: redirect, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier)})
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(u + "&login_hint=" + url.QueryEscape(hint))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	if r, ok := models.AsLoginRefusal(err); !ok || r.Reason != reason {
		t.Fatalf("want refusal %q, got %v", reason, err)
	}
}

func TestCodeFlowWithPKCE(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	v := oauth2.GenerateVerifier()
	code := r.authorize(t, "st1", "n1", v, "150102199003071234")
	id, err := r.client.Exchange(ctx, models.CodeExchange{Code: code, RedirectURI: redirect, CodeVerifier: v, Nonce: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if id.Channel != models.ChannelMengsuban || id.Subject != "msb-1" || id.RealName == nil || id.RealName.Name != "张三明" {
		t.Fatalf("%+v", id)
	}
	// The code is single-use at the provider.
	_, err = r.client.Exchange(ctx, models.CodeExchange{Code: code, RedirectURI: redirect, CodeVerifier: v, Nonce: "n1"})
	wantRefused(t, err, models.LoginReasonCode)
	// A person without real-name claims logs in unverified.
	v2 := oauth2.GenerateVerifier()
	id, err = r.client.Exchange(ctx, models.CodeExchange{Code: r.authorize(t, "st2", "n2", v2, "msb-2"), RedirectURI: redirect, CodeVerifier: v2, Nonce: "n2"})
	if err != nil || id.RealName != nil {
		t.Fatalf("%+v %v", id, err)
	}
	// A code alone is never enough.
	_, err = r.client.Login(ctx, "x")
	wantRefused(t, err, models.LoginReasonState)
}

func TestBadExchangesAreRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		tamper func(*oidcfake.IDTokenClaims)
		mutate func(*models.CodeExchange)
		reason string
	}{
		{"code_verifier mismatch at the provider", nil, func(x *models.CodeExchange) { x.CodeVerifier = oauth2.GenerateVerifier() }, models.LoginReasonCode},
		{"wrong nonce", nil, func(x *models.CodeExchange) { x.Nonce = "other" }, models.LoginReasonNonce},
		{"nonce the provider dropped", func(c *oidcfake.IDTokenClaims) { c.Nonce = "" }, nil, models.LoginReasonNonce},
		{"wrong issuer", func(c *oidcfake.IDTokenClaims) { c.Issuer = "https://evil.invalid" }, nil, models.LoginReasonIssuer},
		{"wrong audience", func(c *oidcfake.IDTokenClaims) { c.Audience = "someone-else" }, nil, models.LoginReasonAudience},
		{"expired ID token", func(c *oidcfake.IDTokenClaims) { c.Expiry = c.IssuedAt.Add(-time.Minute) }, nil, models.LoginReasonExpired},
		{"redirect_uri changed", nil, func(x *models.CodeExchange) { x.RedirectURI = redirect + "?x=1" }, models.LoginReasonCode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.fake.SetTamper(tc.tamper)
			v := oauth2.GenerateVerifier()
			x := models.CodeExchange{Code: r.authorize(t, "st", "n", v, "msb-1"), RedirectURI: redirect, CodeVerifier: v, Nonce: "n"}
			if tc.mutate != nil {
				tc.mutate(&x)
			}
			_, err := r.client.Exchange(ctx, x)
			wantRefused(t, err, tc.reason)
		})
	}
}

func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	r := newRig(t)
	r.up = false
	ctx := context.Background()
	_, err := r.client.AuthorizationURL(ctx, models.AuthorizationRequest{State: "s", Nonce: "n", RedirectURI: redirect,
		CodeChallenge: oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())})
	if e, ok := models.AsError(err); !ok || e.Code != models.ErrUnavailable.Code {
		t.Fatalf("provider down: %v", err)
	}
	r.up = true
	r.clock.Advance(10 * time.Second)
	v := oauth2.GenerateVerifier()
	if _, err := r.client.Exchange(ctx, models.CodeExchange{Code: r.authorize(t, "s", "n", v, "msb-1"), RedirectURI: redirect, CodeVerifier: v, Nonce: "n"}); err != nil {
		t.Fatalf("after the provider came up: %v", err)
	}
	if !r.client.RedirectAllowed(redirect) || r.client.RedirectAllowed(redirect+"/") {
		t.Fatal("redirect allow-list is not exact")
	}
}

// Discovery serves every login after it: a caller who hangs up while it
// runs must not make it fail for the next ones (one aborted request every
// few seconds would otherwise keep 蒙速办 logins unavailable after each
// restart).
func TestAbortedRequestDoesNotFailDiscovery(t *testing.T) {
	r := newRig(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = r.client.AuthorizationURL(gone, models.AuthorizationRequest{State: "s", Nonce: "n", RedirectURI: redirect,
		CodeChallenge: oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())})
	r.clock.Advance(time.Second)
	if _, err := r.client.AuthorizationURL(context.Background(), models.AuthorizationRequest{State: "s", Nonce: "n",
		RedirectURI: redirect, CodeChallenge: oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}); err != nil {
		t.Fatalf("a login right after an aborted one: %v", err)
	}
}
