package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the server and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestTheServerRunsOnItsEmbeddedDefaultsAndShutsDownGracefully starts the
// real program with no configuration but an address and a data directory,
// talks to it, and stops it.
func TestTheServerRunsOnItsEmbeddedDefaultsAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	addr, pprofAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"LIANBAN_ADDR": addr, "LIANBAN_DATABASE": "sqlite://" + dir + "/lianban.db",
		"LIANBAN_DATA_DIR": dir, "LIANBAN_WECHATPAY_APIV3_KEY": "", "LIANBAN_PPROF_ADDR": pprofAddr}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()

	base := "http://" + addr
	var resp *http.Response
	var err error
	// A generous bound, not a timing: under -race on a busy 2-core CI
	// machine the migrations alone once took 6 s and startup passed 10.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if resp, err = http.Get(base + "/readyz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server never became ready: %v\n%s", err, logs)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/services", nil)
	req.Header.Set("X-Request-Id", "test-request-42")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var svc struct{ Items []any }
	_ = json.NewDecoder(resp.Body).Decode(&svc)
	resp.Body.Close()
	if len(svc.Items) != 10 || resp.Header.Get("X-Request-Id") != "test-request-42" {
		t.Fatalf("services: %d items, request id %q", len(svc.Items), resp.Header.Get("X-Request-Id"))
	}
	if resp.Header.Get("X-Lianban-Sandbox") != "true" {
		t.Fatalf("the embedded defaults run a sandbox that does not say so: %v", resp.Header)
	}
	// The profiler answers on LIANBAN_PPROF_ADDR and nowhere on the API.
	for u, want := range map[string]int{"http://" + pprofAddr + "/debug/pprof/cmdline": 200, base + "/debug/pprof/cmdline": 404, base + "/debug/pprof/": 404} {
		resp, err = http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", u, resp.StatusCode, want)
		}
	}
	// The request is counted just after its response is written, so the
	// scrape may have to look again; under -race on a loaded CI machine a
	// second was seen not to be enough.
	var metrics []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(metrics), `route="/api/v1/services",status="200"} 1`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(string(metrics), `lianban_http_requests_total{method="GET",route="/api/v1/services",status="200"} 1`) ||
		!strings.Contains(string(metrics), `lianban_http_request_duration_seconds_bucket{method="GET",route="/api/v1/services"`) {
		t.Fatalf("metrics lack the request count or latency by route:\n%.2000s", metrics)
	}
	// The database pool, which the soak (make soak) watches for leaks.
	if !strings.Contains(string(metrics), `go_sql_open_connections{db_name="lianban"}`) {
		t.Fatalf("metrics lack the database pool:\n%.2000s", metrics)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
	out := logs.String()
	for _, want := range []string{`"msg":"listening"`, `"request_id":"test-request-42"`, `"route":"/api/v1/services"`, `"msg":"shutting down"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(out, `"LIANBAN_DATABASE":"sqlite://`) {
		t.Fatalf("configuration not printed at start-up:\n%.1500s", out)
	}
}

func TestConfigurationPrintsSecretsMasked(t *testing.T) {
	env := map[string]string{"LIANBAN_PII_KEY": "c2VjcmV0", "LIANBAN_WECHAT_SECRET": "wxsecret",
		"LIANBAN_DATABASE": "mysql://root:hunter2@db:3306/lianban", "LIANBAN_WECHATPAY_APIV3_KEY": "apiv3key"}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	printed := fmt.Sprint(cfg.Masked())
	for _, secret := range []string{"c2VjcmV0", "wxsecret", "hunter2", "apiv3key"} {
		if strings.Contains(printed, secret) {
			t.Fatalf("printed configuration reveals %q: %s", secret, printed)
		}
	}
	if cfg.Masked()["LIANBAN_DATABASE"] != "mysql://root:xxxxx@db:3306/lianban" || cfg.Addr != "127.0.0.1:8080" || !cfg.Sandbox {
		t.Fatalf("defaults or masking wrong: %v", cfg.Masked())
	}
}

func TestOutsideSandboxMissingKeysStopStartUp(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LIANBAN_SANDBOX": "false", "LIANBAN_DATABASE": "sqlite://" + dir + "/x.db", "LIANBAN_DATA_DIR": dir,
		"LIANBAN_ADDR": freeAddr(t)}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LIANBAN_PII_KEY") {
		t.Fatalf("want a clear error naming LIANBAN_PII_KEY, got %v", err)
	}
	env["LIANBAN_PII_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	env["LIANBAN_CERT_SIGNING_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	env["LIANBAN_WECHATPAY_MCHID"] = "1900000001"
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "wechat pay is partly configured") {
		t.Fatalf("want the partly configured WeChat Pay named, got %v", err)
	}
	delete(env, "LIANBAN_WECHATPAY_MCHID")
	env["LIANBAN_WECHAT_OA_APPID"] = "wx00000000000000a1"
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LIANBAN_WECHAT_OA_SECRET") {
		t.Fatalf("want the missing official-account secret named, got %v", err)
	}
	delete(env, "LIANBAN_WECHAT_OA_APPID")
	// One certificate file of Alipay's certificate mode but not the others:
	// a half-done switch of modes must not start.
	cert := filepath.Join(dir, "appCertPublicKey.crt")
	if err := os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["LIANBAN_ALIPAY_APP_CERT_FILE"] = cert
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LIANBAN_ALIPAY_ROOT_CERT_FILE") || !strings.Contains(err.Error(), "LIANBAN_ALIPAY_PUBLIC_CERT_FILE") {
		t.Fatalf("want the missing Alipay certificate files named, got %v", err)
	}
	delete(env, "LIANBAN_ALIPAY_APP_CERT_FILE")
	env["LIANBAN_TAXAPP_JWKS_URL"] = "https://id.example.invalid/jwks"
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LIANBAN_TAXAPP_ISSUER") {
		t.Fatalf("want the tax APP's missing issuer named, got %v", err)
	}
	delete(env, "LIANBAN_TAXAPP_JWKS_URL")
	env["LIANBAN_MENGSUBAN_CLIENT_ID"] = "lianban"
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LIANBAN_MENGSUBAN_CLIENT_SECRET") {
		t.Fatalf("want 蒙速办's missing secret named, got %v", err)
	}
}

func TestTheContainersMemoryLimitIsReadFromEitherCgroupVersion(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if v, ok := m[name]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
		ok    bool
	}{
		{"v2 limit", map[string]string{"/sys/fs/cgroup/memory.max": "536870912\n"}, 536870912, true},
		{"v2 no limit", map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 0, false},
		{"v1 limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n"}, 1073741824, true},
		{"v1 no limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"no cgroup", nil, 0, false},
	} {
		got, ok := containerMemoryLimit(files(c.files))
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d %v, want %d %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
