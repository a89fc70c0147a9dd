package payouts_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// payoutStatuses lists an application's payouts as "number:status".
func payoutStatuses(t *testing.T, db *store.DB, refundNo string) map[string]string {
	t.Helper()
	var rows []store.RefundPayoutRow
	if err := db.Gorm.Where("refund_no = ?", refundNo).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range rows {
		out[p.PayoutNo] = p.Status
	}
	return out
}

func TestABankTransferTheBankReportsFailedOnQueryIsFailedAndPaidAgainOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, sess, p, r := bankTransferProcessing(t, db)
		// PROCESSING, then the bank gives up on it (the account was closed).
		bank.FailNext("query", bankfake.Fault{Refuse: "ACCOUNT_FROZEN"})
		env.Clock.Advance(2 * time.Minute)
		env.Svc.WorkOnce(ctx)
		if got := payoutStatuses(t, db, r.RefundNo); got[r.RefundNo+"-1B"] != refunds.PayoutFailed {
			t.Fatalf("a transfer the bank failed on query is %v", got)
		}
		if bank.PaidTotal() != 0 {
			t.Fatalf("bank paid %d", bank.PaidTotal())
		}
		// Nothing is asked again about a failed payout.
		q := bank.Calls("query")
		env.Clock.Advance(time.Hour)
		env.Svc.WorkOnce(ctx)
		if bank.Calls("query") != q {
			t.Fatal("a failed transfer is still queried")
		}
		// The window enters another account: a new number, paid once.
		other := &models.BankAccount{BankName: "中国工商银行", AccountName: servicetest.SomeAccount.AccountName, AccountNo: "6222020200009876543"}
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{BankAccount: other}); err != nil {
			t.Fatal(err)
		}
		got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundRefunded || bank.PaidTotal() != p.AmountFen || bank.PaidCount() != 1 {
			t.Fatalf("after the second transfer %s, bank paid %d in %d", got.Status, bank.PaidTotal(), bank.PaidCount())
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); o.RefundedFen != int64(p.AmountFen) || o.Status != contrib.OrderRefunded {
			t.Fatalf("order %s refunded %d of %d", o.Status, o.RefundedFen, o.AmountFen)
		}
	})
}

// bankTransferProcessing is an approved pension refund to SomeAccount,
// executed while the bank answers its transfer PROCESSING: the payout
// stays pending with the bank's result unknown.
func bankTransferProcessing(t *testing.T, db *store.DB) (*servicetest.Env, *bankfake.Server, servicetest.StaffDesk, people.Session, contrib.Payment, refunds.Refund) {
	t.Helper()
	env, bank := servicetest.NewEnvWithBank(t, db, nil)
	sess, p := servicetest.PensionPaid(t, env)
	h := servicetest.NewHall(t, env)
	r := servicetest.Approved(t, env, h, sess, p, servicetest.SomeAccount)
	bank.FailNext("transfer", bankfake.Fault{Processing: true})
	if _, err := env.Svc.ExecuteRefund(context.Background(), h.Tax, r.RefundNo, payouts.ExecuteInput{}); err != nil {
		t.Fatal(err)
	}
	return env, bank, h, sess, p, r
}

// wechatBankEnv is WeChat with refunds left PROCESSING until the test ends
// them, and a bank; notifications reach the service's real notify handling
// over HTTP. The WeChat Pay SDK checks the fake's answers against the wall
// clock, so the service clock starts there, with a policy book whose
// windows are open on whatever day it is (WallClock).
func wechatBankEnv(t *testing.T, db *store.DB) (*servicetest.Env, *bankfake.Server) {
	t.Helper()
	var env *servicetest.Env
	var bank *bankfake.Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := strings.TrimPrefix(r.URL.Path, "/api/v1/notify/")
		if ch == "wechatpay" {
			ch = models.ChannelWechat
		}
		_ = env.Svc.HandleNotification(r.Context(), ch, w, r)
	}))
	t.Cleanup(srv.Close)
	env = servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Wechat: true, WechatManualRefunds: true,
		Start: time.Now().UTC().Truncate(time.Second), WallClock: true, Mutate: func(d *service.Deps, _ *service.Options) {
			bank = bankfake.NewForTest(t, nil)
			d.Bank = bank.Client()
		}})
	return env, bank
}

