package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/lianban/lianban/store"
)

// insertProbe is the table of the insert-commit baseline: one narrow row
// per insert, made and dropped by the tool, never read by the server.
type insertProbe struct {
	ID        string `gorm:"primaryKey;size:64"`
	Kind      string `gorm:"size:32"`
	Amount    int64
	CreatedAt time.Time
}

func (insertProbe) TableName() string { return "perf_insert_probe" }

// serialTableHeader heads moneySerial's lines, printed after the main table.
//
// The last column takes a request's own cost out: the median of a serial
// GET /healthz from the same client (the HTTP exchange and the scheduler's
// wake-ups on both ends, 0.2 ms on the 2-core machine of 2026-12-04,
// about one insert-commit where its disk flushes fast). What is left is
// the step's work.
const serialTableHeader = "| money step, one connection | months | p50 | mean | × insert-commit (p50) | less a request |\n|---|---:|---:|---:|---:|---:|"

// moneySerial is issue 13's measure of the money steps: each of declare,
// pay and settle as a number of single-row insert-commits of the same
// store. One connection pays months one after another (no queueing behind
// other requests), for o.Duration; this process times single-row INSERT
// commits into the same database before and after, and each step's median
// is divided by the inserts' median. The steps are timed over HTTP, so the
// figure also carries the request's own cost (about a /healthz). It also
// times a statement's round trip (SELECT 1) and, when the server uses a
// Redis server (redisURL), a command's (PING), and a serial GET /healthz
// from the steps' client, in the same units: what a step is made of.
//
// One more insert-commit is timed after each month, in the steps' own
// rhythm (the processes idle between requests), on its own line: on the
// 2-core machine of 2026-12-04 it took 1.6 times a back-to-back one on
// PostgreSQL, and 2.3 times on SQLite, where this process's connection
// also rereads what the server's wrote. The steps pay those wake-ups and
// the back-to-back baseline does not; make bench's figure (paired, in
// process) pays neither.
func (b *bench) moneySerial(ctx context.Context, dbURL, redisURL string) ([]string, error) {
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	g := db.Gorm.WithContext(ctx)
	if err := g.AutoMigrate(&insertProbe{}); err != nil {
		return nil, fmt.Errorf("insert probe table: %w", err)
	}
	defer g.Migrator().DropTable(&insertProbe{})
	inserts, err := probeInserts(ctx, db, 200)
	if err != nil {
		return nil, err
	}
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var declare, pay, settle, paired []time.Duration
	var p *person
	deadline := time.Now().Add(b.o.Duration)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p == nil || len(p.Periods) == 0 || len(p.Orders) >= ordersPerPerson {
			// A drawn ID number already bound to another drawn name (a
			// birthday-paradox collision among thousands of people) is
			// refused as the real check would; draw again.
			for try := 0; ; try++ {
				if p, err = b.c.newPerson(ctx, r); err == nil {
					break
				} else if try == 4 {
					return nil, fmt.Errorf("new person: %w", err)
				}
			}
		}
		t, step, err := b.c.payMonth(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", step, err)
		}
		declare, pay, settle = append(declare, t.Declare), append(pay, t.Pay), append(settle, t.Settle)
		after, err := probeInserts(ctx, db, 1)
		if err != nil {
			return nil, err
		}
		paired = append(paired, after...)
	}
	more, err := probeInserts(ctx, db, 200)
	if err != nil {
		return nil, err
	}
	base := quantile(append(inserts, more...), 0.50)
	lines := []string{fmt.Sprintf("| insert-commit (baseline) | – | %s | %s | 1.0 | |", ms(base), ms(mean(append(inserts, more...))))}
	lines = append(lines, probeLine("insert-commit after each month", paired, base))
	// What a step is made of, in the same units: a statement's round trip
	// and, on a Redis server, a command's. A commit is about one round trip
	// and a flush; where the flush is short (0.3 ms on an SSD's PostgreSQL)
	// the steps' round trips weigh more than they do on a slow disk, and
	// the same code reads as more insert-commits.
	trips, err := probeRoundTrips(ctx, db, 200)
	if err != nil {
		return nil, err
	}
	lines = append(lines, probeLine("round trip (SELECT 1)", trips, base))
	if redisURL != "" {
		pings, err := probePings(ctx, redisURL, 200)
		if err != nil {
			return nil, err
		}
		lines = append(lines, probeLine("Redis round trip (PING)", pings, base))
	}
	requests, err := b.probeRequests(ctx, 200)
	if err != nil {
		return nil, err
	}
	request := quantile(requests, 0.50)
	lines = append(lines, probeLine("HTTP request (GET /healthz)", requests, base))
	var total, totalNet float64
	for _, s := range []struct {
		name string
		d    []time.Duration
	}{{"createDeclaration", declare}, {"createPayment", pay}, {"notify (settle)", settle}} {
		x := float64(quantile(s.d, 0.50)) / float64(base)
		net := float64(quantile(s.d, 0.50)-request) / float64(base)
		total += x
		totalNet += net
		lines = append(lines, fmt.Sprintf("| %s | %d | %s | %s | %.1f | %.1f |", s.name, len(s.d), ms(quantile(s.d, 0.50)), ms(mean(s.d)), x, net))
	}
	lines = append(lines, fmt.Sprintf("| declare+pay+settle | %d | | | %.1f | %.1f |", len(settle), total, totalNet))
	return lines, nil
}

