package payouts_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"gorm.io/gorm"
)

// A notification settling an order between reconciliation's read of it and
// its own settle used to leave an open anomaly telling staff to refund an
// order that settled correctly.
func TestReconciliationRacingASettlementCountsTheOrderMatched(t *testing.T) {
	day := servicetest.AvoidBeijingMidnight(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		r.Lose.Store(true)
		_, p := r.OpenOrder(models.ChannelWechat, false)
		if err := r.Wechat.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		wo, _ := r.Wechat.Order(p.OrderNo)
		// Right after reconciliation reads the order (still paying), the
		// payer's query settles it.
		var armed atomic.Bool
		cb := db.Gorm.Callback().Query()
		if err := cb.After("gorm:query").Register("test:settle-race", func(tx *gorm.DB) {
			if tx.Statement.Table == "orders" && armed.CompareAndSwap(true, false) {
				if _, err := r.Svc.Settle(ctx, models.Notification{Channel: models.ChannelWechat, Kind: models.NotifyPayment, OrderNo: p.OrderNo,
					TransactionID: wo.TransactionID, Amount: p.AmountFen, Paid: true, At: wo.PaidAt}, "query"); err != nil {
					t.Error(err)
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cb.Remove("test:settle-race") })
		armed.Store(true)
		res, err := r.Svc.Reconcile(ctx, models.ChannelWechat, day.Add(7*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if armed.Load() {
			t.Fatal("the race was not provoked")
		}
		if res.Matched != 1 || res.Mismatches != 0 {
			t.Fatalf("reconciliation %+v, want the order matched", res)
		}
		if a := r.AnomalyRows(p.OrderNo); len(a) != 0 {
			t.Fatalf("anomalies for an order settled correctly: %+v", a)
		}
		r.SettledOnce(p.OrderNo)
		r.Money()
	})
}

// Alipay's refund notification carries refund_fee, the trade's running
// total: the second partial refund's is both refunds, which used to raise
// a false refund_amount_mismatch.
func TestASecondPartialAlipayRefundIsNotAnAmountMismatch(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewChannelEnv(t, db, nil)
		sess, p := servicetest.ChannelJourney(t, env, models.ChannelAlipay, "ali-partial", false)
		if err := env.Alipay.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitPaid(t, db, p.OrderNo)
		if paid := servicetest.OrderRow(t, db, p.OrderNo).PaidAt; paid != nil && paid.After(env.Clock.Now()) {
			env.Clock.Set(*paid)
		}
		env.Clock.Advance(3 * time.Second)
		env.Svc.WorkOnce(ctx)
		h := servicetest.NewHall(t, env)
		first := p.AmountFen / 3
		for i, amount := range []models.Fen{first, p.AmountFen - first} {
			r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: p.Scheme, OrderNo: p.OrderNo, RefundFen: amount})
			if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
				t.Fatal(err)
			}
			yes := true
			if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &yes}); err != nil {
				t.Fatal(err)
			}
			if sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); err != nil || sv.Status != models.RefundRefunded {
				t.Fatalf("refund %d: %s %v", i+1, sv.Status, err)
			}
			servicetest.WaitFor(t, "the refund notification", func() bool {
				return servicetest.Count(t, db, "notifications", "kind = ?", "refund") == int64(i+1)
			})
		}
		if n := servicetest.Count(t, db, "anomalies", "kind = ?", "refund_amount_mismatch"); n != 0 {
			t.Fatalf("%d refund_amount_mismatch anomalies", n)
		}
		if n := servicetest.Count(t, db, "notifications", "kind = ? AND outcome NOT IN ?", "refund", []string{contrib.OutcomeSettled, contrib.OutcomeDuplicate}); n != 0 {
			t.Fatalf("%d refund notifications not settled", n)
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); o.Status != contrib.OrderRefunded || o.RefundedFen != int64(p.AmountFen) {
			t.Fatalf("order %s refunded %d", o.Status, o.RefundedFen)
		}
		servicetest.CheckMoney(t, db, servicetest.MoneyFakes{Wechat: env.Wechat, Alipay: env.Alipay})
	})
}

// offByOneRefunds reports every successful refund one fen short, as a
// channel with another amount would.
type offByOneRefunds struct{ models.PaymentChannel }

func (c offByOneRefunds) Refund(ctx context.Context, req models.RefundRequest) (models.RefundResult, error) {
	res, err := c.PaymentChannel.Refund(ctx, req)
	if res.State == models.RefundSuccess {
		res.Amount = req.Refund - 1
	}
	return res, err
}

func (c offByOneRefunds) QueryRefund(ctx context.Context, orderNo, outRefundNo string) (models.RefundResult, error) {
	res, err := c.PaymentChannel.QueryRefund(ctx, orderNo, outRefundNo)
	if res.State == models.RefundSuccess && res.Amount > 0 {
		res.Amount--
	}
	return res, err
}

// A refund the channel reports with another amount stays pending and is
// one anomaly, not one per worker pass.
func TestARefundWithAnotherAmountIsOneAnomalyNotOneAPass(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			d.Payments[models.ChannelSandbox] = offByOneRefunds{d.Payments[models.ChannelSandbox]}
		})
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, nil)
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			env.Clock.Advance(time.Hour)
			env.Svc.WorkOnce(ctx)
		}
		if n := servicetest.Count(t, db, "anomalies", "kind = ?", "refund_amount_mismatch"); n != 1 {
			t.Fatalf("%d refund_amount_mismatch anomalies after 5 answers, want 1", n)
		}
		if got := payoutStatuses(t, db, r.RefundNo); got[r.RefundNo+"-1C1"] != refunds.PayoutPending {
			t.Fatalf("payouts %v", got)
		}
	})
}
