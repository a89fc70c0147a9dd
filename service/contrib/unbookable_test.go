package contrib_test

import (
	"context"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A paid order one of whose months already has a record (booked meanwhile
// by another order, behind the claims' back) cannot be booked. Settling
// books without a savepoint, finds that only at the records' insert,
// after the declaration and claims were written, and starts again: the
// order ends paid and refunded whole, with nothing of the booking left.
func TestAnOrderWhoseMonthWasBookedMeanwhileIsRefundedWithNothingHalfWritten(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		ctx := servicetest.RequestContext(context.Background(), j.Sess)
		d, p := j.OpenOrder(t, ctx)
		var dr store.DeclarationRow
		if err := db.Gorm.Where("id = ?", d.DeclarationID).Take(&dr).Error; err != nil {
			t.Fatal(err)
		}
		other := store.RecordRow{ID: kernel.NewID("r"), PersonID: dr.PersonID, Scheme: dr.Scheme, Period: dr.PeriodTo, RegionCode: dr.RegionCode,
			BaseFen: dr.BaseFen, AmountFen: dr.MonthlyFen, Status: contrib.RecordPaid, OrderNo: "LB-ELSEWHERE", PaidAt: env.Clock.Now()}
		if err := db.Gorm.Create(&other).Error; err != nil {
			t.Fatal(err)
		}
		outcome, err := env.Svc.Settle(context.Background(), models.Notification{Channel: "sandbox", ID: "N-" + p.OrderNo, Kind: models.NotifyPayment,
			OrderNo: p.OrderNo, Amount: p.AmountFen, Paid: true, At: env.Clock.Now()}, "notify")
		if err != nil || outcome != contrib.OutcomeSettled {
			t.Fatalf("settle: %s %v", outcome, err)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo); n != 0 {
			t.Fatalf("%d records of the unbookable order", n)
		}
		if err := db.Gorm.Where("id = ?", d.DeclarationID).Take(&dr).Error; err != nil || dr.Status == contrib.DeclPaid {
			t.Fatalf("declaration %s (%v): an unbookable order must not pay it", dr.Status, err)
		}
		if n := servicetest.Count(t, db, "refund_payouts", "order_no = ?", p.OrderNo); n != 1 {
			t.Fatalf("%d automatic refunds of the unbookable order", n)
		}
		if n := servicetest.Count(t, db, "notifications", "notify_id = ?", "N-"+p.OrderNo); n != 1 {
			t.Fatalf("%d notification rows", n)
		}
	})
}
