package alipay_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

func TestTheDailyBillIsDownloadedAndParsedExactly(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, models.Beijing)

	a := e.prepay(t, "LB202603020201", 38000, buyer)
	e.clock.Advance(time.Minute)
	e.pay(t, "LB202603020201") // 10:01
	b := e.prepay(t, "LB202603020202", 1990, buyer)
	e.clock.Advance(time.Minute)
	e.pay(t, "LB202603020202") // 10:02
	e.clock.Advance(time.Hour)
	if _, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB202603020201", OutRefundNo: "RF1", Refund: 8050}); err != nil {
		t.Fatal(err) // 11:02
	}
	e.prepay(t, "LB202603020203", 500, buyer) // never paid: not in the bill
	e.clock.Set(time.Date(2026, 3, 2, 23, 59, 0, 0, models.Beijing))
	e.prepay(t, "LB202603020204", 100, buyer)
	e.clock.Advance(2 * time.Minute)
	e.pay(t, "LB202603020204") // paid on the 3rd: not in the bill of the 2nd

	// Before 10:00 the next day Alipay has no bill yet.
	e.clock.Set(time.Date(2026, 3, 3, 9, 0, 0, 0, models.Beijing))
	_, err := e.client.DownloadBill(context.Background(), day)
	wantIs(t, err, models.ErrNotFound)

	e.clock.Set(time.Date(2026, 3, 3, 10, 30, 0, 0, models.Beijing))
	lines, err := e.client.DownloadBill(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, models.Beijing).UTC() }
	want := []models.BillLine{
		{OrderNo: "LB202603020201", TransactionID: a, Amount: 38000, State: models.TradePaid, At: at(10, 1)},
		{OrderNo: "LB202603020202", TransactionID: b, Amount: 1990, State: models.TradePaid, At: at(10, 2)},
		{OrderNo: "LB202603020201", TransactionID: a, RefundAmount: 8050, State: models.TradePaid, At: at(11, 2)},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(lines), len(want), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %+v\n        want %+v", i, lines[i], want[i])
		}
	}
}

func TestADayGivenInUTCIsTheBeijingDayItFallsOn(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020301", 100, buyer)
	e.pay(t, "LB202603020301") // 2026-03-02 10:00 Beijing
	e.clock.Set(time.Date(2026, 3, 3, 11, 0, 0, 0, models.Beijing))
	// Beijing midnight of the 2nd, as a UTC instant (16:00 on the 1st).
	lines, err := e.client.DownloadBill(context.Background(), time.Date(2026, 3, 2, 0, 0, 0, 0, models.Beijing).UTC())
	if err != nil || len(lines) != 1 || lines[0].OrderNo != "LB202603020301" {
		t.Fatalf("%+v, %v", lines, err)
	}
}

func TestABillQueryWhenAlipayIsBusyIsUnavailableNotEmpty(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.clock.Set(time.Date(2026, 3, 3, 11, 0, 0, 0, models.Beijing))
	e.fake.FailNext("alipay.data.dataservice.bill.downloadurl.query", alipayfake.Fault{Code: "40004", SubCode: "isp.unknow-error"})
	_, err := e.client.DownloadBill(context.Background(), time.Date(2026, 3, 2, 0, 0, 0, 0, models.Beijing))
	wantIs(t, err, models.ErrUnavailable)
}
