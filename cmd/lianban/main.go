// Command lianban runs the lianban server: the backend-for-frontend that
// lets people in Inner Mongolia enrol in and pay social insurance from
// their phones, and lets the hall's three departments handle the rest.
//
//	lianban            run the server (same as "lianban serve")
//	lianban migrate    apply database migrations and exit
//	lianban staff-bootstrap --username U --role admin
//	                   create the first hall admin (prints its password and TOTP secret once)
//	lianban rekey [-batch N]
//	                   re-encrypt personal data under the newest key and suite, while the service runs
//
// With no configuration it runs on its embedded defaults: SQLite under
// data/, an in-process Redis, and sandbox channels.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lianban/lianban/catalog"
	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit, ok := containerMemoryLimit(os.ReadFile); ok {
			debug.SetMemoryLimit(limit / 10 * 7)
		}
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lianban:", err)
		os.Exit(1)
	}
}

// defaultGCPercent is the server's GOGC unless the environment sets one.
// Its live heap is small (about 10 MiB under load) and a request allocates
// a few KiB, so at Go's default of 100 it collected about ten times a
// second under load, and a request arriving during a cycle waited behind
// it: at 30% of /healthz's rate, getMe's p99 was 29 ms at 100 and 13 ms at
// 800 (make perf, idle machine). 400 lets the heap grow to about five
// times the live data, tens of MiB, for a few collections a second.
const defaultGCPercent = 400

