package counters_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A counter confirming at 23:55 Beijing may say it took the money a few
// minutes "later" (paid_at within the clock skew allowed), which falls on
// the next Beijing day. The business day of a reversal is the day we
// received the confirmation: the next morning it is refused even though
// the partner's paid_at says "today".
func TestReversalDayIsOursNotThePartnersPaidAt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		// 23:50 Beijing on 2026-11-20.
		env.Clock.Set(time.Date(2026, 11, 20, 15, 50, 0, 0, time.UTC))
		o, _ := counterOrder(t, env, "ORD-DAY")
		env.Clock.Set(time.Date(2026, 11, 20, 15, 55, 0, 0, time.UTC))
		_, err := env.Svc.PartnerConfirmOrder(ctx, bank, o.OrderNo, counters.ConfirmInput{PartnerTxnID: "C-DAY", PaidFen: o.AmountFen,
			PaidAt: env.Clock.Now().Add(9 * time.Minute)}) // 00:04 on the 21st by the partner's clock
		if err != nil {
			t.Fatal(err)
		}
		// 00:30 Beijing on the 21st, not yet credited (no worker ran).
		env.Clock.Set(time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC))
		_, err = env.Svc.PartnerReverseOrder(ctx, bank, o.OrderNo, counters.ReverseInput{PartnerTxnID: "R-DAY"})
		if !errors.Is(err, models.ErrReversalNotAllowed) {
			t.Fatalf("reversal on the next Beijing day: %v", err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", o.OrderNo, contrib.RecordPaid); n != 1 {
			t.Fatalf("%d paid records left", n)
		}
	})
}

// The same confirmation id with another body (another paid_at) is a
// reuse, whether it arrives after the first or at the same moment: it
// never gets the first request's success.
func TestConcurrentConfirmsOfOneIDWithAnotherBodyAreRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		o, _ := counterOrder(t, env, "ORD-BODY")
		base := env.Clock.Now()
		var answers [10]counters.Order
		errs := servicetest.Parallel(10, func(i int) error {
			var err error
			answers[i], err = env.Svc.PartnerConfirmOrder(ctx, bank, o.OrderNo, counters.ConfirmInput{PartnerTxnID: "C-BODY", PaidFen: o.AmountFen,
				PaidAt: base.Add(-time.Duration(i) * time.Second)})
			return err
		})
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrPartnerTxnReused):
			default:
				t.Fatalf("confirm %d: %v", i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d different requests under one id answered as settled: %v", ok, fmt.Sprint(errs))
		}
	})
}

// A counter cannot have taken the money before it opened the order: a
// paid_at before that is refused and settles nothing (it would put the
// payment into an earlier business day, one whose reconciliation may be
// closed already, and make the day it really was taken show it as a line
// we do not have).
func TestPaidAtBeforeTheOrderIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		o, _ := counterOrder(t, env, "ORD-PAST")
		_, err := env.Svc.PartnerConfirmOrder(ctx, bank, o.OrderNo, counters.ConfirmInput{PartnerTxnID: "C-PAST", PaidFen: o.AmountFen,
			PaidAt: o.CreatedAt.Add(-48 * time.Hour)})
		if !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("paid_at two days before the order: %v", err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", o.OrderNo); n != 0 {
			t.Fatalf("%d records", n)
		}
		// Within the clock skew, and later, it settles.
		if _, err := env.Svc.PartnerConfirmOrder(ctx, bank, o.OrderNo, counters.ConfirmInput{PartnerTxnID: "C-PAST2", PaidFen: o.AmountFen,
			PaidAt: o.CreatedAt.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	})
}

