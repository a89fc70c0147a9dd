package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/store"
)

// TestWorkLeaseHasAFloor: a work lease shorter than an outside call and
// its retry would often let a second instance take an object from a live
// holder, so such a setting is refused at start-up, not found out later.
func TestWorkLeaseHasAFloor(t *testing.T) {
	load := func(v string) (Config, error) {
		return LoadConfig(func(k string) string {
			if k == "LIANBAN_WORK_LEASE" {
				return v
			}
			return ""
		})
	}
	cfg, err := load("")
	if err != nil || cfg.WorkLease != 5*time.Minute {
		t.Fatalf("default: %s, %v; want 5m", cfg.WorkLease, err)
	}
	cfg, err = load("1m")
	if err != nil || cfg.WorkLease != time.Minute {
		t.Fatalf("1m: %s, %v", cfg.WorkLease, err)
	}
	if _, err := load("30s"); err == nil || !strings.Contains(err.Error(), "LIANBAN_WORK_LEASE") {
		t.Fatalf("30s accepted (%v); a live holder could lose its claim", err)
	}
}

// TestWorkLeaseReachesTheClaims: the setting is what an instance's claims
// last, not only a value that was parsed.
func TestWorkLeaseReachesTheClaims(t *testing.T) {
	app := sandboxApp(t, "LIANBAN_WORK_LEASE=7m")
	before := time.Now()
	if ok, err := app.svc.ClaimWork(context.Background(), "refund_payout", "p1"); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	var l store.WorkLeaseRow
	if err := app.db.Gorm.Where("object_key = ?", "p1").Take(&l).Error; err != nil {
		t.Fatal(err)
	}
	if got := l.LeaseUntil.Sub(before); got < 7*time.Minute-time.Second || got > 7*time.Minute+5*time.Second {
		t.Fatalf("the claim lasts %s; want 7m", got)
	}
}
