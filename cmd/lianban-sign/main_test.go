package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianban/lianban/channels/partner"
)

// fakeCounterAPI checks signatures as the server does (the server's own
// check is tested in handlers) with the keys it knows, and echoes what it
// got.
func fakeCounterAPI(t *testing.T, keys map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		id := r.Header.Get(partner.HeaderPartnerID)
		var ts int64
		for _, c := range r.Header.Get(partner.HeaderTimestamp) {
			ts = ts*10 + int64(c-'0')
		}
		want := partner.Sign([]byte(keys[id]), r.Method, r.RequestURI, ts, r.Header.Get(partner.HeaderNonce), b)
		if keys[id] == "" || r.Header.Get(partner.HeaderSignature) != want {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"error":{"code":"PARTNER_AUTH_FAILED"}}`)
			return
		}
		_, _ = io.WriteString(w, id+" "+r.Method+" "+r.RequestURI+" "+r.Header.Get("Content-Type")+" "+string(b))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSignsSendsAndExitsByStatus(t *testing.T) {
	srv := fakeCounterAPI(t, map[string]string{"sandbox-bank": "sandbox-partner-key", "other-bank": "other-key"})
	call := func(env map[string]string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader("from stdin"), &out, &errb)
		return code, out.String(), errb.String()
	}
	// The sandbox bank by default.
	code, out, _ := call(nil, "post", srv.URL+"/partner/v1/payables/query?x=1", `{"voucher_no":"V1"}`)
	if code != 0 || out != "sandbox-bank POST /partner/v1/payables/query?x=1 application/json {\"voucher_no\":\"V1\"}\n" {
		t.Fatalf("default partner: %d %q", code, out)
	}
	// The environment, then the flags, choose another.
	code, out, _ = call(map[string]string{"LIANBAN_PARTNER_ID": "other-bank", "LIANBAN_PARTNER_KEY": "other-key"}, "GET", srv.URL+"/partner/v1/x")
	if code != 0 || !strings.HasPrefix(out, "other-bank GET /partner/v1/x ") {
		t.Fatalf("from the environment: %d %q", code, out)
	}
	code, out, _ = call(map[string]string{"LIANBAN_PARTNER_ID": "x", "LIANBAN_PARTNER_KEY": "y"}, "-partner", "other-bank", "-key", "other-key", "GET", srv.URL+"/partner/v1/x")
	if code != 0 || !strings.HasPrefix(out, "other-bank") {
		t.Fatalf("from the flags: %d %q", code, out)
	}
	// @file sends a file, a .csv as text/csv; @- reads standard input.
	dir := t.TempDir()
	f := filepath.Join(dir, "2026-11-20.csv")
	if err := os.WriteFile(f, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = call(nil, "PUT", srv.URL+"/partner/v1/reconciliation/2026-11-20", "@"+f)
	if code != 0 || out != "sandbox-bank PUT /partner/v1/reconciliation/2026-11-20 text/csv a,b\n1,2\n" {
		t.Fatalf("@file: %d %q", code, out)
	}
	code, out, _ = call(nil, "POST", srv.URL+"/partner/v1/x", "@-")
	if code != 0 || !strings.HasSuffix(out, "from stdin\n") {
		t.Fatalf("@-: %d %q", code, out)
	}
	// A refusal: exit 1, the body on standard error, nothing on standard output.
	code, out, errs := call(nil, "-key", "wrong", "GET", srv.URL+"/partner/v1/x")
	if code != 1 || out != "" || !strings.Contains(errs, "HTTP 401") || !strings.Contains(errs, "PARTNER_AUTH_FAILED") {
		t.Fatalf("refused: %d %q %q", code, out, errs)
	}
	// Usage errors exit 2.
	if code, _, _ := call(nil, "GET"); code != 2 {
		t.Fatalf("missing URL: %d", code)
	}
	if code, _, _ := call(nil, "POST", srv.URL, "@"+filepath.Join(dir, "missing")); code != 2 {
		t.Fatalf("missing file: %d", code)
	}
}
