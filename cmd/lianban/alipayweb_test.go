package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTheSandboxAlipayH5LoginGoesThroughTheFakeAndBackToTheH5: with no
// Alipay keys, sandbox mode runs Alipay against its fake, whose web
// authorization page sends people back to this server's /h5/ (the
// default of LIANBAN_ALIPAY_H5_REDIRECT_URIS there), and the auth_code
// it gives logs in with its state as an alipay user.
func TestTheSandboxAlipayH5LoginGoesThroughTheFakeAndBackToTheH5(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := map[string]string{"LIANBAN_ADDR": addr, "LIANBAN_DATABASE": "sqlite://" + dir + "/lianban.db", "LIANBAN_DATA_DIR": dir}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("server did not shut down")
		}
	})
	base := "http://" + addr
	post := func(path string, body map[string]string, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(base+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	var start struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	if st := post("/api/v1/sessions/alipay-web/authorize", map[string]string{"redirect_uri": base + "/h5/"}, &start); st != 201 ||
		!strings.Contains(start.AuthorizationURL, "/oauth2/publicAppAuthorize.htm?") || strings.HasPrefix(start.AuthorizationURL, base) {
		t.Fatalf("start: %d %+v", st, start)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(start.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), base+"/h5/?") {
		t.Fatalf("the fake sent the browser to %q", resp.Header.Get("Location"))
	}
	var login struct {
		User struct {
			Channel string `json:"channel"`
		} `json:"user"`
	}
	if st := post("/api/v1/sessions/alipay-web", map[string]string{"auth_code": back.Query().Get("auth_code"), "state": back.Query().Get("state")}, &login); st != 201 || login.User.Channel != "alipay" {
		t.Fatalf("loginAlipayWeb: %d %+v", st, login)
	}
}