// timeEach runs op n times, one after another, and returns how long each
// run took.
func timeEach(n int, op func(i int) error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if err := op(i); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// probeInserts times n single-row INSERT commits, one after another.
func probeInserts(ctx context.Context, db *store.DB, n int) ([]time.Duration, error) {
	g := db.Gorm.WithContext(ctx)
	stamp := time.Now().UnixNano()
	rows := make([]insertProbe, n) // built before the clock starts, as the steps' bodies are
	for i := range rows {
		rows[i] = insertProbe{ID: fmt.Sprintf("probe-%d-%d", stamp, i), Kind: "probe", Amount: int64(i), CreatedAt: time.Now().UTC()}
	}
	return timeEach(n, func(i int) error {
		if err := g.Create(&rows[i]).Error; err != nil {
			return fmt.Errorf("insert probe: %w", err)
		}
		return nil
	})
}

// probeRoundTrips times n SELECT 1 statements, one after another.
func probeRoundTrips(ctx context.Context, db *store.DB, n int) ([]time.Duration, error) {
	g := db.Gorm.WithContext(ctx)
	return timeEach(n, func(int) error {
		var one int
		if err := g.Raw("SELECT 1").Scan(&one).Error; err != nil {
			return fmt.Errorf("round-trip probe: %w", err)
		}
		return nil
	})
}

// probePings times n PINGs to the Redis server at url, one after another.
func probePings(ctx context.Context, url string, n int) ([]time.Duration, error) {
	r, err := store.OpenRedis(ctx, url)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return timeEach(n, func(int) error {
		if err := r.Client.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis probe: %w", err)
		}
		return nil
	})
}

// probeRequests times n GET /healthz from the steps' own client, one
// after another: a request's own cost.
func (b *bench) probeRequests(ctx context.Context, n int) ([]time.Duration, error) {
	return timeEach(n, func(int) error {
		if err := b.c.send(ctx, "GET", "/healthz", nil, nil, nil); err != nil {
			return fmt.Errorf("request probe: %w", err)
		}
		return nil
	})
}

// probeLine is a probe's line: its median and mean, and its median as a
// share of the insert-commit's.
func probeLine(name string, d []time.Duration, base time.Duration) string {
	return fmt.Sprintf("| %s | – | %s | %s | %.2f | |", name, ms(quantile(d, 0.50)), ms(mean(d)), float64(quantile(d, 0.50))/float64(base))
}

func mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return sum / time.Duration(len(d))
}

// serialReport joins moneySerial's lines under their header.
func serialReport(lines []string) string {
	return serialTableHeader + "\n" + strings.Join(lines, "\n")
}