// payByBankOnce has the tax window execute a refund to SomeAccount and
// checks the application is refunded with the bank paying amount, once.
func payByBankOnce(t *testing.T, env *servicetest.Env, h servicetest.StaffDesk, bank *bankfake.Server, refundNo string, amount models.Fen) {
	t.Helper()
	got, err := env.Svc.ExecuteRefund(context.Background(), h.Tax, refundNo, payouts.ExecuteInput{BankAccount: servicetest.SomeAccount})
	if err != nil || got.Status != models.RefundRefunded || bank.PaidTotal() != amount || bank.PaidCount() != 1 {
		t.Fatalf("bank execute %s %v, bank paid %d", got.Status, err, bank.PaidTotal())
	}
}

// abnormalEnv is WeChat (refunds left PROCESSING until the test ends them)
// and a bank, with 张三明's pension month paid through WeChat, credited, and
// an application for it approved and executed: its one channel payout is
// pending at WeChat.
func abnormalEnv(t *testing.T, db *store.DB) (*servicetest.Env, *bankfake.Server, servicetest.StaffDesk, people.Session, contrib.Payment, refunds.StaffRefund) {
	t.Helper()
	ctx := context.Background()
	env, bank := wechatBankEnv(t, db)
	sess, p := servicetest.ChannelJourney(t, env, models.ChannelWechat, "wx-abnormal", false)
	if err := env.Wechat.Pay(p.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	servicetest.WaitPaid(t, db, p.OrderNo)
	if paid := servicetest.OrderRow(t, db, p.OrderNo).PaidAt; paid != nil && paid.After(env.Clock.Now()) {
		env.Clock.Set(*paid)
	}
	env.Clock.Advance(3 * time.Second)
	env.Svc.WorkOnce(ctx)
	h := servicetest.NewHall(t, env)
	r := servicetest.Approved(t, env, h, sess, p, nil)
	sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
	if err != nil || sv.Status != models.RefundRefunding || len(sv.Payouts) != 1 || sv.Payouts[0].Status != refunds.PayoutPending {
		t.Fatalf("execute %+v %v", sv, err)
	}
	return env, bank, h, sess, p, sv
}

// goAbnormal has WeChat end the payout ABNORMAL and waits for its
// notification to be applied.
func goAbnormal(t *testing.T, env *servicetest.Env, db *store.DB, refundNo, payoutNo string) {
	t.Helper()
	if err := env.Wechat.CompleteRefund(payoutNo, false); err != nil {
		t.Fatal(err)
	}
	servicetest.WaitFor(t, "the ABNORMAL notification", func() bool { return payoutStatuses(t, db, refundNo)[payoutNo] == refunds.PayoutAbnormal })
}

func TestAWechatRefundThatGoesAbnormalIsHeldNotPaidAgainAndItsLaterSuccessIsCounted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, sess, p, sv := abnormalEnv(t, db)
		fakes := servicetest.MoneyFakes{Wechat: env.Wechat, Bank: bank}
		payout := sv.Payouts[0].PayoutNo
		goAbnormal(t, env, db, sv.RefundNo, payout)
		servicetest.CheckMoney(t, db, fakes)
		// The hall executes again with the applicant's bank account: nothing
		// is paid another way while WeChat holds the money.
		got, err := env.Svc.ExecuteRefund(ctx, h.Tax, sv.RefundNo, payouts.ExecuteInput{BankAccount: servicetest.SomeAccount})
		if err != nil || len(got.Payouts) != 1 || got.Status != models.RefundRefunding {
			t.Fatalf("execute while abnormal %+v %v", got.Payouts, err)
		}
		if bank.Calls("transfer") != 0 {
			t.Fatal("a bank transfer was sent for money WeChat holds")
		}
		as := anomalyRowsOf(t, db, p.OrderNo, "refund_abnormal")
		if len(as) != 1 || as[0].SystemAction == "" || as[0].RefundNo != sv.RefundNo || as[0].AmountFen != int64(p.AmountFen) {
			t.Fatalf("abnormal anomaly %+v", as)
		}
		// The worker keeps asking WeChat, without sending it again.
		env.Clock.Advance(2 * time.Hour)
		env.Svc.WorkOnce(ctx)
		if n := env.Wechat.RefundCount(p.OrderNo); n != 1 {
			t.Fatalf("WeChat holds %d refunds", n)
		}
		if s := payoutStatuses(t, db, sv.RefundNo)[payout]; s != refunds.PayoutAbnormal {
			t.Fatalf("after a query the payout is %s", s)
		}
		// A person at the merchant platform pays it out: REFUND.SUCCESS is
		// counted, not dropped as a duplicate.
		if err := env.Wechat.SettleAbnormalRefund(payout); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitFor(t, "the refund to be settled", func() bool {
			return servicetest.ApplicantView(t, env, sess, sv.RefundNo).Status == models.RefundRefunded
		})
		if o := servicetest.OrderRow(t, db, p.OrderNo); o.Status != contrib.OrderRefunded || o.RefundedFen != int64(p.AmountFen) {
			t.Fatalf("order %s refunded %d", o.Status, o.RefundedFen)
		}
		if bank.PaidTotal() != 0 {
			t.Fatal("the bank paid too")
		}
		servicetest.CheckMoney(t, db, fakes)
	})
}

