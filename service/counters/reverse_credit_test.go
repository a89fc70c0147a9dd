package counters_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAReversalAsksTheTreasuryFirst: the worker learns of a credit only at
// the order's next question (up to contrib.SettleAskCeiling later), so a
// counter's 冲正 on our records alone could give back across the counter
// money the treasury already holds. The reversal asks the treasury: an
// order it credited is credited here and not reversed, one it cannot
// answer for is not reversed either (the counter tries again), and one
// it has not credited is reversed.
func TestAReversalAsksTheTreasuryFirst(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		answers := map[string]string{} // by order; the reversals ask on this goroutine
		treasury.Answer(func(no string) string { return answers[no] })
		servicetest.StartJourney(t, env)
		ctx := context.Background()
		paid := func(txn string) counters.Order {
			t.Helper()
			o, _ := counterOrder(t, env, "ORD-"+txn)
			if _, err := confirm(env, bank, o, "C-"+txn, o.AmountFen); err != nil {
				t.Fatal(err)
			}
			return o
		}
		records := func(o counters.Order, status string) int64 {
			return servicetest.Count(t, db, "records", "order_no = ? AND status = ?", o.OrderNo, status)
		}

		credited := paid("CREDITED")
		answers[credited.OrderNo] = servicetest.TreasuryDone
		_, err := env.Svc.PartnerReverseOrder(ctx, bank, credited.OrderNo, counters.ReverseInput{PartnerTxnID: "R-CREDITED"})
		if !errors.Is(err, models.ErrReversalNotAllowed) {
			t.Fatalf("reversing an order the treasury credited: %v", err)
		}
		if records(credited, contrib.RecordCredited) != 1 || servicetest.OrderRow(t, db, credited.OrderNo).Status != contrib.OrderPaid {
			t.Fatalf("the credited order must stay paid with its record credited")
		}

		unanswered := paid("DOWN")
		answers[unanswered.OrderNo] = servicetest.TreasuryDown
		_, err = env.Svc.PartnerReverseOrder(ctx, bank, unanswered.OrderNo, counters.ReverseInput{PartnerTxnID: "R-DOWN"})
		if e, ok := models.AsError(err); !ok || e.Code != models.ErrUnavailable.Code {
			t.Fatalf("reversing while the treasury does not answer: %v", err)
		}
		if records(unanswered, contrib.RecordPaid) != 1 || servicetest.OrderRow(t, db, unanswered.OrderNo).Status != contrib.OrderPaid {
			t.Fatalf("an order the treasury could not answer for must stay paid")
		}

		// Not yet credited: reversed, as before.
		answers[unanswered.OrderNo] = servicetest.TreasuryPending
		v, err := env.Svc.PartnerReverseOrder(ctx, bank, unanswered.OrderNo, counters.ReverseInput{PartnerTxnID: "R-DOWN"})
		if err != nil || v.Status != contrib.OrderReversed {
			t.Fatalf("reversing an order the treasury has not credited: %+v %v", v, err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", unanswered.OrderNo); n != 0 {
			t.Fatalf("%d records left of a reversed order", n)
		}
	})
}