// A confirmation racing the closer of unconfirmed orders settles the
// order exactly once and leaves its declaration and months its own.
func TestConfirmRacesTheStaleOrderCloser(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		for round := 0; round < 1; round++ { // one month is open in the window
			o := openAnyMonth(t, env, fmt.Sprintf("ORD-CL%d", round))
			env.Clock.Advance(3 * time.Hour)
			var confErr error
			servicetest.Parallel(2, func(i int) error {
				if i == 0 {
					_, confErr = env.Svc.PartnerConfirmOrder(ctx, bank, o.OrderNo, counters.ConfirmInput{PartnerTxnID: fmt.Sprintf("C-CL%d", round),
						PaidFen: o.AmountFen, PaidAt: env.Clock.Now()})
					return nil
				}
				return env.Svc.CloseStaleCounterOrders(ctx)
			})
			if confErr != nil {
				t.Fatalf("round %d: confirm %v", round, confErr)
			}
			var ord store.OrderRow
			if err := db.Gorm.Where("order_no = ?", o.OrderNo).Take(&ord).Error; err != nil {
				t.Fatal(err)
			}
			var d store.DeclarationRow
			if err := db.Gorm.Where("id = ?", ord.DeclarationID).Take(&d).Error; err != nil {
				t.Fatal(err)
			}
			recs := servicetest.Count(t, db, "records", "order_no = ?", o.OrderNo)
			claims := servicetest.Count(t, db, "period_claims", "declaration_id = ? AND state = ?", d.ID, contrib.ClaimPaid)
			if ord.Status != contrib.OrderPaid || recs != 1 || d.Status != contrib.DeclPaid || d.OrderNo != o.OrderNo || claims != 1 {
				t.Fatalf("round %d: order %s, %d records, declaration %s/%q, %d paid claims", round, ord.Status, recs, d.Status, d.OrderNo, claims)
			}
		}
	})
}

// openAnyMonth opens bank's counter order for the first month 张三明
// still owes, in whichever payable.
func openAnyMonth(t *testing.T, env *servicetest.Env, txn string) counters.Order {
	t.Helper()
	ctx := context.Background()
	me := servicetest.Person(t, "张三明")
	q, err := env.Svc.PartnerQueryPayables(ctx, bank, counters.QueryInput{Name: me.Name, IDNumber: me.IDNumber})
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range q.Items {
		if len(pb.UnpaidPeriods) == 0 || len(pb.Options) == 0 {
			continue
		}
		o, _, err := env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: txn, TerminalID: "T-001", Channel: counters.ChannelBankCounter})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		return o
	}
	t.Fatal("nothing left to pay")
	return counters.Order{}
}

// A counter's money has no channel to go back through: the automatic
// refund of an unbookable counter payment stays pending (with its
// anomaly) however often the worker tries, and is never counted refunded
// without money moving.
func TestACounterAutoRefundIsNeverCountedPaid(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	j := servicetest.StartJourney(t, env)
	ctx := context.Background()
	o, pb := counterOrder(t, env, "ORD-AR1")
	env.Clock.Advance(3 * time.Hour)
	env.Svc.WorkOnce(ctx)
	d, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
		PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0]})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	if _, err := confirm(env, bank, o, "C-AR1", o.AmountFen); err != nil {
		t.Fatalf("late confirm: %v", err)
	}
	for i := 0; i < 6; i++ {
		env.Clock.Advance(2 * time.Hour)
		env.Svc.WorkOnce(ctx)
	}
	if n := servicetest.Count(t, db, "refund_payouts", "order_no = ? AND status = ?", o.OrderNo, "pending"); n != 1 {
		t.Fatalf("%d pending payouts", n)
	}
	if n := servicetest.Count(t, db, "refunds", "refund_no = ? AND status = ?", contrib.AutoRefundNo(o.OrderNo), string(models.RefundRefunded)); n != 0 {
		t.Fatal("counter auto-refund counted refunded")
	}
	var ord store.OrderRow
	if err := db.Gorm.Where("order_no = ?", o.OrderNo).Take(&ord).Error; err != nil || ord.RefundedFen != 0 || ord.Status != contrib.OrderPaid {
		t.Fatalf("order %s refunded %d %v", ord.Status, ord.RefundedFen, err)
	}
	if n := servicetest.Count(t, db, "anomalies", "order_no = ? AND resolved_at IS NULL", o.OrderNo); n == 0 {
		t.Fatal("no open anomaly")
	}
}