func TestAnAbnormalWechatRefundReturnedToUsIsPaidByBankOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, sess, p, sv := abnormalEnv(t, db)
		fakes := servicetest.MoneyFakes{Wechat: env.Wechat, Bank: bank}
		payout := sv.Payouts[0].PayoutNo
		goAbnormal(t, env, db, sv.RefundNo, payout)
		// Only the tax window may decide it.
		if _, err := env.Svc.ReturnAbnormalPayout(ctx, h.Si, sv.RefundNo, payout); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("社保 staff returning it: %v", err)
		}
		got, err := env.Svc.ReturnAbnormalPayout(ctx, h.Tax, sv.RefundNo, payout)
		if err != nil || got.Payouts[0].Status != refunds.PayoutReturned {
			t.Fatalf("return %+v %v", got.Payouts, err)
		}
		if rf, _ := env.Wechat.Refund(payout); !rf.ToMerchant {
			t.Fatalf("WeChat refund %+v", rf)
		}
		// WeChat's REFUND.SUCCESS for the money coming back to us does not
		// count as the person paid: ignored when the window's answer moved
		// the payout first, else it moves it to returned itself.
		servicetest.WaitFor(t, "the REFUND.SUCCESS of the return", func() bool {
			return servicetest.Count(t, db, "notifications", "kind = ? AND outcome IN ?", "refund",
				[]string{contrib.OutcomeIgnored, contrib.OutcomeSettled}) == 2
		})
		if v := servicetest.ApplicantView(t, env, sess, sv.RefundNo); v.Status != models.RefundRefunding || v.RefundedFen != 0 {
			t.Fatalf("after the return %s %d", v.Status, v.RefundedFen)
		}
		servicetest.CheckMoney(t, db, fakes)
		// Now the bank pays it, once.
		payByBankOnce(t, env, h, bank, sv.RefundNo, p.AmountFen)
		if as := anomalyRowsOf(t, db, p.OrderNo, "refund_abnormal"); len(as) != 1 || as[0].ResolvedAt == nil {
			t.Fatalf("abnormal anomaly %+v", as)
		}
		servicetest.CheckMoney(t, db, fakes)
		// Asking again changes nothing.
		if _, err := env.Svc.ReturnAbnormalPayout(ctx, h.Tax, sv.RefundNo, payout); !errors.Is(err, models.ErrRefundState) {
			t.Fatalf("again: %v", err)
		}
	})
}