// containerMemoryLimit is the memory limit of the cgroup the process runs
// in (v2, then v1), if it has one. With GOGC at 400 the heap may grow to
// five times what is live at a collection, and a collection that ends in
// the middle of a large upload (a 32 MiB roster unzipped) sets that
// target high: a soft limit at 70% of the container's makes the collector
// work harder before the container is killed. GOMEMLIMIT, when set, is
// the operator's and wins.
func containerMemoryLimit(read func(string) ([]byte, error)) (int64, bool) {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := read(f)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		// "max" (v2) or a page-rounded huge number (v1) is no limit.
		if err != nil || v <= 0 || v >= 1<<60 {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// run is the whole program; main only supplies the process's context,
// arguments, environment and output, so tests can run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stdout, cfg.LogLevel)
	switch cmd {
	case "serve":
		if err := cfg.checkSandbox(); err != nil {
			return err
		}
		out := newLineBatcher(stdout)
		defer out.Close()
		log = slog.New(flushAtWarn{newLogger(out, cfg.LogLevel).Handler(), out})
		app, err := build(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer app.Close()
		return app.Serve(ctx)
	case "staff-bootstrap":
		return staffBootstrap(ctx, cfg, log, args[1:], stdout)
	case "rekey":
		return rekeyCommand(ctx, cfg, log, args[1:], stdout)
	case "migrate":
		db, err := store.Open(ctx, cfg.Database)
		if err != nil {
			return err
		}
		defer db.Close()
		applied, err := db.Migrate(ctx)
		log.Info("migrated", "applied", applied)
		return err
	}
	return fmt.Errorf("unknown command %q (want serve, migrate, staff-bootstrap or rekey)", cmd)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// App is the wired server.
type App struct {
	cfg     Config
	log     *slog.Logger
	db      *store.DB
	redis   *store.Redis
	svc     *service.Service
	handler http.Handler
	closers []func()
	// The sandbox's fakes of the login channels the router serves.
	sandboxTaxApp handlers.TaxAppMinter
	sandboxOIDC   http.Handler
}

// build connects everything the server needs; it fails with a clear
// message when something is missing or unreachable.
func build(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	log.Info("starting lianban", "config", cfg.Masked())
	cat, err := catalog.Load()
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	app := &App{cfg: cfg, log: log}
	ok := false
	defer func() {
		if !ok {
			app.Close()
		}
	}()
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	app.db = db
	app.closers = append(app.closers, func() { _ = db.Close() })
	applied, err := db.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("database ready", "dialect", db.Dialect, "migrations_applied", applied)
	rdb, err := store.OpenRedis(ctx, cfg.Redis)
	if err != nil {
		return nil, err
	}
	rdb.Log = log
	app.redis = rdb
	app.closers = append(app.closers, func() {
		if err := rdb.Close(); err != nil {
			log.Warn("redis close", "err", err)
		}
	})
	if rdb.Embedded() {
		log.Warn("using the embedded in-process Redis: single-process only, sessions are lost on restart; set LIANBAN_REDIS for production")
	}
	log.Info("redis ready", "embedded", rdb.Embedded(), "cluster", rdb.Cluster())
	pii, err := openPII(ctx, cfg, db)
	if err != nil {
		return nil, err
	}
	log.Info("personal data keyring", "crypto", cfg.Crypto, "seals_with", pii.Current())
	clock := models.SystemClock{}
	opt := service.Defaults()
	opt.CryptoSM = cfg.Crypto == cryptoSM
	opt.Sandbox = cfg.Sandbox
	opt.PublicBaseURL = cfg.PublicURL
	opt.WorkerInterval = cfg.WorkerInterval
	opt.WorkLease = cfg.WorkLease
	policy := cat.Policy
	if cfg.Sandbox && cfg.SandboxOpenWindows {
		// A demo must work on any day: the notices' windows (2025: 10-09 to
		// 12-20) would turn the README's walk-through into
		// OUT_OF_COLLECTION_PERIOD for most of the year. Sandbox carries the
		// last published year forward (provisional, as its sources say) and
		// opens this year's flexible windows; production never does.
		policy = demoPolicy(policy, clock.Now())
		log.Warn("sandbox: flexible-scheme collection windows open all year for the demo; set LIANBAN_SANDBOX_OPEN_WINDOWS=false to use the notices' windows")
	}
	deps := service.Deps{DB: db, Redis: rdb, PII: pii, Policy: policy, Clock: clock, Log: log,
		Logins: map[string]models.LoginChannel{}, Payments: map[string]models.PaymentChannel{}, Cashiers: map[string]service.Cashier{},
		Messengers: map[string]models.MessageSender{}}
	if err := wireChannels(ctx, cfg, &deps, app); err != nil {
		return nil, err
	}
	if deps.Certificates, err = certificateDeps(cfg); err != nil {
		return nil, err
	}
	app.svc = service.New(deps, opt)
	if deps.Identity == nil || deps.Treasury == nil || deps.Agency == nil {
		// Only sandbox stand-ins exist so far (see README): outside sandbox
		// mode identity binding answers 503 and paid records stay "paid"
		// until real connectors are wired here.
		log.Warn("person registry, treasury (TIPS) or agency booking not connected",
			"identity", deps.Identity != nil, "treasury", deps.Treasury != nil, "agency", deps.Agency != nil)
	}
	if deps.Contributions == nil || deps.MedicalAssessor == nil || deps.CivilAffairs == nil {
		// Without them payables say the fact is unknown: no 延长缴费 months,
		// no assessed flexible medical amount, no resident medical amount.
		log.Warn("contribution records, medical assessment or civil affairs not connected",
			"contributions", deps.Contributions != nil, "medical_assessor", deps.MedicalAssessor != nil, "civil_affairs", deps.CivilAffairs != nil)
	}
	if err := wireStaff(ctx, cfg, app); err != nil {
		return nil, err
	}
	if cfg.Sandbox {
		for _, p := range sandbox.DemoPeople() {
			for kind, unit := range p.UnitInsured {
				if err := app.svc.SeedUnitInsurance(ctx, p.Name, p.IDNumber, kind, unit); err != nil {
					return nil, fmt.Errorf("seed sandbox people: %w", err)
				}
			}
		}
		if err := seedSandboxPartners(ctx, app.svc); err != nil {
			return nil, err
		}
	} else if err := retireSandboxPartnerKeys(ctx, app.svc, log); err != nil {
		return nil, err
	}
	app.handler = handlers.New(handlers.Config{Service: app.svc, Services: cat.Services, Policy: policy, Log: log,
		Sandbox: cfg.Sandbox, Ready: app.ready, TrustedProxies: splitList(cfg.TrustedProxies),
		SandboxTaxApp: app.sandboxTaxApp, SandboxOIDC: app.sandboxOIDC, Collectors: dbCollectors(db)})
	ok = true
	return app, nil
}

// demoPolicy is the policy book a sandbox serves on the day now: the last
// published year carried forward (provisional) to cover next year, and
// this year's flexible collection windows open all year.
func demoPolicy(book *models.PolicyBook, now time.Time) *models.PolicyBook {
	year := now.In(models.Beijing).Year()
	return book.CarriedForwardTo(year + 1).WithFlexibleWindowsOpen(year)
}

// certificateDeps parses the font once and sets up signing. The
// verification-code secret is derived from the newest signing key so one
// secret configures both (codes are stored with each certificate, so a
// new key leaves printed codes valid).
func certificateDeps(cfg Config) (service.CertificateDeps, error) {
	r, err := certificate.NewRenderer(cfg.PublicURL + "/api/v1/certificates/verify")
	if err != nil {
		return service.CertificateDeps{}, fmt.Errorf("certificate renderer: %w", err)
	}
	signer, seed, err := certSigner(cfg)
	if err != nil {
		return service.CertificateDeps{}, err
	}
	m := hmac.New(sha256.New, seed)
	m.Write([]byte("lianban/certificate/verify-code/v1"))
	return service.CertificateDeps{Renderer: r, Signer: signer, VerifySecret: m.Sum(nil)}, nil
}

// loadPIIKey reads LIANBAN_PII_KEY, or in sandbox mode a key generated
// once and kept under the data directory so restarts can read old data.
func loadPIIKey(cfg Config) ([]byte, error) {
	return loadKey(cfg, "LIANBAN_PII_KEY", cfg.PIIKey, "pii.key")
}

// loadKey decodes a base64 32-byte key from configuration; in sandbox mode
// an unset key is generated once and kept under the data directory.
func loadKey(cfg Config, name, configured, file string) ([]byte, error) {
	if configured != "" {
		k, err := base64.StdEncoding.DecodeString(configured)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s must be base64 of exactly 32 bytes", name)
		}
		return k, nil
	}
	if !cfg.Sandbox {
		return nil, fmt.Errorf("%s is required outside sandbox mode (base64 of 32 random bytes)", name)
	}
	path := filepath.Join(cfg.DataDir, file)
	if b, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s is not a base64 32-byte key", path)
		}
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// ready is /readyz: the database answers with a schema this binary can
// use, and Redis answers. It is asked afresh every time, so an instance
// whose database went away, or started before another instance finished
// migrating, becomes ready by itself when that is over.
func (a *App) ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	pending, err := a.db.Pending(ctx)
	if err != nil {
		return fmt.Errorf("database schema: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("database schema is behind this binary: %d migrations pending (%s first)", len(pending), pending[0])
	}
	if err := a.redis.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Serve listens until ctx ends, then drains requests and stops workers.
func (a *App) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	return a.serveOn(ctx, ln)
}

// serveOn is Serve on a listener already bound (a test binds its own:
// a port picked free and closed again can be taken by another process
// before Serve binds it).
func (a *App) serveOn(ctx context.Context, ln net.Listener) error {
	if _, err := a.startPprof(ctx, a.cfg.PprofAddr); err != nil {
		_ = ln.Close()
		return fmt.Errorf("LIANBAN_PPROF_ADDR: %w", err)
	}
	// net/http's own complaints (a TLS handshake, a panicking handler)
	// go to the server's log rather than straight to stderr.
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		_ = a.svc.RunWorkers(workCtx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("listening", "addr", ln.Addr().String(), "sandbox", a.cfg.Sandbox, "public_url", a.cfg.PublicURL, "instance", a.svc.InstanceID)
	if a.cfg.Sandbox {
		a.log.Warn("sandbox mode: anyone can log in as anyone and identities are not checked; every response says X-Lianban-Sandbox: true",
			"explicit", a.cfg.SandboxExplicit)
	}
	drained := true
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
		err = srv.Shutdown(sctx)
		cancel()
		drained = err == nil
	}
	stopWork()
	<-workersDone
	if drained {
		a.handBackWork()
	} else {
		// Requests are still running past the grace (an execute sending
		// payouts one after another): handing their claims back would let
		// another instance send what they are sending. The leases end by
		// themselves.
		a.log.Warn("requests still running at shutdown; their work leases expire by themselves", "instance", a.svc.InstanceID, "err", err)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// handBackWork releases the work leases this instance still holds once its
// workers stopped (their last claims are released as each piece of work
// ends, but a release that failed leaves one): the other instances take
// the work up now instead of when the leases end.
func (a *App) handBackWork() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := a.svc.ReleaseAllWork(ctx)
	if err != nil {
		a.log.Warn("work leases not handed back; they expire by themselves", "instance", a.svc.InstanceID, "err", err)
		return
	}
	a.log.Info("work handed back", "instance", a.svc.InstanceID, "leases", n)
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Close releases connections in reverse order of opening.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// dbCollectors exposes the database pool (open, in use, idle, waits) on
// /metrics as go_sql_* with db_name="lianban": a leak of connections shows
// there before the database refuses new ones.
func dbCollectors(db *store.DB) []prometheus.Collector {
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return nil
	}
	return []prometheus.Collector{collectors.NewDBStatsCollector(sqlDB, "lianban")}
}
