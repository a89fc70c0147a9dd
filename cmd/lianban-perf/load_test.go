package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a server that remembers what each request carried and how
// many were in flight at once.
type recorder struct {
	mu                    sync.Mutex
	seen                  map[string]int // method path auth xff content-type body
	inFlight, maxInFlight atomic.Int64
	hold                  time.Duration
	fail                  func(r *http.Request) bool
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rec.inFlight.Add(1)
	defer rec.inFlight.Add(-1)
	for {
		m := rec.maxInFlight.Load()
		if n <= m || rec.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.seen[strings.Join([]string{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("X-Forwarded-For"), r.Header.Get("Content-Type"), string(body)}, " ")]++
	rec.mu.Unlock()
	time.Sleep(rec.hold)
	if rec.fail != nil && rec.fail(r) {
		http.Error(w, `{"error":{"code":"RATE_LIMITED"}}`, http.StatusTooManyRequests)
		return
	}
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func newRecorder(t *testing.T, hold time.Duration) (*recorder, string) {
	rec := &recorder{seen: map[string]int{}, hold: hold}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func TestClosedLoopSendsEveryPreparedRequestFromAtMostConnsConnections(t *testing.T) {
	rec, base := newRecorder(t, time.Millisecond)
	alice, bob := &person{Token: "tok-a", IP: "10.0.0.1"}, &person{Token: "tok-b", IP: "10.0.0.2"}
	reqs := []request{
		{method: "GET", path: "/api/v1/me", p: alice},
		{method: "POST", path: "/api/v1/payables/query", body: []byte(`{"person":"self"}`), p: bob},
		{method: "GET", path: "/healthz"},
	}
	line, err := load{Base: base, Name: "mix", Reqs: reqs, Conns: 4, Duration: 300 * time.Millisecond}.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if line.Name != "mix" || line.Errors != 0 || line.Requests < 30 || line.RPS <= 0 || line.P50 <= 0 || line.P99 < line.P50 {
		t.Fatalf("line %+v", line)
	}
	want := []string{
		"GET /api/v1/me Bearer tok-a 10.0.0.1  ",
		`POST /api/v1/payables/query Bearer tok-b 10.0.0.2 application/json {"person":"self"}`,
		"GET /healthz    ",
	}
	for _, k := range want {
		if rec.seen[k] == 0 {
			t.Errorf("never sent %q; sent %v", k, rec.seen)
		}
	}
	if len(rec.seen) != len(want) {
		t.Errorf("sent requests nobody prepared: %v", rec.seen)
	}
	// Round robin: no request is sent more than once ahead of another.
	for _, k := range want {
		if d := rec.seen[k] - rec.seen[want[0]]; d > 1 || d < -1 {
			t.Errorf("not round robin: %v", rec.seen)
		}
	}
	if m := rec.maxInFlight.Load(); m > 4 || m < 2 {
		t.Errorf("%d requests in flight at once from 4 connections", m)
	}
}

func TestOpenLoopKeepsItsRateAndCountsTheWaitForABusyConnection(t *testing.T) {
	// 200 a second for half a second is 100 requests, whatever the server
	// does; each takes 20 ms, so one connection can answer 50 a second and
	// the rest wait: their latency runs from when they fell due.
	rec, base := newRecorder(t, 20*time.Millisecond)
	line, err := load{Base: base, Name: "open", Reqs: []request{{method: "GET", path: "/healthz"}}, Conns: 1, Duration: 500 * time.Millisecond, Rate: 200}.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if line.Requests != 100 || line.Errors != 0 {
		t.Fatalf("sent %d (errors %d), want the 100 that fell due", line.Requests, line.Errors)
	}
	if rec.maxInFlight.Load() != 1 {
		t.Fatalf("%d in flight from one connection", rec.maxInFlight.Load())
	}
	// The last request fell due at 495 ms and was answered after 100 × 20
	// ms: it waited about 1.5 s. Timed from its send, it would say 20 ms.
	if line.P99 < time.Second {
		t.Fatalf("p99 %s: the wait for a free connection was not counted", line.P99)
	}
}

func TestErrorsAreCountedAndTheFirstIsShown(t *testing.T) {
	rec, base := newRecorder(t, 0)
	var n atomic.Int64
	rec.fail = func(*http.Request) bool { return n.Add(1)%2 == 0 }
	line, err := load{Base: base, Name: "half", Reqs: []request{{method: "GET", path: "/x"}}, Conns: 2, Duration: 200 * time.Millisecond}.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if line.Errors == 0 || line.Errors == line.Requests || !strings.Contains(line.FirstError, "429") || !strings.Contains(line.FirstError, "RATE_LIMITED") {
		t.Fatalf("line %+v", line)
	}
	// The rate counts answers that succeeded only.
	if got := float64(line.Requests-line.Errors) / 0.2; line.RPS > got*1.5 || line.RPS < got/2 {
		t.Fatalf("rps %.0f for %d successes in 200 ms", line.RPS, line.Requests-line.Errors)
	}
}