func TestARefundSuccessForAPayoutCountedFailedIsAnAnomaly(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, _, _, _, p, sv := abnormalEnv(t, db)
		payout := sv.Payouts[0].PayoutNo
		// Counted failed here (say, a CLOSED answer), then WeChat reports it paid.
		if err := db.Gorm.Model(&store.RefundPayoutRow{}).Where("payout_no = ?", payout).Update("status", refunds.PayoutFailed).Error; err != nil {
			t.Fatal(err)
		}
		out, err := env.Svc.Settle(ctx, models.Notification{Channel: models.ChannelWechat, ID: "evt-late-success", Kind: models.NotifyRefund,
			OrderNo: p.OrderNo, OutRefundNo: payout, Amount: p.AmountFen, RefundState: models.RefundSuccess, At: env.Clock.Now()}, "notify")
		if err != nil || out != contrib.OutcomeAnomaly {
			t.Fatalf("late success: %s %v", out, err)
		}
		if as := anomalyRowsOf(t, db, p.OrderNo, "refund_success_after_failure"); len(as) != 1 || as[0].AmountFen != int64(p.AmountFen) {
			t.Fatalf("anomalies %+v", as)
		}
	})
}

// anomalyRowsOf lists an order's anomalies of one kind.
func anomalyRowsOf(t *testing.T, db *store.DB, orderNo, kind string) []store.AnomalyRow {
	t.Helper()
	var rows []store.AnomalyRow
	if err := db.Gorm.Where("order_no = ? AND kind = ?", orderNo, kind).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// WeChat's success for an abnormal refund (paid out at the merchant
// platform) races the worker's queries and the hall executing again with a
// bank account: the person is paid once, by WeChat.
func TestAnAbnormalRefundsSuccessRacingTheWorkerAndTheHallPaysOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, h, sess, p, sv := abnormalEnv(t, db)
		payout := sv.Payouts[0].PayoutNo
		goAbnormal(t, env, db, sv.RefundNo, payout)
		env.Clock.Advance(2 * time.Hour) // the worker asks WeChat again
		if err := env.Wechat.SettleAbnormalRefund(payout); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(2)
			go func() { defer wg.Done(); env.Svc.WorkOnce(ctx) }()
			go func() {
				defer wg.Done()
				// Refused (already refunded) or a no-op: never an error
				// that moved money.
				_, _ = env.Svc.ExecuteRefund(ctx, h.Tax, sv.RefundNo, payouts.ExecuteInput{BankAccount: servicetest.SomeAccount})
			}()
		}
		wg.Wait()
		servicetest.WaitFor(t, "the refund to be settled", func() bool {
			return servicetest.ApplicantView(t, env, sess, sv.RefundNo).Status == models.RefundRefunded
		})
		// REFUND.ABNORMAL, then REFUND.SUCCESS: settled or a duplicate of
		// the query's confirmation, never an anomaly.
		servicetest.WaitFor(t, "WeChat's notifications", func() bool {
			return servicetest.Count(t, db, "notifications", "kind = ? AND outcome IN ?", "refund",
				[]string{contrib.OutcomeSettled, contrib.OutcomeDuplicate}) == 2
		})
		if bank.Calls("transfer") != 0 {
			t.Fatal("the bank was asked to pay too")
		}
		v := servicetest.ApplicantView(t, env, sess, sv.RefundNo)
		if v.RefundedFen != p.AmountFen {
			t.Fatalf("refunded %d of %d", v.RefundedFen, p.AmountFen)
		}
		if got := payoutStatuses(t, db, sv.RefundNo); len(got) != 1 || got[payout] != refunds.PayoutSuccess {
			t.Fatalf("payouts %v", got)
		}
		servicetest.CheckMoney(t, db, servicetest.MoneyFakes{Wechat: env.Wechat, Bank: bank})
	})
}
