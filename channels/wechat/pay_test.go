package wechat_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
)

const testNotifyURL = "https://lianban.example/api/v1/notify/wechatpay"

func newPay(t *testing.T, f *wechatfake.Server, clock models.Clock) *wechat.Pay {
	t.Helper()
	p, err := wechat.NewPay(context.Background(), f.ClientConfig(testNotifyURL), nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// prepay opens an order for openid "o-payer".
func prepay(t *testing.T, p *wechat.Pay, orderNo string, amount models.Fen) models.PayParams {
	t.Helper()
	pp, err := p.Prepay(context.Background(), models.PrepayRequest{
		OrderNo: orderNo, Amount: amount, Description: "2026年城乡居民基本医疗保险",
		Payer:     models.ChannelIdentity{Channel: "wechat", Subject: "o-payer"},
		ExpiresAt: time.Now().Add(30 * time.Minute),
	})
	if err != nil {
		t.Fatalf("prepay %s: %v", orderNo, err)
	}
	return pp
}

func TestPrepayReturnsRequestPaymentParamsSignedByTheMerchant(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	expires := time.Date(2099, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	pp, err := p.Prepay(context.Background(), models.PrepayRequest{
		OrderNo: "LB202601150001", Amount: 40000, Description: "2026年城乡居民基本医疗保险",
		Payer: models.ChannelIdentity{Channel: "wechat", Subject: "o-payer"}, ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"} {
		if pp[k] == "" {
			t.Fatalf("pay_params lacks %s: %v", k, pp)
		}
	}
	o, ok := f.Order("LB202601150001")
	if !ok {
		t.Fatal("fake has no order")
	}
	if pp["appId"] != f.AppID() || pp["package"] != "prepay_id="+o.PrepayID || pp["signType"] != "RSA" {
		t.Fatalf("pay_params = %v, prepay_id %s", pp, o.PrepayID)
	}
	msg := pp["appId"] + "\n" + pp["timeStamp"] + "\n" + pp["nonceStr"] + "\n" + pp["package"] + "\n"
	sig, err := base64.StdEncoding.DecodeString(pp["paySign"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(f.MerchantPublicKey(), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("paySign does not verify with the merchant public key: %v", err)
	}
	if o.Amount != 40000 || o.OpenID != "o-payer" || o.NotifyURL != testNotifyURL || !o.ExpiresAt.Equal(expires.Truncate(time.Second)) {
		t.Fatalf("fake order = %+v", o)
	}

	t.Run("asking again for the same order gets the same prepay_id", func(t *testing.T) {
		again, err := p.Prepay(context.Background(), models.PrepayRequest{
			OrderNo: "LB202601150001", Amount: 40000, Payer: models.ChannelIdentity{Subject: "o-payer"}, ExpiresAt: expires,
		})
		if err != nil || again["package"] != pp["package"] {
			t.Fatalf("again = %v, %v", again, err)
		}
	})
	t.Run("the same order number with another amount is refused", func(t *testing.T) {
		_, err := p.Prepay(context.Background(), models.PrepayRequest{
			OrderNo: "LB202601150001", Amount: 1, Payer: models.ChannelIdentity{Subject: "o-payer"},
		})
		if err == nil || errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a paid order cannot be prepaid again", func(t *testing.T) {
		if err := f.Pay("LB202601150001", true); err != nil {
			t.Fatal(err)
		}
		_, err := p.Prepay(context.Background(), models.PrepayRequest{
			OrderNo: "LB202601150001", Amount: 40000, Payer: models.ChannelIdentity{Subject: "o-payer"},
		})
		if !errors.Is(err, models.ErrOrderPaidAtChannel) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a payer without openid is refused before calling WeChat", func(t *testing.T) {
		_, err := p.Prepay(context.Background(), models.PrepayRequest{OrderNo: "LB2", Amount: 1})
		if !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestQueryMapsTradeStates(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	ctx := context.Background()
	prepay(t, p, "Q-NOTPAY", 100)
	prepay(t, p, "Q-PAID", 38012)
	prepay(t, p, "Q-FAILED", 100)
	prepay(t, p, "Q-CLOSED", 100)
	if err := f.Pay("Q-PAID", true); err != nil {
		t.Fatal(err)
	}
	if err := f.Pay("Q-FAILED", false); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx, "Q-CLOSED"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, orderNo string
		want          models.TradeState
	}{
		{"an unpaid order (NOTPAY) is paying", "Q-NOTPAY", models.TradePaying},
		{"a failed payment (PAYERROR) is closed", "Q-FAILED", models.TradeClosed},
		{"a closed order (CLOSED) is closed", "Q-CLOSED", models.TradeClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := p.Query(ctx, tc.orderNo)
			if err != nil || tr.State != tc.want || tr.OrderNo != tc.orderNo {
				t.Fatalf("Query = %+v, %v", tr, err)
			}
		})
	}
	t.Run("a paid order (SUCCESS) is paid with amount, transaction id and time", func(t *testing.T) {
		tr, err := p.Query(ctx, "Q-PAID")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := f.Order("Q-PAID")
		if tr.State != models.TradePaid || tr.Amount != 38012 || tr.TransactionID == "" || tr.TransactionID != o.TransactionID ||
			!tr.PaidAt.Equal(o.PaidAt.Truncate(time.Second)) {
			t.Fatalf("Query = %+v, fake order %+v", tr, o)
		}
	})
	t.Run("an order WeChat never saw is not found", func(t *testing.T) {
		if _, err := p.Query(ctx, "Q-NONE"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("WeChat failing (500) is unavailable, never failed", func(t *testing.T) {
		f.FailNextPayCalls(1)
		if _, err := p.Query(ctx, "Q-PAID"); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a timeout is unavailable", func(t *testing.T) {
		cfg := f.ClientConfig(testNotifyURL)
		cfg.PayAPIBase = "http://127.0.0.1:1"
		p2, err := wechat.NewPay(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Query(ctx, "Q-PAID"); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an answer signed with another key is unavailable", func(t *testing.T) {
		other := startFake(t, wechatfake.Options{})
		cfg := f.ClientConfig(testNotifyURL)
		cfg.PubKey = &other.Keys().PlatformKey.PublicKey
		p2, err := wechat.NewPay(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Query(ctx, "Q-PAID"); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a request signed with another merchant key is refused by the fake", func(t *testing.T) {
		other := startFake(t, wechatfake.Options{})
		cfg := f.ClientConfig(testNotifyURL)
		cfg.MchKey = other.Keys().MchKey
		p2, err := wechat.NewPay(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p2.Query(ctx, "Q-PAID")
		if err == nil || errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v, want a SIGN_ERROR refusal", err)
		}
	})
}

func TestCloseReportsOrderPaidAtChannel(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	ctx := context.Background()
	prepay(t, p, "C-OPEN", 100)
	prepay(t, p, "C-PAID", 100)

	if err := p.Close(ctx, "C-OPEN"); err != nil {
		t.Fatal(err)
	}
	if o, _ := f.Order("C-OPEN"); o.State != "CLOSED" {
		t.Fatalf("fake state %s", o.State)
	}
	if err := p.Close(ctx, "C-OPEN"); err != nil {
		t.Fatalf("closing twice: %v", err)
	}
	if err := f.Pay("C-OPEN", true); err == nil {
		t.Fatal("a closed order was paid at the cashier")
	}
	if err := f.Pay("C-PAID", true); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx, "C-PAID"); !errors.Is(err, models.ErrOrderPaidAtChannel) {
		t.Fatalf("closing a paid order: err = %v", err)
	}
}

func TestRefundIsIdempotentByOutRefundNo(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	ctx := context.Background()
	prepay(t, p, "R-1", 40000)
	if err := f.Pay("R-1", true); err != nil {
		t.Fatal(err)
	}
	req := models.RefundRequest{OrderNo: "R-1", OutRefundNo: "RF-1", Refund: 15000, Total: 40000, Reason: "多缴退费"}

	first, err := p.Refund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.State != models.RefundSuccess || first.Amount != 15000 || first.OutRefundNo != "RF-1" || first.SucceededAt.IsZero() {
		t.Fatalf("first = %+v", first)
	}
	again, err := p.Refund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("retry = %+v, first %+v", again, first)
	}
	if n := f.RefundCount("R-1"); n != 1 {
		t.Fatalf("fake holds %d refunds after a retry", n)
	}
	if o, _ := f.Order("R-1"); o.Refunded != 15000 {
		t.Fatalf("refunded %d", o.Refunded)
	}
	q, err := p.QueryRefund(ctx, "R-1", "RF-1")
	if err != nil || q != first {
		t.Fatalf("QueryRefund = %+v, %v", q, err)
	}

	t.Run("refunding more than is left is refused", func(t *testing.T) {
		_, err := p.Refund(ctx, models.RefundRequest{OrderNo: "R-1", OutRefundNo: "RF-2", Refund: 30000, Total: 40000})
		if err == nil || errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an unknown refund is not found", func(t *testing.T) {
		if _, err := p.QueryRefund(ctx, "R-1", "RF-NONE"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRefundPendingUntilWeChatCompletesIt(t *testing.T) {
	f := startFake(t, wechatfake.Options{ManualRefunds: true})
	p := newPay(t, f, nil)
	ctx := context.Background()
	prepay(t, p, "RM-1", 500)
	if err := f.Pay("RM-1", true); err != nil {
		t.Fatal(err)
	}
	res, err := p.Refund(ctx, models.RefundRequest{OrderNo: "RM-1", OutRefundNo: "RFM-1", Refund: 500, Total: 500})
	if err != nil || res.State != models.RefundPending {
		t.Fatalf("Refund = %+v, %v", res, err)
	}
	if err := f.CompleteRefund("RFM-1", true); err != nil {
		t.Fatal(err)
	}
	if res, err := p.QueryRefund(ctx, "RM-1", "RFM-1"); err != nil || res.State != models.RefundSuccess || res.Amount != 500 || res.ToMerchant {
		t.Fatalf("QueryRefund = %+v, %v", res, err)
	}

	prepay(t, p, "RM-2", 500)
	if err := f.Pay("RM-2", true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refund(ctx, models.RefundRequest{OrderNo: "RM-2", OutRefundNo: "RFM-2", Refund: 500, Total: 500}); err != nil {
		t.Fatal(err)
	}
	if err := f.CompleteRefund("RFM-2", false); err != nil {
		t.Fatal(err)
	}
	// ABNORMAL is not failed: WeChat holds the money until it is released.
	if res, err := p.QueryRefund(ctx, "RM-2", "RFM-2"); err != nil || res.State != models.RefundAbnormal {
		t.Fatalf("abnormal refund: %+v, %v", res, err)
	}
	// Released back to the merchant's account: the refund then succeeds
	// there, and says so (user_received_account 商户基本账户), so it is not
	// read as the payer paid.
	if err := p.ReturnAbnormalRefund(ctx, "RM-2", "RFM-2"); err != nil {
		t.Fatal(err)
	}
	if rf, _ := f.Refund("RFM-2"); !rf.ToMerchant || rf.Status != "SUCCESS" {
		t.Fatalf("released refund %+v", rf)
	}
	if res, err := p.QueryRefund(ctx, "RM-2", "RFM-2"); err != nil || res.State != models.RefundSuccess || !res.ToMerchant {
		t.Fatalf("released refund by query: %+v, %v", res, err)
	}
	// Asking again (the first answer was lost) is done, not refused: a
	// refusal left the payout returning for good.
	if err := p.ReturnAbnormalRefund(ctx, "RM-2", "RFM-2"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if err := p.ReturnAbnormalRefund(ctx, "RM-1", "RFM-1"); !errors.Is(err, models.ErrRefundState) {
		t.Fatalf("release of a successful refund: %v", err)
	}
}

func TestCertificateModeAndMigration(t *testing.T) {
	keys, err := wechatfake.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	certFake := startFake(t, wechatfake.Options{Keys: keys, CertificateMode: true})
	pubFake := startFake(t, wechatfake.Options{Keys: keys})
	ctx := context.Background()

	certCfg := certFake.ClientConfig(testNotifyURL)
	if certCfg.PubKey != nil || len(certCfg.PlatformCerts) != 1 {
		t.Fatalf("certificate-mode config = %v", certCfg)
	}
	both := pubFake.ClientConfig(testNotifyURL)
	both.PlatformCerts = certCfg.PlatformCerts

	for i, tc := range []struct {
		name string
		f    *wechatfake.Server
		cfg  wechat.Config
	}{
		{"certificate mode talks to a certificate-mode WeChat Pay", certFake, certCfg},
		{"a migrating config talks to a certificate-mode WeChat Pay", certFake, withBase(both, certFake.URL())},
		{"a migrating config talks to a public-key-mode WeChat Pay", pubFake, both},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := wechat.NewPay(ctx, tc.cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			no := fmt.Sprintf("CERT-%d", i)
			prepay(t, p, no, 1234)
			if err := tc.f.Pay(no, true); err != nil {
				t.Fatal(err)
			}
			tr, err := p.Query(ctx, no)
			if err != nil || tr.State != models.TradePaid || tr.Amount != 1234 {
				t.Fatalf("Query = %+v, %v", tr, err)
			}
			h, body, err := tc.f.Notification(no)
			if err != nil {
				t.Fatal(err)
			}
			n, err := p.ParseNotification(ctx, notifyRequest(h, body))
			if err != nil || n.OrderNo != no || !n.Paid {
				t.Fatalf("ParseNotification = %+v, %v", n, err)
			}
		})
	}
}

func withBase(cfg wechat.Config, base string) wechat.Config {
	cfg.APIBase, cfg.PayAPIBase = base, base
	return cfg
}

func notifyRequest(h http.Header, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/notify/wechatpay", bytes.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}
