package payouts_test

import (
	"context"
	"testing"

	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// Execute and the automatic refund read their payouts before claiming
// them; another instance may settle one in between. Sent under the claim,
// a payout goes out only if it is still pending when read again: one the
// other instance found failed is not sent again with its old number.
func TestAPayoutSettledByAnotherInstanceBeforeTheClaimIsNotSentAgain(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank, _, _, _, r := bankTransferProcessing(t, db)
		no := r.RefundNo + "-1B"
		if got := payoutStatuses(t, db, r.RefundNo); got[no] != refunds.PayoutPending {
			t.Fatalf("payouts %v", got)
		}
		sent := bank.Calls("transfer")

		// Another instance's worker found it failed and released it.
		if err := db.Gorm.Model(&store.RefundPayoutRow{}).Where("payout_no = ?", no).Update("status", refunds.PayoutFailed).Error; err != nil {
			t.Fatal(err)
		}
		if err := env.Svc.SendIfStillPending(ctx, no, "execute"); err != nil {
			t.Fatal(err)
		}
		if bank.Calls("transfer") != sent {
			t.Fatal("a payout found failed elsewhere was sent again")
		}

		// Still pending: sent (again, under the same number) once.
		if err := db.Gorm.Model(&store.RefundPayoutRow{}).Where("payout_no = ?", no).Update("status", refunds.PayoutPending).Error; err != nil {
			t.Fatal(err)
		}
		if err := env.Svc.SendIfStillPending(ctx, no, "execute"); err != nil {
			t.Fatal(err)
		}
		if bank.Calls("transfer") != sent+1 {
			t.Fatalf("a pending payout: %d transfers after %d", bank.Calls("transfer"), sent)
		}
	})
}
