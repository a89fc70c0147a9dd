package handlers_test

import (
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
)

// seedAnomalies records two open anomalies as the write paths would: one
// of a payment (the tax window's) and one of the refund refundNo (its
// scheme's reviewer's). It returns their ids.
func seedAnomalies(t *testing.T, env *servicetest.Env, orderNo, refundNo string) (payment, refund string) {
	t.Helper()
	now := env.Clock.Now().UTC()
	for _, a := range []store.AnomalyRow{
		{ID: "an_hall_pay", Source: "reconcile", Channel: models.ChannelSandbox, OrderNo: orderNo, Kind: "missing_in_bill",
			Detail: "本系统记为已支付，但渠道账单无此交易", AmountFen: 98140, CreatedAt: now.Add(-2 * time.Hour)},
		{ID: "an_hall_refund", Source: "refund", Channel: models.ChannelSandbox, OrderNo: orderNo, RefundNo: refundNo,
			Kind: "refund_amount_mismatch", Detail: "退款金额不符", AmountFen: 98140, CreatedAt: now.Add(-time.Hour)},
	} {
		if err := env.DB.Gorm.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
	}
	return "an_hall_pay", "an_hall_refund"
}
