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
const serialTableHeader = "| money step, one connection | months | p50 | mean | × insert-commit (p50) |\n|---|---:|---:|---:|---:|"

// moneySerial is issue 13's measure of the money steps: each of declare,
// pay and settle as a number of single-row insert-commits of the same
// store. One connection pays months one after another (no queueing behind
// other requests), for o.Duration; this process times single-row INSERT
// commits into the same database before and after, and each step's median
// is divided by the inserts' median. The steps are timed over HTTP, so the
// figure also carries the request's own cost (about a /healthz).
func (b *bench) moneySerial(ctx context.Context, dbURL string) ([]string, error) {
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
	var declare, pay, settle []time.Duration
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
	}
	more, err := probeInserts(ctx, db, 200)
	if err != nil {
		return nil, err
	}
	base := quantile(append(inserts, more...), 0.50)
	lines := []string{fmt.Sprintf("| insert-commit (baseline) | – | %s | %s | 1.0 |", ms(base), ms(mean(append(inserts, more...))))}
	var total float64
	for _, s := range []struct {
		name string
		d    []time.Duration
	}{{"createDeclaration", declare}, {"createPayment", pay}, {"notify (settle)", settle}} {
		x := float64(quantile(s.d, 0.50)) / float64(base)
		total += x
		lines = append(lines, fmt.Sprintf("| %s | %d | %s | %s | %.1f |", s.name, len(s.d), ms(quantile(s.d, 0.50)), ms(mean(s.d)), x))
	}
	lines = append(lines, fmt.Sprintf("| declare+pay+settle | %d | | | %.1f |", len(settle), total))
	return lines, nil
}

// probeInserts times n single-row INSERT commits, one after another.
func probeInserts(ctx context.Context, db *store.DB, n int) ([]time.Duration, error) {
	g := db.Gorm.WithContext(ctx)
	out := make([]time.Duration, 0, n)
	stamp := time.Now().UnixNano()
	for i := range n {
		row := insertProbe{ID: fmt.Sprintf("probe-%d-%d", stamp, i), Kind: "probe", Amount: int64(i), CreatedAt: time.Now().UTC()}
		start := time.Now()
		if err := g.Create(&row).Error; err != nil {
			return nil, fmt.Errorf("insert probe: %w", err)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
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
