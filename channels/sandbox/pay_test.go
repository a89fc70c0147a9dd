package sandbox

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

func TestSandboxNotificationsAreVerifiedOnTheRawBody(t *testing.T) {
	clock := models.NewManualClock(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	p := NewPay("http://x/sandbox/pay/", "http://x/notify", clock, nil)
	n := map[string]any{"id": "N1", "order_no": "LB1", "transaction_id": "T1", "amount_fen": 98140, "success": true}
	cases := []struct {
		name   string
		mutate func(h map[string]string, body []byte) []byte
		wantOK bool
	}{
		{"a genuine notification is accepted", func(map[string]string, []byte) []byte { return nil }, true},
		{"a changed amount is refused", func(_ map[string]string, b []byte) []byte { return bytes.Replace(b, []byte("98140"), []byte("1"), 1) }, false},
		{"a forged signature is refused", func(h map[string]string, _ []byte) []byte { h["Lianban-Sandbox-Signature"] = "00"; return nil }, false},
		{"a six-minute-old notification is refused", func(h map[string]string, _ []byte) []byte { clock.Advance(6 * time.Minute); return nil }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
			header, body := p.Notification(n)
			h := map[string]string{}
			if b := tc.mutate(h, body); b != nil {
				body = b
			}
			r := httptest.NewRequest("POST", "/notify", bytes.NewReader(body))
			r.Header = header.Clone()
			for k, v := range h {
				r.Header.Set(k, v)
			}
			got, err := p.ParseNotification(context.Background(), r)
			if tc.wantOK {
				if err != nil || got.OrderNo != "LB1" || got.Amount != 98140 || !got.Paid {
					t.Fatalf("got %+v %v", got, err)
				}
				return
			}
			if !errors.Is(err, models.ErrNotificationInvalid) {
				t.Fatalf("want ErrNotificationInvalid, got %v", err)
			}
		})
	}
}

func TestASandboxRefundIsPaidOncePerRefundNumberAndNeverBeyondTheOrder(t *testing.T) {
	ctx := context.Background()
	p := NewPay("http://x/", "http://127.0.0.1:1/notify", models.SystemClock{}, nil)
	if _, err := p.Prepay(ctx, models.PrepayRequest{OrderNo: "LB1", Amount: 1000}); err != nil {
		t.Fatal(err)
	}
	_ = p.Pay(ctx, "LB1", true) // delivery fails (nobody listens); the trade is paid
	for i := 0; i < 3; i++ {
		if r, err := p.Refund(ctx, models.RefundRequest{OrderNo: "LB1", OutRefundNo: "R1", Refund: 600, Total: 1000}); err != nil || r.State != models.RefundSuccess {
			t.Fatalf("refund R1 attempt %d: %+v %v", i, r, err)
		}
	}
	if _, err := p.Refund(ctx, models.RefundRequest{OrderNo: "LB1", OutRefundNo: "R2", Refund: 600, Total: 1000}); err == nil {
		t.Fatal("a second refund beyond the order's amount was accepted")
	}
}
