package unitrefunds_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAUnitRefundAsksTheTreasuryAboutAnOrderStillWaiting: as a person's
// refund does, a unit's application asks the treasury at once about its
// order when the records say only paid, instead of refusing money the
// treasury may have credited since the worker last asked.
func TestAUnitRefundAsksTheTreasuryAboutAnOrderStillWaiting(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
		// The fixture's months are credited; these are still waiting.
		if err := db.Gorm.Model(&store.RecordRow{}).Where("order_no = ?", pu.OrderNo).
			Updates(map[string]any{"status": contrib.RecordPaid, "credited_at": nil, "tax_voucher_no": ""}).Error; err != nil {
			t.Fatal(err)
		}
		permit := upload(t, env, pu.Rep, pu.Unit.ID)
		in := unitRefund(pu, models.SchemeEnterprisePension, 100, permit.UploadID)

		treasury.Answer(func(string) string { return servicetest.TreasuryPending })
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, in); !errors.Is(err, models.ErrRefundNotCredited) {
			t.Fatalf("not credited yet: %v, want REFUND_NOT_CREDITED", err)
		}
		if n := treasury.Asks(pu.OrderNo); n != 1 {
			t.Fatalf("treasury asked %d times, want once", n)
		}
		env.Clock.Advance(11 * time.Second) // past the gap between one order's questions
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		if r, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, in); err != nil || r.RefundFen != 100 {
			t.Fatalf("credited since: %+v %v", r, err)
		}
	})
}
