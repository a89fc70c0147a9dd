//go:build faults

package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// The load of each scenario: payers at once, and the pause between one
// payer's months. Small, because the CI machine is shared; the faults are
// what is measured, not throughput.
const (
	workers = 6
	pace    = 200 * time.Millisecond
	// settleLimit bounds the wait for the books to balance after a fault:
	// the channel retries its notification for about a minute, and the
	// query worker asks the channel about an order a minute after it.
	settleLimit = 150 * time.Second
)

// TestFaults runs the four faults of issue 15 one after another on one
// cluster, so each check covers the money of every scenario before it too.
func TestFaults(t *testing.T) {
	c := newCluster(t)
	first := c.startInstance()
	d := newDriver(c)
	d.refundEvery = 8

	// Baseline: no fault, so the figures below have something to compare with.
	scenario(t, d, "baseline, no fault", 8*time.Second, nil)

	// Each fault must show in the figures, or the injection broke and the
	// scenario proved nothing.
	if r := scenario(t, d, "PostgreSQL unreachable for 5 s", 14*time.Second, func(ctx context.Context) {
		batch := d.openOrders(ctx, 10)
		sleep(ctx, time.Second)
		c.pgProxy.Cut()
		// Payers pay at the cashier while the database is away: their
		// notifications arrive during the outage.
		for _, no := range batch {
			d.payAtCashier(no)
		}
		time.Sleep(5 * time.Second) // the whole outage, even if the load ends first
		c.pgProxy.Restore()
	}); r.retried == 0 || c.pgProxy.refused.Load() == 0 {
		t.Errorf("PostgreSQL outage: no notification was retried (%d) or no connection refused (%d): the database was not cut", r.retried, c.pgProxy.refused.Load())
	}

	if r := scenario(t, d, "Redis killed (SIGKILL) and restarted empty after 4 s", 14*time.Second, func(ctx context.Context) {
		batch := d.openOrders(ctx, 10)
		sleep(ctx, time.Second)
		c.redis.kill()
		for _, no := range batch {
			d.payAtCashier(no)
		}
		time.Sleep(4 * time.Second)
		if err := c.redis.start(); err != nil {
			t.Errorf("restart redis: %v", err)
		}
	}); r.tl.failed.Load() == 0 {
		t.Error("Redis killed: no request failed, so Redis was not gone")
	}

	if r := scenario(t, d, "WeChat Pay slow (2 s a call) for 5 s, then silent (black hole, past the client's 10 s timeout) for 12 s", 26*time.Second, func(ctx context.Context) {
		// One refund is held ready and executed into the silence: the
		// call that pays it back never gets an answer.
		hold := make(chan struct{})
		go d.refundDuringFault(ctx, hold)
		sleep(ctx, 3*time.Second)
		c.wxProxy.SetLatency(2 * time.Second)
		time.Sleep(5 * time.Second)
		c.wxProxy.SetLatency(0)
		c.wxProxy.Blackhole()
		close(hold)
		time.Sleep(12 * time.Second)
		c.wxProxy.Restore()
	}); r.slowest < 9*time.Second {
		t.Errorf("slow channel: the slowest request took %s, so no call to the channel timed out", r.slowest)
	}

	second := c.startInstance()
	killed := kernel.InstanceIDPrefix(second.pid()) // how its work claims name it
	planted := killed + "planted"
	var asked string
	var killedAt time.Time
	scenario(t, d, "one of two instances killed (SIGKILL)", 14*time.Second, func(ctx context.Context) {
		batch := d.openOrders(ctx, 10)
		sleep(ctx, 2*time.Second)
		// The setting that makes the survivor take the instance's real
		// claims over in time must be what the instance runs with
		// (cmd/lianban's TestWorkLeaseReachesTheClaims: what its claims
		// then last).
		if v, ok, err := processSetting(second.pid(), "LIANBAN_WORK_LEASE"); err == nil && (!ok || v != workLease.String()) {
			t.Errorf("the instance runs with LIANBAN_WORK_LEASE=%q (set: %v), not %s: its claims would outlive settleLimit", v, ok, workLease)
		} else if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("read the instance's environment: %v", err)
		}
		// A kill lands inside one of the instance's real claims only now
		// and then (when one did, the default 5-minute lease held that
		// order's months back past settleLimit). So the instance is also
		// made to die holding one, as it would have left it: a claim in
		// its name on the 入库 question of an order being paid, lasting
		// the lease. The survivor must take it over once it ends.
		if len(batch) == 0 {
			t.Error("no order was opened before the kill, so no claim of the instance's could be shown taken over")
		} else {
			asked = batch[0]
			if err := c.db.Gorm.Create(&store.WorkLeaseRow{Step: kernel.WorkCredit, ObjectKey: asked,
				Holder: planted, LeaseUntil: time.Now().Add(workLease)}).Error; err != nil {
				t.Errorf("plant the killed instance's claim: %v", err)
			}
		}
		// Notifications in flight to both instances as one dies.
		for i, no := range batch {
			if !d.payAtCashier(no) && i == 0 {
				t.Errorf("the order under the planted claim was not paid, so its claim held nothing back")
			}
		}
		second.kill()
		killedAt = time.Now()
	})
	// The books balanced: the order's months were credited, so the survivor
	// took the claim over once it ended, worked it and handed it back.
	var leases []store.WorkLeaseRow
	if err := c.db.Gorm.Where("holder LIKE ? OR (step = ? AND object_key = ?)", killed+"%", kernel.WorkCredit, asked).Find(&leases).Error; err != nil {
		t.Fatal(err)
	}
	others := 0
	for _, l := range leases {
		switch {
		case l.Holder == planted || (l.Step == kernel.WorkCredit && l.ObjectKey == asked):
			t.Errorf("the killed instance's claim on %s is still there (held by %s): it was never taken over", asked, l.Holder)
		case l.LeaseUntil.After(killedAt.Add(workLease + 5*time.Second)):
			// The claims it really held when it died (on objects nobody
			// needed since) must have been made with LIANBAN_WORK_LEASE.
			t.Errorf("the killed instance's claim %s/%s lasts until %s, beyond the %s lease from its death", l.Step, l.ObjectKey, l.LeaseUntil, workLease)
		default:
			others++
		}
	}
	fmt.Printf("  the killed instance's claim on %s was taken over; other claims it left: %d\n", asked, others)
	// A refund whose call the black hole swallowed is pending at an unknown
	// result; the payout worker asks again after contrib.QueryBackoff (2
	// min), longer than CI should wait. FAULTS_DRAIN=4m waits for it and
	// checks that every application the hall executed ends refunded.
	if v := os.Getenv("FAULTS_DRAIN"); v != "" && !t.Failed() {
		limit, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FAULTS_DRAIN=%q: %v", v, err)
		}
		start := time.Now()
		for {
			var n int64
			if err := c.db.Gorm.Raw(`SELECT COUNT(*) FROM refund_payouts WHERE status <> 'success'`).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n == 0 || time.Since(start) > limit {
				b, _ := d.settle(t, time.Minute)
				fmt.Printf("\nDRAIN after %s: %d refund payouts not yet paid; %s\n", time.Since(start).Round(time.Second), n, b)
				if n != 0 {
					t.Errorf("%d refund payouts still unpaid after %s", n, limit)
				}
				break
			}
			time.Sleep(2 * time.Second)
		}
	}
	if t.Failed() {
		for _, in := range []*instance{first, second} {
			t.Logf("%s log tail:\n%s", in.name, in.tail())
		}
	}
}

