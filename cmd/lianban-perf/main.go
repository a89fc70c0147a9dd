// Command lianban-perf is `make perf`: it builds and starts the server the
// way the README's `make run` does (embedded defaults, or PostgreSQL and
// Redis when LIANBAN_TEST_POSTGRES / LIANBAN_TEST_REDIS name them, each
// run in a database of its own), seeds people through the public API,
// drives each endpoint of issue 13 for a fixed time with 64 connections,
// and prints one line per endpoint: requests per second, p50 and p99
// latency, errors and the ratio to bare /healthz of the same run.
//
// It measures only; nothing here asserts a timing, because shared machines
// are noisy and the ratios are read by people.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// endpoints are the cases in the order they run; -only picks some of them
// (healthz always runs, it is every ratio's denominator). moneySerial runs
// before money: money leaves some 1,500 paid orders behind it that the
// workers then ask the treasury and the agency about, one commit after
// another, and the serial steps queued behind that backlog for SQLite's
// one writer.
var endpointNames = []string{"healthz", "listRecords", "getMe", "getPayment", "queryPayables",
	"issueCertificate", "moneySerial", "money", "listRecords10k", "listPayments10k"}

// toolSetEnv are the server settings the tool makes itself and relies on.
var toolSetEnv = []string{"LIANBAN_ADDR", "LIANBAN_DATA_DIR", "LIANBAN_DATABASE", "LIANBAN_REDIS", "LIANBAN_TRUSTED_PROXIES", "LIANBAN_PPROF_ADDR"}

// options are the command's flags.
type options struct {
	Duration  time.Duration
	Conns     int
	People    int
	Only      []string
	PprofAddr string
	BigRows   int
	Keep      bool
	// ServerEnv are LIANBAN_ settings given to the server on top of the
	// tool's own (-server-env KEY=VALUE, repeatable). The server is not
	// handed the caller's environment: a developer's LIANBAN_DATABASE
	// must not become the server's, so LIANBAN_WORKER_INTERVAL=1h in
	// front of the command does nothing, which made a "workers stopped"
	// run measure the workers running.
	ServerEnv []string
}

