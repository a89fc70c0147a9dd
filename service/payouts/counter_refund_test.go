package payouts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestMoneyPaidAtABankCounterIsRefundedByTransfer: a month paid in cash
// at a bank counter has no payment channel to go back through. The
// applicant is asked for a bank account when filing, and once approved
// the refund is one transfer to it.
func TestMoneyPaidAtABankCounterIsRefundedByTransfer(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env, bank := servicetest.NewEnvWithBank(t, db, nil)
		j := servicetest.StartJourney(t, env)
		ctx := context.Background()
		teller := kernel.PartnerActor{PartnerID: "test-bank", Name: "测试银行", KeyID: "k1", Channels: []string{counters.ChannelBankCounter}}
		me := servicetest.Person(t, "张三明")
		q, err := env.Svc.PartnerQueryPayables(ctx, teller, counters.QueryInput{Name: me.Name, IDNumber: me.IDNumber})
		if err != nil {
			t.Fatal(err)
		}
		pb := q.Items[0]
		o, _, err := env.Svc.PartnerCreateOrder(ctx, teller, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
			PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: "ORD-CASH", TerminalID: "T-001", Channel: counters.ChannelBankCounter})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.PartnerConfirmOrder(ctx, teller, o.OrderNo, counters.ConfirmInput{PartnerTxnID: "C-CASH", PaidFen: o.AmountFen, PaidAt: env.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(10 * time.Second)
		env.Svc.WorkOnce(ctx) // credited and booked
		h := servicetest.NewHall(t, env)
		cash := contrib.Payment{OrderNo: o.OrderNo, Scheme: o.Scheme, AmountFen: o.AmountFen}
		// Filed without an account, the applicant is asked for one: the
		// money cannot go back the way it came.
		_, err = env.Svc.CreateRefund(ctx, j.Sess.UserID, refunds.RefundInput{Reason: models.ReasonOverpaid, Person: servicetest.Self,
			Scheme: o.Scheme, OrderNo: o.OrderNo, RefundFen: o.AmountFen})
		if !errors.Is(err, models.ErrBankAccountNeeded) {
			t.Fatalf("a counter payment's refund filed without an account: %v", err)
		}
		r := servicetest.Approved(t, env, h, j.Sess, cash, servicetest.SomeAccount)
		got, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil || got.Status != models.RefundRefunded {
			t.Fatalf("execute: %+v %v", got, err)
		}
		if bank.PaidCount() != 1 || bank.PaidTotal() != o.AmountFen {
			t.Fatalf("bank paid %d in %d transfers, want %d once", bank.PaidTotal(), bank.PaidCount(), o.AmountFen)
		}
	})
}