// outcome is what a scenario saw, for its test to check that the fault
// really happened.
type outcome struct {
	tl      *tally
	retried int           // notifications the channel had to send again
	slowest time.Duration // the slowest request
}

// scenario runs the load for dur with fault running beside it, waits for
// the books to settle and prints the figures.
func scenario(t *testing.T, d *driver, name string, dur time.Duration, fault func(ctx context.Context)) outcome {
	t.Helper()
	tl := newTally()
	d.tl.Store(tl)
	deliveredBefore := len(d.c.wx.Deliveries())
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if fault != nil {
			fault(ctx)
		}
	}()
	start := time.Now()
	d.run(ctx, workers, pace)
	<-done
	load := time.Since(start)
	b, took := d.settle(t, settleLimit)
	retried, attempts, unacked := 0, 0, 0
	for _, dl := range d.c.wx.Deliveries()[deliveredBefore:] {
		if dl.Attempt == 2 {
			retried++
		}
		if dl.Attempt > 1 {
			attempts++
		}
		if dl.Status != 200 && dl.Status != 204 {
			unacked++
		}
	}
	fmt.Printf("\nFAULT %s\n", name)
	fmt.Printf("  load %s, %d payers at once: requests served %d, failed %d; payments made at the cashier %d, refunds executed %d\n",
		load.Round(time.Second), workers, tl.served.Load(), tl.failed.Load(), tl.paid.Load(), tl.refunded.Load())
	if tl.failed.Load() > 0 {
		fmt.Printf("  failed: %s\n", tl.reasons(6))
	}
	p50, p99, slowest := tl.latency()
	fmt.Printf("  request time: median %s, p99 %s, slowest %s\n", p50.Round(time.Millisecond), p99.Round(time.Millisecond), slowest.Round(time.Millisecond))
	fmt.Printf("  notifications retried by the provider: %d (%d extra attempts; %d attempts not acknowledged)\n", retried, attempts, unacked)
	fmt.Printf("  settled in %s: money lost %d fen, doubled %d fen\n", took.Round(100*time.Millisecond), b.Lost, b.Doubled)
	fmt.Printf("  bank invariant (all scenarios so far): %s\n", b)
	if tl.paid.Load() == 0 {
		t.Errorf("%s: no payment went through at all", name)
	}
	return outcome{tl: tl, retried: retried, slowest: slowest}
}
