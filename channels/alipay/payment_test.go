package alipay_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

const buyer = "2088102146225135"

func TestPrepayForTheMiniProgramReturnsTheTradeNoOfTheBuyersTrade(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	tradeNo := e.prepay(t, "LB202603020001", 38000, buyer)

	tr, ok := e.fake.Trade("LB202603020001")
	if !ok || tradeNo == "" || tr.TradeNo != tradeNo {
		t.Fatalf("trade_no %q, fake has %+v", tradeNo, tr)
	}
	if tr.Amount != 38000 || tr.Buyer != buyer || tr.ProductCode != "JSAPI_PAY" || tr.Status != "WAIT_BUYER_PAY" {
		t.Fatalf("fake trade %+v", tr)
	}
}

func TestPrepayInOpenIDModeSendsTheBuyersOpenID(t *testing.T) {
	e := newEnv(t, alipayfake.Options{OpenIDMode: true}, "")
	oid := e.fake.OpenIDFor(buyer)
	e.prepay(t, "LB202603020002", 100, oid)
	if tr, _ := e.fake.Trade("LB202603020002"); tr.Buyer != oid {
		t.Fatalf("buyer %q, want open_id %q", tr.Buyer, oid)
	}
}

func TestPrepayRepeatedForTheSameOrderReturnsTheSameTrade(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	first := e.prepay(t, "LB202603020003", 38000, buyer)
	if again := e.prepay(t, "LB202603020003", 38000, buyer); again != first {
		t.Fatalf("second prepay gave %q, first %q", again, first)
	}
}

func TestPrepayForAnOrderAlreadyPaidSaysSo(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020004", 38000, buyer)
	e.pay(t, "LB202603020004")
	_, err := e.client.Prepay(context.Background(), models.PrepayRequest{OrderNo: "LB202603020004", Amount: 38000,
		Payer: models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: buyer}})
	wantIs(t, err, models.ErrOrderPaidAtChannel)
}

func TestPrepayForAWechatUserInTheMiniProgramIsRefused(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	_, err := e.client.Prepay(context.Background(), models.PrepayRequest{OrderNo: "LB1", Amount: 100,
		Payer: models.ChannelIdentity{Channel: models.ChannelWechat, Subject: "oWx"}})
	wantIs(t, err, models.ErrChannelUnsupported)
}

func TestPrepayOfNothingIsInvalid(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	_, err := e.client.Prepay(context.Background(), models.PrepayRequest{OrderNo: "LB1", Amount: 0,
		Payer: models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: buyer}})
	wantIs(t, err, models.ErrInvalid)
}