func (o options) wants(name string) bool {
	return name == "healthz" || len(o.Only) == 0 || slices.Contains(o.Only, name)
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lianban-perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each endpoint is driven")
	fs.IntVar(&o.Conns, "conns", 64, "concurrent connections (closed loop: each sends its next request when the last is answered)")
	fs.IntVar(&o.People, "people", 25, "people seeded through the API, each with one paid month")
	only := fs.String("only", "", "comma-separated endpoints to run (healthz always runs): "+strings.Join(endpointNames, ","))
	fs.StringVar(&o.PprofAddr, "pprof", "", "LIANBAN_PPROF_ADDR for the server, e.g. 127.0.0.1:6060, to take profiles while it runs")
	fs.IntVar(&o.BigRows, "big-rows", 10000, "records and payments given to one person for the *10k cases")
	fs.Func("server-env", "a LIANBAN_KEY=VALUE setting for the server, e.g. LIANBAN_WORKER_INTERVAL=1h (repeatable; the caller's own LIANBAN_ variables are not passed on)", func(kv string) error {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "LIANBAN_") || strings.ContainsAny(k, " \t") {
			return fmt.Errorf("want LIANBAN_KEY=VALUE, got %q", kv)
		}
		if slices.Contains(toolSetEnv, k) {
			// The tool reads these itself (it seeds the database and
			// calls the address it gave): overriding one would split
			// the run between two servers or databases.
			return fmt.Errorf("%s is set by the tool (use -pprof, LIANBAN_TEST_POSTGRES or LIANBAN_TEST_REDIS)", k)
		}
		o.ServerEnv = append(o.ServerEnv, kv)
		return nil
	})
	fs.BoolVar(&o.Keep, "keep", false, "keep the server's temporary directory (its log, with every request's duration; its SQLite database)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.Duration <= 0:
		return o, errors.New("-duration must be positive")
	case o.Conns < 1:
		return o, errors.New("-conns must be at least 1")
	case o.People < 1:
		return o, errors.New("-people must be at least 1")
	case o.BigRows < 1:
		return o, errors.New("-big-rows must be at least 1")
	}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !slices.Contains(endpointNames, n) {
			return o, fmt.Errorf("-only: unknown endpoint %q (want some of %s)", n, strings.Join(endpointNames, ","))
		}
		o.Only = append(o.Only, n)
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(ctx, o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lianban-perf:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	setup := "embedded SQLite + in-process Redis"
	if os.Getenv("LIANBAN_TEST_POSTGRES") != "" || os.Getenv("LIANBAN_TEST_REDIS") != "" {
		setup = storeSetup(os.Getenv("LIANBAN_TEST_POSTGRES") != "", os.Getenv("LIANBAN_TEST_REDIS") != "")
	}
	srv, err := startServer(ctx, o, out)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintf(out, "# lianban-perf: %s; %d people, %d connections, %s per endpoint; %d CPUs (GOMAXPROCS %d), %s, %s\n",
		setup, o.People, o.Conns, o.Duration, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	c := newClient(srv.BaseURL, o.Conns)
	seedStart := time.Now()
	pop, err := seed(ctx, c, o.People)
	if err != nil {
		return fmt.Errorf("seed: %w\n(server log: %s)", err, srv.LogPath)
	}
	fmt.Fprintf(out, "# seeded %d people through the API in %s\n", len(pop.People), time.Since(seedStart).Round(time.Millisecond))
	b := newBench(c, o, pop)
	fmt.Fprintln(out, tableHeader)
	base, err := b.healthz(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, base.format(base.RPS))
	fmt.Fprintln(out, b.healthzAt(ctx).format(base.RPS))
	var serial []string // moneySerial's lines: a table of their own, printed last
	for _, name := range endpointNames[1:] {
		if !o.wants(name) || ctx.Err() != nil {
			continue
		}
		if strings.HasSuffix(name, "10k") && pop.Big == nil {
			if pop.Big, err = seedBig(ctx, c, srv.Database, o.BigRows); err != nil {
				return fmt.Errorf("seed %d rows: %w", o.BigRows, err)
			}
			if pop.BigRecordsMid, err = middleToken(ctx, c, pop.Big, "/api/v1/records?person=self&page_size=500", 500, o.BigRows); err != nil {
				return fmt.Errorf("records page token: %w", err)
			}
			if pop.BigPaymentsMid, err = middleToken(ctx, c, pop.Big, "/api/v1/payments?page_size=100", 100, o.BigRows); err != nil {
				return fmt.Errorf("payments page token: %w", err)
			}
		}
		if name == "issueCertificate" {
			more, err := seed(ctx, c, certPeopleFor(o.Duration))
			if err != nil {
				return fmt.Errorf("seed certificate people: %w", err)
			}
			pop.CertPeople = more.People
		}
		if name == "moneySerial" {
			if serial, err = b.moneySerial(ctx, srv.Database, os.Getenv("LIANBAN_TEST_REDIS")); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		lines, err := b.runCase(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, l := range lines {
			fmt.Fprintln(out, l.format(base.RPS))
		}
	}
	if len(serial) > 0 && ctx.Err() == nil {
		srv.Stop()
		steps, err := inProcessSteps(ctx, 3)
		if err != nil {
			return err
		}
		serial = append(serial, steps...)
	}
	if len(serial) > 0 {
		fmt.Fprintln(out)
		fmt.Fprintln(out, serialReport(serial))
	}
	return ctx.Err()
}

func storeSetup(pg, redis bool) string {
	db, r := "embedded SQLite", "in-process Redis"
	if pg {
		db = "PostgreSQL"
	}
	if redis {
		r = "Redis"
	}
	return db + " + " + r
}
