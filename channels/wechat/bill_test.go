package wechat_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
)

func TestDownloadBillParsesYuanToFenExactly(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	ctx := context.Background()
	// Amounts whose yuan strings break float conversion: 0.10, 1234.56,
	// 19.90 (float64 19.90*100 truncates to 1989).
	amounts := map[string]models.Fen{"B-010": 10, "B-123456": 123456, "B-1990": 1990, "B-001": 1}
	for no, a := range amounts {
		prepay(t, p, no, a)
		if err := f.Pay(no, true); err != nil {
			t.Fatal(err)
		}
	}
	prepay(t, p, "B-UNPAID", 500)
	if _, err := p.Refund(ctx, models.RefundRequest{OrderNo: "B-123456", OutRefundNo: "BR-1", Refund: 10, Total: 123456}); err != nil {
		t.Fatal(err)
	}

	// The bill of the day the payments were made (a Beijing date), even if
	// the test runs across midnight.
	first, _ := f.Order("B-001")
	day := first.PaidAt.In(models.Beijing)
	lines, err := p.DownloadBill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	paid := map[string]models.BillLine{}
	var refunds []models.BillLine
	for _, l := range lines {
		if l.RefundAmount > 0 {
			refunds = append(refunds, l)
			continue
		}
		paid[l.OrderNo] = l
	}
	if len(paid) != len(amounts) {
		t.Fatalf("payment lines %v", lines)
	}
	for no, a := range amounts {
		l := paid[no]
		o, _ := f.Order(no)
		if l.State != models.TradePaid || l.Amount != a || l.TransactionID != o.TransactionID || !l.At.Equal(o.PaidAt.Truncate(time.Second)) {
			t.Fatalf("line %+v, want %d fen for %+v", l, a, o)
		}
	}
	if len(refunds) != 1 || refunds[0].OrderNo != "B-123456" || refunds[0].RefundAmount != 10 || refunds[0].Amount != 0 {
		t.Fatalf("refund lines %+v", refunds)
	}

	t.Run("a day without trades is an empty bill", func(t *testing.T) {
		lines, err := p.DownloadBill(ctx, day.AddDate(0, 0, -3))
		if err != nil || len(lines) != 0 {
			t.Fatalf("lines %v, %v", lines, err)
		}
	})
	t.Run("a file that does not match hash_value is refused", func(t *testing.T) {
		target, _ := url.Parse(f.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(r *http.Response) error {
			if r.Request.URL.Path == "/v3/billdownload/file" {
				r.Body = appendReader(r.Body, "`tampered\r\n")
				r.ContentLength, r.Header["Content-Length"] = -1, nil
			}
			return nil
		}
		srv := httptest.NewServer(proxy)
		defer srv.Close()
		cfg := f.ClientConfig(testNotifyURL)
		cfg.PayAPIBase = srv.URL
		p2, err := wechat.NewPay(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2.DownloadBill(ctx, day); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
}

// appendReader is body followed by extra, closing body.
func appendReader(body io.ReadCloser, extra string) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(body, strings.NewReader(extra)), body}
}
