package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
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
		var bank *bankfake.Server
		env := newEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			bank = bankfake.NewForTest(t, nil)
			d.Bank = bank.Client()
		})
		sess, p := pensionPaid(t, env)
		h := newHall(t, env)
		r := approved(t, env, h, sess, p, someAccount)
		bank.FailNext("transfer", bankfake.Fault{Processing: true})
		if _, err := env.Svc.ExecuteRefund(ctx, h.tax, r.RefundNo, service.ExecuteInput{}); err != nil {
			t.Fatal(err)
		}
		// PROCESSING, then the bank gives up on it (the account was closed).
		bank.FailNext("query", bankfake.Fault{Refuse: "ACCOUNT_FROZEN"})
		env.Clock.Advance(2 * time.Minute)
		env.Svc.WorkOnce(ctx)
		if got := payoutStatuses(t, db, r.RefundNo); got[r.RefundNo+"-1B"] != service.PayoutFailed {
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
		other := &models.BankAccount{BankName: "中国工商银行", AccountName: someAccount.AccountName, AccountNo: "6222020200009876543"}
		if _, err := env.Svc.ExecuteRefund(ctx, h.tax, r.RefundNo, service.ExecuteInput{BankAccount: other}); err != nil {
			t.Fatal(err)
		}
		got := applicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundRefunded || bank.PaidTotal() != p.AmountFen || bank.PaidCount() != 1 {
			t.Fatalf("after the second transfer %s, bank paid %d in %d", got.Status, bank.PaidTotal(), bank.PaidCount())
		}
		if o := orderRow(t, db, p.OrderNo); o.RefundedFen != int64(p.AmountFen) || o.Status != service.OrderRefunded {
			t.Fatalf("order %s refunded %d of %d", o.Status, o.RefundedFen, o.AmountFen)
		}
	})
}
