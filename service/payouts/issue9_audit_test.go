package payouts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/reconcile"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A payment the bill shows that reconciliation cannot book (its order is
// failed here) leaves one open anomaly asking staff to refund it, however
// often the day is run: a failed run retried, or a run whose lease another
// took over, reads the same line again. Two open anomalies for one payment
// each asked a person to refund it.
func TestAPaymentReconciliationCannotBookIsOneOpenAnomalyAcrossRuns(t *testing.T) {
	day := servicetest.AvoidBeijingMidnight(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		r.Lose.Store(true)
		_, p := r.OpenOrder(models.ChannelWechat, false)
		if err := r.Wechat.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", p.OrderNo).Update("status", contrib.OrderFailed).Error; err != nil {
			t.Fatal(err)
		}
		billDay := day.Add(7 * time.Hour)
		for run := 0; run < 3; run++ {
			if run > 0 {
				// The day's run failed (or lost its lease): it is run again.
				if err := db.Gorm.Model(&store.ReconciliationRow{}).Where("channel = ?", models.ChannelWechat).
					Updates(map[string]any{"status": reconcile.ReconFailed, "lease_until": r.Clock.Now().Add(-time.Minute)}).Error; err != nil {
					t.Fatal(err)
				}
			}
			res, err := r.Svc.Reconcile(ctx, models.ChannelWechat, billDay)
			if err != nil || res.Mismatches != 1 {
				t.Fatalf("run %d: %+v %v", run, res, err)
			}
		}
		var open []store.AnomalyRow
		for _, a := range r.AnomalyRows(p.OrderNo) {
			if a.Kind == "paid_not_settled" && a.ResolvedAt == nil {
				open = append(open, a)
			}
		}
		if len(open) != 1 {
			t.Fatalf("%d open paid_not_settled anomalies, want 1: %+v", len(open), open)
		}
		// Staff see how much is to be refunded.
		if open[0].AmountFen != int64(p.AmountFen) {
			t.Fatalf("anomaly amount %d, want %d", open[0].AmountFen, p.AmountFen)
		}
		if st := r.Status(p.OrderNo); st != contrib.OrderFailed {
			t.Fatalf("order %s", st)
		}
	})
}

