package main

import (
	"testing"
	"time"

	"github.com/lianban/lianban/catalog"
	"github.com/lianban/lianban/models"
)

// TestTheSandboxPolicyLetsTheWalkThroughRunOnAnyDay: the README's
// walk-through declares flexible pension months on whatever day it is run;
// the notices' windows (10-09 to 12-20) and the years the policy file
// covers must not turn it into OUT_OF_COLLECTION_PERIOD, in sandbox only.
func TestTheSandboxPolicyLetsTheWalkThroughRunOnAnyDay(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"2026-03-01", "2026-12-31", "2027-01-02", "2031-07-15"} {
		now, _ := time.ParseInLocation(time.DateOnly, day, models.Beijing)
		book := demoPolicy(cat.Policy, now.Add(10*time.Hour))
		y, err := book.Year("150100", now.Year())
		if err != nil {
			t.Fatalf("%s: %v", day, err)
		}
		if w := y.FlexiblePension.Window; w.From > day || w.To < day {
			t.Errorf("%s: flexible pension window %+v is closed", day, w)
		}
		if _, err := book.Year("150100", now.Year()+1); err != nil {
			t.Errorf("%s: next year not covered: %v", day, err)
		}
	}
	// Production's book is untouched: the notice's window stands.
	y, err := cat.Policy.Year("150100", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if w := y.FlexiblePension.Window; w.From == "2026-01-01" {
		t.Errorf("the published book was changed: %+v", w)
	}
}