func TestPrepayH5ReturnsASignedCashierURLThatOpensTheTrade(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	p, err := e.client.Prepay(context.Background(), models.PrepayRequest{
		OrderNo: "LB202603020005", Amount: 38050, Description: "城乡居民医保", H5: true,
		ExpiresAt: e.clock.Now().Add(15 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(p["url"])
	if err != nil || !strings.HasPrefix(p["url"], e.fake.GatewayURL()+"?") {
		t.Fatalf("url %q, want one on the gateway %s", p["url"], e.fake.GatewayURL())
	}
	if q := u.Query(); q.Get("method") != "alipay.trade.wap.pay" || q.Get("sign") == "" || q.Get("notify_url") != e.cfg.NotifyURL {
		t.Fatalf("url query %v", q)
	}

	// Before the payer opens the page Alipay has no trade: still paying.
	tr, err := e.client.Query(context.Background(), "LB202603020005")
	if err != nil || tr.State != models.TradePaying {
		t.Fatalf("query before opening: %+v, %v", tr, err)
	}

	resp, err := http.Get(p["url"])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "380.50") {
		t.Fatalf("cashier page %d: %s", resp.StatusCode, page)
	}
	if tr, _ := e.fake.Trade("LB202603020005"); tr.ProductCode != "QUICK_WAP_WAY" || tr.Amount != 38050 {
		t.Fatalf("fake trade %+v", tr)
	}
}

func TestQueryFollowsTheTradeFromWaitingToPaidWithTheAmountInFen(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	tradeNo := e.prepay(t, "LB202603020006", 38050, buyer)

	tr, err := e.client.Query(context.Background(), "LB202603020006")
	if err != nil || tr.State != models.TradePaying {
		t.Fatalf("before paying: %+v, %v", tr, err)
	}

	e.clock.Advance(2 * time.Minute)
	e.pay(t, "LB202603020006")
	tr, err = e.client.Query(context.Background(), "LB202603020006")
	want := models.Trade{OrderNo: "LB202603020006", State: models.TradePaid, Amount: 38050,
		TransactionID: tradeNo, PaidAt: start.Add(2 * time.Minute)}
	if err != nil || tr != want {
		t.Fatalf("after paying: %+v, %v; want %+v", tr, err, want)
	}
}

func TestQueryOfAnExpiredUnpaidTradeIsClosed(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020007", 100, buyer)
	e.clock.Advance(31 * time.Minute)
	tr, err := e.client.Query(context.Background(), "LB202603020007")
	if err != nil || tr.State != models.TradeClosed {
		t.Fatalf("%+v, %v", tr, err)
	}
}

func TestQueryOfAnOrderAlipayNeverSawIsPaying(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	tr, err := e.client.Query(context.Background(), "LB-unknown")
	if err != nil || tr.State != models.TradePaying {
		t.Fatalf("%+v, %v", tr, err)
	}
}

func TestQueryBusinessFailureSurfacesAsAnError(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.fake.FailNext("alipay.trade.query", alipayfake.Fault{Code: "40004", SubCode: "ACQ.INVALID_PARAMETER", SubMsg: "参数无效"})
	tr, err := e.client.Query(context.Background(), "LB1")
	wantIs(t, err, models.ErrInternal)
	if tr.State != models.TradeUnknown {
		t.Fatalf("state %q, want unknown", tr.State)
	}
}

func TestQueryNeverReportsFailureWhenTheAnswerIsUnusable(t *testing.T) {
	tests := []struct {
		name  string
		fault alipayfake.Fault
	}{
		{"system error", alipayfake.Fault{Code: "40004", SubCode: "ACQ.SYSTEM_ERROR", SubMsg: "系统错误"}},
		{"service unavailable", alipayfake.Fault{Code: "20000", SubCode: "isp.unknow-error", SubMsg: "服务暂不可用"}},
		{"proxy error page", alipayfake.Fault{Status: http.StatusBadGateway, Body: "<html>502 Bad Gateway</html>"}},
		{"answer signed with the wrong key", alipayfake.Fault{BadSignature: true}},
		{"timeout", alipayfake.Fault{Delay: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, alipayfake.Options{}, "")
			cfg := e.cfg
			cfg.RequestTimeout = 200 * time.Millisecond
			c, err := alipay.New(cfg, nil, e.clock)
			if err != nil {
				t.Fatal(err)
			}
			e.fake.FailNext("alipay.trade.query", tt.fault)
			tr, err := c.Query(context.Background(), "LB1")
			wantIs(t, err, models.ErrUnavailable)
			if tr.State != models.TradeUnknown {
				t.Fatalf("state %q, want unknown", tr.State)
			}
		})
	}
}

func TestPrepayBusinessFailureSurfacesAsAnError(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.fake.FailNext("alipay.trade.create", alipayfake.Fault{Code: "40004", SubCode: "ACQ.ACCESS_FORBIDDEN", SubMsg: "无权限使用接口"})
	_, err := e.client.Prepay(context.Background(), models.PrepayRequest{OrderNo: "LB1", Amount: 100,
		Payer: models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: buyer}})
	wantIs(t, err, models.ErrInternal)
}

