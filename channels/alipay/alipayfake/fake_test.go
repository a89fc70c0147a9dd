package alipayfake_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

var keys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

// newFake starts a fake and an SDK client for it, to speak the protocol
// below the lianban client.
func newFake(t *testing.T, clock models.Clock) (*alipayfake.Server, *sdk.Client) {
	t.Helper()
	app, ali := keys()
	f := alipayfake.New(alipayfake.Options{Clock: clock, AppKey: app, AlipayKey: ali, NotifyRetry: []time.Duration{}})
	t.Cleanup(f.Close)
	f.Start()
	c, err := sdk.New(f.AppID(), f.AppPrivateKeyPEM(), true, sdk.WithProductionGateway(f.GatewayURL()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadAliPayPublicKey(f.AlipayPublicKeyPEM()); err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestARequestChangedAfterSigningIsRejectedUnsigned(t *testing.T) {
	f, c := newFake(t, nil)
	v, err := c.URLValues(sdk.TradeQuery{OutTradeNo: "LB1"})
	if err != nil {
		t.Fatal(err)
	}
	v.Set("biz_content", `{"out_trade_no":"LB2"}`)
	resp, err := http.PostForm(f.GatewayURL(), v)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "isv.invalid-signature") || strings.Contains(string(body), `"sign"`) {
		t.Fatalf("answer %s", body)
	}
	if f.Calls("alipay.trade.query") != 0 {
		t.Fatal("a forged request was counted as a call")
	}
}

func TestAnAnswerIsSignedOverItsExactBytes(t *testing.T) {
	_, c := newFake(t, nil)
	rsp, err := c.TradeQuery(context.Background(), sdk.TradeQuery{OutTradeNo: "LB-none"})
	// The SDK verified the signature (err == nil) and left the business
	// failure to the caller.
	if err != nil || rsp.Code != "40004" || rsp.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("%+v, %v", rsp, err)
	}
}

func TestTheCashierPagePaysAndReturnsThePayerWithSignedParameters(t *testing.T) {
	f, c := newFake(t, nil)
	u, err := c.TradeWapPay(sdk.TradeWapPay{Trade: sdk.Trade{Subject: "社保费", OutTradeNo: "LB-H5", TotalAmount: "380.00",
		ProductCode: "QUICK_WAP_WAY", ReturnURL: "https://lianban.example/return"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cashier page: %s", resp.Status)
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(f.URL()+"/cashier/pay", url.Values{"out_trade_no": {"LB-H5"}, "result": {"success"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "lianban.example" {
		t.Fatalf("%s to %q", resp.Status, loc)
	}
	if err := c.VerifySign(context.Background(), loc.Query()); err != nil {
		t.Fatalf("return parameters: %v", err)
	}
	if tr, _ := f.Trade("LB-H5"); tr.Status != "TRADE_SUCCESS" || tr.Buyer == "" {
		t.Fatalf("trade %+v", tr)
	}
}

func TestABillLinkWorksForThirtySeconds(t *testing.T) {
	clock := models.NewManualClock(time.Date(2026, 3, 3, 11, 0, 0, 0, models.Beijing))
	_, c := newFake(t, clock)
	rsp, err := c.BillDownloadURLQuery(context.Background(), sdk.BillDownloadURLQuery{BillType: "trade", BillDate: "2026-03-02"})
	if err != nil || rsp.Code != sdk.CodeSuccess {
		t.Fatalf("%+v, %v", rsp, err)
	}
	get := func() int {
		resp, err := http.Get(rsp.BillDownloadURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != http.StatusOK {
		t.Fatalf("fresh link: %d", s)
	}
	clock.Advance(31 * time.Second)
	if s := get(); s != http.StatusForbidden {
		t.Fatalf("stale link: %d", s)
	}
	if s := func() int {
		resp, err := http.Get(strings.Replace(rsp.BillDownloadURL, "bizDates=20260302", "bizDates=20260301", 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}(); s != http.StatusForbidden {
		t.Fatalf("link for another day: %d", s)
	}
}

func TestPayingAnOrderTheFakeDoesNotHaveIsAnError(t *testing.T) {
	f, _ := newFake(t, nil)
	if err := f.Pay("LB-none", true); err == nil {
		t.Fatal("paid a trade that does not exist")
	}
	if f.Notification("LB-none") != nil {
		t.Fatal("a notification for a trade that does not exist")
	}
}