// An automatic refund whose channel refund failed is paid by bank to an
// account the hall enters. It has no records, so no items named its order,
// and only an account in the insured person's name passed: the money of a
// payer who paid for a relative could only go to the relative. The
// payer's own account is accepted, and the bank pays it once.
func TestAnAutomaticRefundThatFailedIsPaidByBankToThePayersAccount(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank := wechatBankEnv(t, db)
		// 张三明 opens a WeChat order; it is closed here while WeChat still
		// takes it, the months are paid through the sandbox, and then the
		// WeChat order is paid too: it cannot be booked and is refunded.
		sess, wp := servicetest.ChannelJourney(t, env, models.ChannelWechat, "wx-auto-bank", false)
		now := env.Clock.Now()
		for _, err := range []error{
			db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", wp.OrderNo).Updates(map[string]any{"status": contrib.OrderClosed, "closed_at": now}).Error,
			db.Gorm.Model(&store.DeclarationRow{}).Where("id = ?", wp.DeclarationID).Updates(map[string]any{"status": contrib.DeclOpen, "order_no": ""}).Error,
			db.Gorm.Model(&store.ClaimRow{}).Where("declaration_id = ? AND state = ?", wp.DeclarationID, contrib.ClaimPaying).Update("state", contrib.ClaimDeclared).Error,
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		sp, _, err := env.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: wp.DeclarationID, Channel: models.ChannelSandbox})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Sandbox.Pay(ctx, sp.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitPaid(t, db, sp.OrderNo)
		if err := env.Wechat.Pay(wp.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		refundNo := "TZ" + strings.TrimPrefix(wp.OrderNo, "LB")
		servicetest.WaitFor(t, "the automatic refund", func() bool { return servicetest.Count(t, db, "refund_payouts", "refund_no = ?", refundNo) == 1 })
		// The payer paid for a relative (李秀英), and WeChat refused the
		// refund for good.
		other := env.LoginVerified(t, "relative", servicetest.Person(t, "李秀英").Name, servicetest.Person(t, "李秀英").IDNumber)
		var u store.UserRow
		if err := db.Gorm.Where("id = ?", other.UserID).Take(&u).Error; err != nil || u.PersonID == nil {
			t.Fatalf("relative %+v %v", u, err)
		}
		for _, err := range []error{
			db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", wp.OrderNo).Update("person_id", *u.PersonID).Error,
			db.Gorm.Model(&store.RefundRow{}).Where("refund_no = ?", refundNo).Update("person_id", *u.PersonID).Error,
			db.Gorm.Model(&store.RefundPayoutRow{}).Where("refund_no = ?", refundNo).Update("status", refunds.PayoutFailed).Error,
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		h := servicetest.NewHall(t, env)
		// Without an account the hall is asked for one.
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, refundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrBankAccountNeeded) {
			t.Fatalf("execute without an account: %v", err)
		}
		// The payer's own account (张三明's) is accepted and paid once.
		got, err := env.Svc.ExecuteRefund(ctx, h.Tax, refundNo, payouts.ExecuteInput{BankAccount: servicetest.SomeAccount})
		if err != nil || got.Status != models.RefundRefunded {
			t.Fatalf("execute with the payer's account: %+v %v", got, err)
		}
		if bank.PaidCount() != 1 || bank.PaidTotal() != wp.AmountFen {
			t.Fatalf("bank paid %d in %d transfers, want %d once", bank.PaidTotal(), bank.PaidCount(), wp.AmountFen)
		}
		if o := servicetest.OrderRow(t, db, wp.OrderNo); o.Status != contrib.OrderRefunded || o.RefundedFen != int64(wp.AmountFen) {
			t.Fatalf("order %s refunded %d", o.Status, o.RefundedFen)
		}
	})
}

// An abnormal WeChat refund sent back to our merchant account at the
// merchant platform is reported SUCCESS like one paid to the person; only
// user_received_account (商户基本账户) tells them apart. It used to be
// counted paid: the application closed refunded, the person unpaid and
// the money kept. It is returned, and the hall pays it by bank once.
func TestAnAbnormalRefundReturnedToUsAtThePlatformIsNotCountedPaid(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, sess, p, sv := abnormalEnv(t, db)
		fakes := servicetest.MoneyFakes{Wechat: env.Wechat, Bank: bank}
		payout := sv.Payouts[0].PayoutNo
		goAbnormal(t, env, db, sv.RefundNo, payout)
		if err := env.Wechat.ReturnAbnormalRefundAtPlatform(payout); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitFor(t, "the REFUND.SUCCESS of the return", func() bool {
			return payoutStatuses(t, db, sv.RefundNo)[payout] != refunds.PayoutAbnormal
		})
		if st := payoutStatuses(t, db, sv.RefundNo)[payout]; st != refunds.PayoutReturned {
			t.Fatalf("payout %s after WeChat sent the money back to us", st)
		}
		// The worker's next question does not count it paid either.
		env.Clock.Advance(2 * time.Hour)
		env.Svc.WorkOnce(ctx)
		if v := servicetest.ApplicantView(t, env, sess, sv.RefundNo); v.Status != models.RefundRefunding || v.RefundedFen != 0 {
			t.Fatalf("after the return %s %d", v.Status, v.RefundedFen)
		}
		servicetest.CheckMoney(t, db, fakes)
		// Staff are told to pay it by bank.
		if as := anomalyRowsOf(t, db, p.OrderNo, "refund_abnormal"); len(as) != 1 || as[0].ResolvedAt != nil || !strings.Contains(as[0].SystemAction, "银行转账") {
			t.Fatalf("abnormal anomaly %+v", as)
		}
		payByBankOnce(t, env, h, bank, sv.RefundNo, p.AmountFen)
		servicetest.CheckMoney(t, db, fakes)
	})
}

