//go:build soak

package faults

import (
	"bufio"
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSoak runs the money journey at a fixed rate against one instance on
// PostgreSQL and Redis for SOAK_DURATION (default 10m) and prints, every
// SOAK_EVERY (default 1m), the instance's resident memory, goroutines,
// open file descriptors, sockets and database pool: a leak shows as a
// figure that keeps growing while the load stays the same. SOAK_RATE is
// payers per second (default 2), each making one payment; every tenth
// payment is refunded through the hall.
func TestSoak(t *testing.T) {
	dur := envDuration(t, "SOAK_DURATION", 10*time.Minute)
	every := envDuration(t, "SOAK_EVERY", time.Minute)
	rate := 2.0
	if v := os.Getenv("SOAK_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil || rate <= 0 {
			t.Fatalf("SOAK_RATE=%q: want payers per second", v)
		}
	}
	c := newCluster(t)
	in := c.startInstance()
	d := newDriver(c)
	d.refundEvery = 10

	fmt.Printf("SOAK %s at %.1f payers/s (one payment each, every 10th refunded), one instance on PostgreSQL + Redis, figures every %s\n", dur, rate, every)
	fmt.Printf("%8s %9s %9s %8s %10s %6s %8s %10s %8s %8s\n", "minute", "served", "failed", "paid", "rss_MiB", "gorout", "open_fds", "sockets", "db_open", "db_inuse")
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.atRate(ctx, rate)
	}()
	var samples []sample
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	report := func() {
		s, err := scrape(in)
		if err != nil {
			t.Errorf("scrape /metrics: %v", err)
			return
		}
		samples = append(samples, s)
		tl := d.tl.Load()
		fmt.Printf("%8.1f %9d %9d %8d %10.1f %6.0f %8.0f %10d %8.0f %8.0f\n", time.Since(start).Minutes(), tl.served.Load(), tl.failed.Load(), tl.paid.Load(),
			s.rss/(1<<20), s.goroutines, s.fds, s.sockets, s.dbOpen, s.dbInUse)
	}
	report()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			report()
		}
	}
	wg.Wait()
	report()
	tl := d.tl.Load()
	p50, p99, slowest := tl.latency()
	fmt.Printf("requests served %d, failed %d (%s); refunds executed %d; request time median %s, p99 %s, slowest %s\n", tl.served.Load(), tl.failed.Load(), tl.reasons(5), tl.refunded.Load(),
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), slowest.Round(time.Millisecond))
	b, took := d.settle(t, 3*time.Minute)
	fmt.Printf("settled in %s; bank invariant: %s\n", took.Round(100*time.Millisecond), b)
	if len(samples) >= 3 {
		// The first sample is before the load warmed up; compare the
		// second with the last.
		a, z := samples[1], samples[len(samples)-1]
		for _, f := range []struct {
			name      string
			from, to  float64
			tolerance float64
		}{{"goroutines", a.goroutines, z.goroutines, 50}, {"open fds", a.fds, z.fds, 50}, {"db connections", a.dbOpen, z.dbOpen, 10}} {
			if f.to > f.from*1.5+f.tolerance {
				t.Errorf("%s grew from %.0f to %.0f under a steady load", f.name, f.from, f.to)
			}
		}
	}
}

// atRate starts one payer journey (log in, bind, enrol, pay a month) at
// each tick of rate per second, at most 32 at a time.
func (d *driver) atRate(ctx context.Context, rate float64) {
	every := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(every)
	defer tick.Stop()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	if d.refundEvery > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); d.refunder(ctx) }()
	}
	for n := uint64(0); ; n++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			d.tl.Load().fail("start", "32 journeys already running")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), n))
			if p, ok := d.newPayer(ctx, r); ok {
				d.payMonth(ctx, p)
			}
		}()
	}
}

type sample struct {
	rss, goroutines, fds, dbOpen, dbInUse float64
	sockets                               int
}

// scrape reads the instance's /metrics and counts its sockets in /proc.
func scrape(in *instance) (sample, error) {
	var s sample
	resp, err := http.Get("http://" + in.addr + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			s.rss = v
		case "go_goroutines":
			s.goroutines = v
		case "process_open_fds":
			s.fds = v
		case `go_sql_open_connections{db_name="lianban"}`:
			s.dbOpen = v
		case `go_sql_in_use_connections{db_name="lianban"}`:
			s.dbInUse = v
		}
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", in.pid()))
	if err == nil {
		for _, e := range entries {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", in.pid(), e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
				s.sockets++
			}
		}
	}
	return s, sc.Err()
}

func envDuration(t *testing.T, key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return d
}