func TestCloseOfAWaitingTradeClosesIt(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020008", 100, buyer)
	if err := e.client.Close(context.Background(), "LB202603020008"); err != nil {
		t.Fatal(err)
	}
	if tr, _ := e.fake.Trade("LB202603020008"); tr.Status != "TRADE_CLOSED" {
		t.Fatalf("fake status %s", tr.Status)
	}
	if err := e.fake.Pay("LB202603020008", true); err == nil {
		t.Fatal("a closed trade was paid")
	}
	// Closing again is harmless.
	if err := e.client.Close(context.Background(), "LB202603020008"); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestCloseOfAPaidTradeSaysItWasPaid(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020009", 100, buyer)
	e.pay(t, "LB202603020009")
	wantIs(t, e.client.Close(context.Background(), "LB202603020009"), models.ErrOrderPaidAtChannel)
}

// A trade Alipay never saw (an H5 URL not opened yet) is not closed by
// closing it: the URL stays payable until its time_expire.
func TestCloseOfATradeAlipayNeverSawIsNotFound(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	wantIs(t, e.client.Close(context.Background(), "LB-never-opened"), models.ErrNotFound)
}

func TestCloseWhenAlipayIsBusyIsUnavailable(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.fake.FailNext("alipay.trade.close", alipayfake.Fault{Code: "40004", SubCode: "ACQ.SYSTEM_ERROR"})
	wantIs(t, e.client.Close(context.Background(), "LB1"), models.ErrUnavailable)
}

func TestRefundIsMadeOnceHoweverOftenItIsRetried(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020010", 38000, buyer)
	e.pay(t, "LB202603020010")
	req := models.RefundRequest{OrderNo: "LB202603020010", OutRefundNo: "RF202603020001", Refund: 8050, Total: 38000, Reason: "多缴退费"}

	for i := range 3 {
		res, err := e.client.Refund(context.Background(), req)
		if err != nil || res.State != models.RefundSuccess || res.Amount != 8050 || res.OutRefundNo != "RF202603020001" {
			t.Fatalf("attempt %d: %+v, %v", i+1, res, err)
		}
	}
	tr, _ := e.fake.Trade("LB202603020010")
	if tr.Refunds != 1 || tr.Refunded != 8050 {
		t.Fatalf("fake refunded %d in %d refunds, want 8050 in 1", tr.Refunded, tr.Refunds)
	}
	if n := e.fake.Calls("alipay.trade.refund"); n != 3 {
		t.Fatalf("%d refund calls reached the gateway, want 3", n)
	}

	res, err := e.client.QueryRefund(context.Background(), "LB202603020010", "RF202603020001")
	if err != nil || res.State != models.RefundSuccess || res.Amount != 8050 || !res.SucceededAt.Equal(start) {
		t.Fatalf("QueryRefund: %+v, %v", res, err)
	}
}

func TestRefundBeyondWhatWasPaidFails(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020011", 100, buyer)
	e.pay(t, "LB202603020011")
	res, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB202603020011", OutRefundNo: "RF1", Refund: 101})
	if err == nil || res.State != models.RefundFailed {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestRefundNumberReusedForAnotherAmountStaysPending(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020012", 1000, buyer)
	e.pay(t, "LB202603020012")
	if _, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB202603020012", OutRefundNo: "RF1", Refund: 100}); err != nil {
		t.Fatal(err)
	}
	// The first refund with this number went through: never call it failed.
	res, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB202603020012", OutRefundNo: "RF1", Refund: 200})
	if err == nil || res.State != models.RefundPending {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestRefundWhenAlipayIsBusyStaysPending(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.fake.FailNext("alipay.trade.refund", alipayfake.Fault{Code: "40004", SubCode: "ACQ.SYSTEM_ERROR"})
	res, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB1", OutRefundNo: "RF1", Refund: 100})
	wantIs(t, err, models.ErrUnavailable)
	if res.State != models.RefundPending {
		t.Fatalf("state %q", res.State)
	}
}

func TestQueryRefundOfARefundAlipayNeverMadeIsPending(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020013", 100, buyer)
	e.pay(t, "LB202603020013")
	res, err := e.client.QueryRefund(context.Background(), "LB202603020013", "RF-none")
	if err != nil || res.State != models.RefundPending {
		t.Fatalf("%+v, %v", res, err)
	}
}
