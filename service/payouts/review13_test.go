package payouts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A paid order that cannot be booked, whose automatic refund is already
// filed (PlanAutoRefund's "planned already" answer, nil), must not have
// its polled view cached as a booked order's: that view skips the refund
// look-up and would tell the payer nothing of the refund.
func TestAnUnbookedOrdersCachedViewStillNamesItsRefund(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r, sess, ap, wp, wh, wb := paidTwice(t, db)
		r.Lose.Store(false)
		r.PostWechat(wh, wb)
		r.SettledOnce(wp.OrderNo)
		refundNo := contrib.AutoRefundNo(ap.OrderNo)
		now := time.Now().UTC()
		if err := db.Gorm.Create(&store.RefundRow{RefundNo: refundNo, ApplicantUserID: sess.UserID, PersonID: "p-any", Scheme: string(ap.Scheme),
			Department: ap.Scheme.Department(), Reason: string(models.ReasonWronglyCollected), RefundFen: int64(ap.AmountFen),
			Route: string(models.RouteOriginal), Attachments: "[]", Status: string(models.RefundRefunding), Holder: models.DeptTax,
			PayoutSeq: 1, CreatedAt: now, UpdatedAt: now, ApplicantRole: "system"}).Error; err != nil {
			t.Fatal(err)
		}
		r.PostAlipay(r.Alipay.Notification(ap.OrderNo))
		if st := r.Status(ap.OrderNo); st != contrib.OrderPaid {
			t.Fatalf("order %s", st)
		}
		p, err := r.Svc.GetPayment(ctx, sess.UserID, ap.OrderNo)
		if err != nil || p.AutoRefundNo != refundNo || !strings.Contains(p.Notice, refundNo) {
			t.Fatalf("view %+v %v", p, err)
		}
	})
}
