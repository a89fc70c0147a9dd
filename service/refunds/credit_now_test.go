package refunds_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestARefundAsksTheTreasuryAboutMonthsStillWaiting: only credited money
// can be asked back, and the worker may learn of a credit up to half an
// hour after it (back-off). Filing now asks the treasury at once about the
// months it would refuse: credited, the application is filed without a
// worker pass; not yet or no answer, it is refused as before.
func TestARefundAsksTheTreasuryAboutMonthsStillWaiting(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		j := servicetest.StartJourney(t, env)
		p := servicetest.PaidFor(t, env, j.Sess, servicetest.Self, models.SchemeFlexiblePension)
		in := refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: 100, Reason: models.ReasonOverpaid}

		for _, answer := range []string{servicetest.TreasuryDown, servicetest.TreasuryPending} {
			treasury.Answer(func(string) string { return answer })
			if _, err := env.Svc.CreateRefund(ctx, j.Sess.UserID, in); !errors.Is(err, models.ErrRefundNotCredited) {
				t.Fatalf("treasury %s: %v, want REFUND_NOT_CREDITED", answer, err)
			}
			env.Clock.Advance(11 * time.Second) // past the gap between one order's questions
		}
		if n := treasury.Asks(p.OrderNo); n != 2 {
			t.Fatalf("treasury asked %d times, want once per application", n)
		}
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		r, err := env.Svc.CreateRefund(ctx, j.Sess.UserID, in)
		if err != nil || r.RefundFen != 100 {
			t.Fatalf("credited since: %+v %v", r, err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ? AND status = ?", p.OrderNo, contrib.RecordPaid); n != 0 {
			t.Fatalf("%d records still paid after the treasury said credited", n)
		}
	})
}
