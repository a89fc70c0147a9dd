package handlers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// lockedBuffer is a log sink the server writes to while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStrangersNotificationsAreCountedNotPaged: unsigned and unparsable
// bodies on every /notify route get the failure answer each provider's
// protocol expects, and are logged at WARN with a counter in /metrics;
// nothing at ERROR, which is what pages the on-call person.
func TestStrangersNotificationsAreCountedNotPaged(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := servicetest.New(t, db, servicetest.Config{Wechat: true, Alipay: true, NotifyRetry: []time.Duration{},
		Mutate: func(d *service.Deps, _ *service.Options) { d.Log = log }})
	h := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true, Log: log})

	bodies := []struct{ contentType, body string }{
		{"application/json", ""},
		{"application/json", "{"},
		{"application/json", `{"id":"EV-1","event_type":"TRANSACTION.SUCCESS","resource":{"ciphertext":"x"}}`},
		{"application/x-www-form-urlencoded", "trade_status=TRADE_SUCCESS&out_trade_no=LB1&total_amount=1.00&sign=forged"},
		{"text/plain", "\x00\xff garbage"},
	}
	want := map[string]struct {
		status int
		body   string
	}{
		"/api/v1/notify/wechatpay": {http.StatusInternalServerError, `"code":"FAIL"`},
		"/api/v1/notify/alipay":    {http.StatusInternalServerError, "fail"},
		"/api/v1/notify/sandbox":   {http.StatusInternalServerError, `"code":"FAIL"`},
	}
	for path, w := range want {
		for _, b := range bodies {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(b.body))
			req.Header.Set("Content-Type", b.contentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != w.status || !strings.Contains(rec.Body.String(), w.body) {
				t.Errorf("%s %q: %d %s, want the provider's failure answer %d %s", path, b.body, rec.Code, rec.Body, w.status, w.body)
			}
		}
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	requests := 0
	for _, l := range lines {
		var e struct{ Level, Msg, Route string }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if e.Level == "ERROR" {
			t.Errorf("a stranger's notification logged at ERROR: %s", l)
		}
		if e.Msg == "http" && strings.HasPrefix(e.Route, "/api/v1/notify/") {
			requests++
			if e.Level != "WARN" {
				t.Errorf("request line at %s, want WARN: %s", e.Level, l)
			}
		}
	}
	if requests != len(want)*len(bodies) {
		t.Errorf("%d notify request lines logged, want %d", requests, len(want)*len(bodies))
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics, _ := io.ReadAll(rec.Body)
	for _, ch := range []string{"wechat", "alipay", "sandbox"} {
		line := `lianban_notifications_total{channel="` + ch + `",result="rejected"} 5`
		if !strings.Contains(string(metrics), line) {
			t.Errorf("metrics lack %s:\n%s", line, grepLines(string(metrics), "lianban_notifications"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
