package alipay_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

func TestTheH5AuthorizeURLIsAlipaysWebAuthorizationPageWithAuthBase(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	cfg := e.cfg
	cfg.AuthorizeBase = "" // production's host
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.WebLogin().AuthorizeURL("https://h5.example.cn/h5/?from=city", "st-123"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host != alipay.DefaultAuthorizeBase || u.Path != "/oauth2/publicAppAuthorize.htm" ||
		q.Get("app_id") != e.fake.AppID() || q.Get("scope") != "auth_base" || q.Get("state") != "st-123" ||
		q.Get("redirect_uri") != "https://h5.example.cn/h5/?from=city" || len(q) != 4 {
		t.Fatalf("authorize URL %s", u)
	}
	// The redirect is one encoded parameter: its own query cannot add
	// parameters to Alipay's.
	if strings.Contains(u.RawQuery, "from=city") {
		t.Fatalf("redirect_uri not encoded: %s", u.RawQuery)
	}
}

func TestOnlyTheConfiguredH5PagesMayReceiveAnAuthCode(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	if !e.client.WebLogin().RedirectAllowed(alipayfake.H5Redirect) {
		t.Fatal("the configured page is refused")
	}
	for _, u := range []string{"", alipayfake.H5Redirect + "x", "https://evil.example/h5/", strings.ToUpper(alipayfake.H5Redirect)} {
		if e.client.WebLogin().RedirectAllowed(u) {
			t.Errorf("%q allowed", u)
		}
	}
	cfg := e.cfg
	cfg.H5RedirectURIs = nil
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	if c.WebLogin().RedirectAllowed(alipayfake.H5Redirect) || c.WebLoginConfigured() {
		t.Fatal("a page allowed with none configured")
	}
	cfg.H5RedirectURIs = []string{"/h5/"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "LIANBAN_ALIPAY_H5_REDIRECT_URIS") {
		t.Fatalf("a relative H5 page validates: %v", err)
	}
}

// The fake's authorize page sends the browser back with a code that logs
// in as one user of the application: the same user id the mini-program's
// code of that user gives.
func TestTheFakesAuthorizePageSendsTheBrowserBackWithAnAuthCodeAndTheState(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.client.WebLogin().AuthorizeURL(alipayfake.H5Redirect, "st-abc"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), alipayfake.H5Redirect+"?") {
		t.Fatalf("authorize page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	bq := back.Query()
	if bq.Get("state") != "st-abc" || bq.Get("auth_code") == "" || bq.Get("app_id") != e.fake.AppID() || bq.Get("scope") != "auth_base" {
		t.Fatalf("sent back to %s", back)
	}
	e.fake.AddUser(bq.Get("auth_code"), "2088102146225135")
	w := e.client.WebLogin()
	if w.Name() != "alipay_web" || !e.client.WebLoginConfigured() {
		t.Fatalf("web login %q configured=%t", w.Name(), e.client.WebLoginConfigured())
	}
	id, err := w.Login(context.Background(), bq.Get("auth_code"))
	if err != nil {
		t.Fatal(err)
	}
	if id != (models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: "2088102146225135"}) {
		t.Fatalf("identity %+v", id)
	}

	bad := strings.Replace(e.client.WebLogin().AuthorizeURL(alipayfake.H5Redirect, "s"), "app_id="+e.fake.AppID(), "app_id=2021000000009999", 1)
	if resp, err := noRedirect.Get(bad); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("another application's authorize: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
