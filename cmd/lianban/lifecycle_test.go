package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/store"
)

// sandboxApp builds the server on a fresh SQLite sandbox, with settings
// (KEY=VALUE) of the test's own.
func sandboxApp(t *testing.T, settings ...string) *App {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"LIANBAN_DATABASE": "sqlite://" + dir + "/lianban.db", "LIANBAN_DATA_DIR": dir,
		"LIANBAN_WECHATPAY_APIV3_KEY": "", "LIANBAN_ADDR": freeAddr(t)}
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	app, err := build(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	return app
}

// /readyz fails while the schema is behind the binary (another instance
// is still migrating it) and recovers by itself once it is migrated, with
// no restart; it fails while the database cannot be reached.
func TestReadinessFollowsTheDatabaseAndItsMigrations(t *testing.T) {
	app := sandboxApp(t)
	ctx := context.Background()
	readyz := func() int {
		rec := httptest.NewRecorder()
		app.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	if code := readyz(); code != 200 {
		t.Fatalf("a migrated sandbox: readyz %d", code)
	}
	// The schema as it was before 0014: the table gone and its record too.
	for _, q := range []string{"DROP TABLE work_leases", "DELETE FROM schema_migrations WHERE version = 14"} {
		if err := app.db.Gorm.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := app.ready(ctx); err == nil || !strings.Contains(err.Error(), "0014_work_leases.sql") {
		t.Fatalf("a schema behind the binary: %v", err)
	}
	if code := readyz(); code != 503 {
		t.Fatalf("a schema behind the binary: readyz %d", code)
	}
	if _, err := app.db.Migrate(ctx); err != nil { // what the migrating instance does
		t.Fatal(err)
	}
	if code := readyz(); code != 200 {
		t.Fatalf("after the migration: readyz %d", code)
	}
	_ = app.db.Close()
	if err := app.ready(ctx); err == nil || !strings.Contains(err.Error(), "database") {
		t.Fatalf("a database that cannot be reached: %v", err)
	}
}

// On shutdown the server drains the request in flight (it completes, and
// only then does Serve return) and hands back the work leases this
// instance holds, leaving other instances' leases alone.
func TestShutdownDrainsRequestsAndHandsWorkBack(t *testing.T) {
	app := sandboxApp(t)
	release := make(chan struct{})
	later := time.Now().Add(time.Hour).UTC()
	for _, l := range []store.WorkLeaseRow{
		{Step: "order_query", ObjectKey: "o1", Holder: app.svc.InstanceID, LeaseUntil: later},
		{Step: "refund_payout", ObjectKey: "p1", Holder: app.svc.InstanceID, LeaseUntil: later},
		{Step: "order_query", ObjectKey: "o2", Holder: "another-instance", LeaseUntil: later},
	} {
		if err := app.db.Gorm.Create(&l).Error; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, entered, served := serveWithSlowRequest(t, ctx, app, release)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-entered
	cancel() // SIGTERM
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if code := <-answered; code != http.StatusNoContent {
		t.Fatalf("the request in flight got %d", code)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
	var left []store.WorkLeaseRow
	if err := app.db.Gorm.Order("object_key").Find(&left).Error; err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Holder != "another-instance" {
		t.Fatalf("leases after shutdown: %+v", left)
	}
}

// A request still running when the grace ends may hold work leases (an
// execute sending payouts one after another): they are not handed back
// under it, but left to expire, so no other instance sends the same thing.
func TestShutdownPastTheGraceLeavesLeasesToExpire(t *testing.T) {
	app := sandboxApp(t)
	app.cfg.ShutdownGrace = 200 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	lease := store.WorkLeaseRow{Step: "refund_payout", ObjectKey: "p1", Holder: app.svc.InstanceID, LeaseUntil: time.Now().Add(time.Hour).UTC()}
	if err := app.db.Gorm.Create(&lease).Error; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, entered, served := serveWithSlowRequest(t, ctx, app, release)
	go func() {
		if resp, err := http.Get(base + "/slow"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel() // SIGTERM, and the request outlives the grace
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve reported a clean drain with a request still running")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not give up after its grace")
	}
	var left []store.WorkLeaseRow
	if err := app.db.Gorm.Find(&left).Error; err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ObjectKey != "p1" {
		t.Fatalf("leases after a shutdown past the grace: %+v", left)
	}
}

// serveWithSlowRequest starts app.Serve with a route /slow that blocks
// until release is closed, and waits until the server listens. It returns
// the base URL, a channel closed when /slow has entered, and Serve's result.
func serveWithSlowRequest(t *testing.T, ctx context.Context, app *App, release <-chan struct{}) (base string, entered <-chan struct{}, served <-chan error) {
	t.Helper()
	in := make(chan struct{})
	inner := app.handler
	app.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(in)
			<-release
			w.WriteHeader(http.StatusNoContent)
			return
		}
		inner.ServeHTTP(w, r)
	})
	// Bound here and kept: freeAddr's port, closed again, was sometimes
	// taken by another test package's server first, which then answered
	// the readiness poll while /slow never reached this one.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.serveOn(ctx, ln) }()
	base = "http://" + ln.Addr().String()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server never listened")
		}
	}
	return base, in, done
}
