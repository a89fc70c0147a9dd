package contrib_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAnOrderTheTreasuryHasNotCreditedIsAskedAboutLessAndLessOften: the
// worker passes once a second; an order the treasury credits the next day
// used to be asked about on every pass (3,600 questions an hour, each with
// its claim and release). It is now asked again after a quarter of the
// time it has waited, never more than SettleAskCeiling apart, and once
// the treasury has credited it the order is credited here by its next
// question.
func TestAnOrderTheTreasuryHasNotCreditedIsAskedAboutLessAndLessOften(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		_, p := servicetest.PensionPaid(t, env)

		const pass = 5 * time.Second // a pass every 5 s of the clock, for speed
		passes := 0
		for elapsed := time.Duration(0); elapsed < 3*time.Hour; elapsed += pass {
			if err := env.Svc.AdvanceCredits(ctx); err != nil {
				t.Fatal(err)
			}
			passes++
			env.Clock.Advance(pass)
		}
		asks := treasury.Asks(p.OrderNo)
		t.Logf("%d passes in 3 h, %d questions", passes, asks)
		if asks < 10 || asks > 40 {
			t.Fatalf("the treasury was asked %d times in %d passes; want a few dozen, not every pass", asks, passes)
		}
		// Now at the ceiling: asked again within SettleAskCeiling of the
		// treasury crediting it, and credited then.
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		for elapsed := time.Duration(0); elapsed <= contrib.SettleAskCeiling; elapsed += pass {
			if err := env.Svc.AdvanceCredits(ctx); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(pass)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", p.OrderNo, contrib.RecordCredited); n == 0 {
			t.Fatalf("order %s not credited within %s of the treasury crediting it", p.OrderNo, contrib.SettleAskCeiling)
		}
		if extra := treasury.Asks(p.OrderNo) - asks; extra != 1 {
			t.Fatalf("%d questions after the credit; want the one that found it", extra)
		}
		// The agency is asked at once, not after the credit's back-off
		// (the sandbox agency has long booked it).
		if err := env.Svc.AdvanceBookings(ctx); err != nil {
			t.Fatal(err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", p.OrderNo, contrib.RecordBooked); n == 0 {
			t.Fatalf("order %s credited but not booked by the next pass: booking waited behind the credit's back-off", p.OrderNo)
		}
	})
}

// TestOrdersTheTreasuryNeverCreditsDoNotKeepNewerOnesFromBeingAsked: a
// pass asks about at most 500 orders, oldest first. 500 waiting orders
// the treasury does not credit (a deadline day's backlog, or orders it
// lost) used to fill every pass, and no newer order was ever asked about,
// however soon the treasury credited it.
func TestOrdersTheTreasuryNeverCreditsDoNotKeepNewerOnesFromBeingAsked(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		treasury.Answer(func(no string) string {
			if strings.HasPrefix(no, "NEW") {
				return servicetest.TreasuryDone
			}
			return servicetest.TreasuryPending
		})
		now := env.Clock.Now()
		var orders []store.OrderRow
		var records []store.RecordRow
		for i := range 505 {
			no, paid := fmt.Sprintf("OLD%05d", i), now.Add(-time.Hour).Add(time.Duration(i)*time.Second)
			if i >= 500 {
				no, paid = fmt.Sprintf("NEW%05d", i), now.Add(-time.Minute)
			}
			orders = append(orders, store.OrderRow{OrderNo: no, DeclarationID: "d_" + no, PersonID: "p_" + no, PayerUserID: "u_test",
				Channel: models.ChannelSandbox, Scheme: string(models.SchemeFlexiblePension), AmountFen: 100, Status: contrib.OrderPaid,
				ExpiresAt: paid, CreatedAt: paid, PaidAt: &paid, UpdatedAt: paid})
			records = append(records, store.RecordRow{ID: "r_" + no, PersonID: "p_" + no, Scheme: string(models.SchemeFlexiblePension),
				Period: "202610", PeriodTo: "202610", RegionCode: "150100", AmountFen: 100, Status: contrib.RecordPaid, OrderNo: no,
				PayerUserID: "u_test", PaidAt: paid})
		}
		g := db.Gorm.WithContext(ctx)
		if err := g.CreateInBatches(orders, 100).Error; err != nil {
			t.Fatal(err)
		}
		if err := g.CreateInBatches(records, 100).Error; err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := env.Svc.AdvanceCredits(ctx); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(time.Second)
		}
		if n := servicetest.Count(t, db, "records", "order_no LIKE 'NEW%' AND status = ?", contrib.RecordCredited); n != 5 {
			t.Fatalf("%d of the 5 newer orders credited behind 500 the treasury does not credit; want all", n)
		}
		if n := treasury.Asks("OLD00000"); n != 1 {
			t.Fatalf("the oldest waiting order was asked about %d times in 3 s; want once", n)
		}
	})
}

// TestACreditFoundOutsideTheBackOffDoesNotDelayTheBooking: a counter's
// reversal asks the treasury at once (AskCreditNow), whatever the order's
// back-off. A credit found so starts the booking step at once, not when
// the credit's next question would have been; and a pass between asks
// nothing of an order not due.
func TestACreditFoundOutsideTheBackOffDoesNotDelayTheBooking(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		_, p := servicetest.PensionPaid(t, env)
		for elapsed := time.Duration(0); elapsed < 2*time.Hour; elapsed += time.Minute {
			if err := env.Svc.AdvanceCredits(ctx); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(time.Minute)
		}
		asks := treasury.Asks(p.OrderNo)
		if err := env.Svc.AdvanceCredits(ctx); err != nil {
			t.Fatal(err)
		}
		if n := treasury.Asks(p.OrderNo); n != asks {
			t.Fatalf("a pass asked about an order not due (%d → %d questions)", asks, n)
		}
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		if err := env.Svc.AskCreditNow(ctx, p.OrderNo); err != nil {
			t.Fatal(err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", p.OrderNo, contrib.RecordCredited); n == 0 {
			t.Fatal("the treasury's credit was not recorded when asked at once")
		}
		if err := env.Svc.AdvanceBookings(ctx); err != nil {
			t.Fatal(err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", p.OrderNo, contrib.RecordBooked); n == 0 {
			t.Fatal("credited outside its back-off, the order waited for the back-off to be booked")
		}
	})
}