// The window's return of an abnormal refund whose answer was lost: the
// payout stayed returning, and asking again was refused because WeChat no
// longer held it as abnormal, so the person was never paid. WeChat's
// REFUND.SUCCESS to the merchant account moves it to returned, and asking
// the channel again is answered as done.
func TestAReturnOfAnAbnormalRefundWhoseAnswerWasLostIsFinished(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, _, p, sv := abnormalEnv(t, db)
		fakes := servicetest.MoneyFakes{Wechat: env.Wechat, Bank: bank}
		payout := sv.Payouts[0].PayoutNo
		goAbnormal(t, env, db, sv.RefundNo, payout)
		// The window's request moved the payout to returning and reached
		// WeChat; its answer never came back.
		if err := db.Gorm.Model(&store.RefundPayoutRow{}).Where("payout_no = ?", payout).Update("status", refunds.PayoutReturning).Error; err != nil {
			t.Fatal(err)
		}
		if err := env.Deps.Payments[models.ChannelWechat].(models.AbnormalRefunder).ReturnAbnormalRefund(ctx, p.OrderNo, payout); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitFor(t, "the REFUND.SUCCESS of the return", func() bool {
			return payoutStatuses(t, db, sv.RefundNo)[payout] == refunds.PayoutReturned
		})
		if as := anomalyRowsOf(t, db, p.OrderNo, "refund_abnormal"); len(as) != 1 || as[0].ResolvedAt == nil {
			t.Fatalf("abnormal anomaly %+v", as)
		}
		// Asking the channel again is done, not refused.
		if err := env.Deps.Payments[models.ChannelWechat].(models.AbnormalRefunder).ReturnAbnormalRefund(ctx, p.OrderNo, payout); err != nil {
			t.Fatalf("asking again: %v", err)
		}
		payByBankOnce(t, env, h, bank, sv.RefundNo, p.AmountFen)
		servicetest.CheckMoney(t, db, fakes)
	})
}

// A return of an abnormal refund whose answer and notification were both
// lost stayed returning for good: the worker did not ask about returning
// payouts. It asks, finds the money back in our merchant account, and the
// payout is returned, to be paid by bank.
func TestTheWorkerFindsAReturningPayoutBackWithUs(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, _, p, sv := abnormalEnv(t, db)
		fakes := servicetest.MoneyFakes{Wechat: env.Wechat, Bank: bank}
		payout := sv.Payouts[0].PayoutNo
		goAbnormal(t, env, db, sv.RefundNo, payout)
		// Still abnormal at WeChat: the worker only asks again later.
		if err := db.Gorm.Model(&store.RefundPayoutRow{}).Where("payout_no = ?", payout).Update("status", refunds.PayoutReturning).Error; err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(2 * time.Hour)
		env.Svc.WorkOnce(ctx)
		if st := payoutStatuses(t, db, sv.RefundNo)[payout]; st != refunds.PayoutReturning {
			t.Fatalf("a returning payout WeChat still holds is %s", st)
		}
		if n := env.Wechat.RefundCount(p.OrderNo); n != 1 {
			t.Fatalf("WeChat holds %d refunds", n)
		}
		// WeChat sends it back; its notification is applied, then (as if
		// it and the window's answer were lost) the payout is returning.
		if err := env.Deps.Payments[models.ChannelWechat].(models.AbnormalRefunder).ReturnAbnormalRefund(ctx, p.OrderNo, payout); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitFor(t, "the REFUND.SUCCESS of the return", func() bool {
			return payoutStatuses(t, db, sv.RefundNo)[payout] == refunds.PayoutReturned
		})
		if err := db.Gorm.Model(&store.RefundPayoutRow{}).Where("payout_no = ?", payout).Update("status", refunds.PayoutReturning).Error; err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(2 * time.Hour)
		env.Svc.WorkOnce(ctx)
		if st := payoutStatuses(t, db, sv.RefundNo)[payout]; st != refunds.PayoutReturned {
			t.Fatalf("after the worker asked, the payout is %s", st)
		}
		payByBankOnce(t, env, h, bank, sv.RefundNo, p.AmountFen)
		servicetest.CheckMoney(t, db, fakes)
	})
}
