package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
)

func TestParseNotification(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	clock := models.NewManualClock(time.Now())
	p := newPay(t, f, clock)
	ctx := context.Background()
	prepay(t, p, "N-1", 40000)
	if err := f.Pay("N-1", true); err != nil {
		t.Fatal(err)
	}
	order, _ := f.Order("N-1")

	t.Run("a valid notification is accepted and mapped", func(t *testing.T) {
		h, body, err := f.Notification("N-1")
		if err != nil {
			t.Fatal(err)
		}
		r := notifyRequest(h, body)
		n, err := p.ParseNotification(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if n.Channel != "wechat" || n.ID == "" || n.Kind != models.NotifyPayment || n.OrderNo != "N-1" ||
			n.TransactionID != order.TransactionID || n.Amount != 40000 || !n.Paid || !n.At.Equal(order.PaidAt.Truncate(time.Second)) {
			t.Fatalf("notification = %+v, order %+v", n, order)
		}
		if rest, _ := io.ReadAll(r.Body); !bytes.Equal(rest, body) {
			t.Fatal("r.Body is not left readable with the same bytes")
		}
		h2, body2, _ := f.Notification("N-1")
		n2, err := p.ParseNotification(ctx, notifyRequest(h2, body2))
		if err != nil || n2.ID != n.ID {
			t.Fatalf("a resent notification has id %q, first %q (%v)", n2.ID, n.ID, err)
		}
	})
	t.Run("a notification with another amount is accepted; the amount check is the settlement's", func(t *testing.T) {
		h, body, err := f.AmountNotification("N-1", 1)
		if err != nil {
			t.Fatal(err)
		}
		n, err := p.ParseNotification(ctx, notifyRequest(h, body))
		if err != nil || n.Amount != 1 {
			t.Fatalf("notification = %+v, %v", n, err)
		}
	})

	valid := func() (http.Header, []byte) {
		h, body, err := f.Notification("N-1")
		if err != nil {
			t.Fatal(err)
		}
		return h, body
	}
	for _, tc := range []struct {
		name  string
		build func() (http.Header, []byte, error)
		clock time.Duration // how far to move our clock first
		want  error
	}{
		{"a tampered body is invalid", func() (http.Header, []byte, error) {
			h, body := valid()
			return h, bytes.Replace(body, []byte(`"TRANSACTION.SUCCESS"`), []byte(`"TRANSACTION.SUCCESS" `), 1), nil
		}, 0, models.ErrNotificationInvalid},
		{"a bad signature is invalid", func() (http.Header, []byte, error) {
			return f.BuildNotification("N-1", wechatfake.NotifyOptions{BadSignature: true})
		}, 0, models.ErrNotificationInvalid},
		{"a notification signed with another platform key is invalid", func() (http.Header, []byte, error) {
			other := startFake(t, wechatfake.Options{Keys: otherKeys(t, f)})
			other.AddUser("x", "y", "")
			cfg := other.ClientConfig(testNotifyURL)
			op, err := wechat.NewPay(ctx, cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			prepay(t, op, "N-1", 40000)
			return other.Notification("N-1")
		}, 0, models.ErrNotificationInvalid},
		{"a stale timestamp (6 minutes old) is invalid", func() (http.Header, []byte, error) {
			return f.StaleNotification("N-1", 6*time.Minute)
		}, 0, models.ErrNotificationInvalid},
		{"a fresh notification is invalid when our clock is 6 minutes ahead", func() (http.Header, []byte, error) {
			h, body := valid()
			return h, body, nil
		}, 6 * time.Minute, models.ErrNotificationInvalid},
		{"a WECHATPAY/SIGNTEST/ probe is invalid", func() (http.Header, []byte, error) {
			return f.SignTestNotification("N-1")
		}, 0, models.ErrNotificationInvalid},
		{"missing Wechatpay headers are invalid", func() (http.Header, []byte, error) {
			h, body := valid()
			h.Del("Wechatpay-Signature")
			return h, body, nil
		}, 0, models.ErrNotificationInvalid},
		{"a body that is not JSON is invalid", func() (http.Header, []byte, error) {
			h, _ := valid()
			return h, []byte("not json"), nil
		}, 0, models.ErrNotificationInvalid},
		{"another app id is a mismatch", func() (http.Header, []byte, error) {
			return f.ForeignNotification("N-1", "wx-someone-else", "")
		}, 0, models.ErrNotificationMismatch},
		{"another merchant id is a mismatch", func() (http.Header, []byte, error) {
			return f.ForeignNotification("N-1", "", "1999999999")
		}, 0, models.ErrNotificationMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, body, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			clock.Set(time.Now().Add(tc.clock))
			defer clock.Set(time.Now())
			n, err := p.ParseNotification(ctx, notifyRequest(h, body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if containsAny(err.Error(), h.Get("Wechatpay-Nonce"), h.Get("Wechatpay-Signature"), "ciphertext", "resource") {
				t.Fatalf("error text echoes the request: %v", err)
			}
			if tc.want == models.ErrNotificationMismatch && (n.OrderNo != "N-1" || n.Amount != 40000) {
				t.Fatalf("a mismatch should come back filled in for the anomaly record: %+v", n)
			}
		})
	}
}

// otherKeys makes keys that share nothing with f's except the APIv3 key,
// so only the signature tells the notifications apart.
func otherKeys(t *testing.T, f *wechatfake.Server) *wechatfake.Keys {
	t.Helper()
	k, err := wechatfake.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	k.APIv3Key, k.PubKeyID = f.Keys().APIv3Key, f.Keys().PubKeyID
	return k
}

func TestAcknowledge(t *testing.T) {
	f := startFake(t, wechatfake.Options{})
	p := newPay(t, f, nil)
	w := httptest.NewRecorder()
	p.Acknowledge(w, true)
	if w.Code != http.StatusNoContent {
		t.Fatalf("ok → %d", w.Code)
	}
	w = httptest.NewRecorder()
	p.Acknowledge(w, false)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"code":"FAIL"`) {
		t.Fatalf("!ok → %d %s", w.Code, w.Body)
	}
}

// notifyTarget is our notify endpoint as the server would run it: parse,
// then acknowledge. The first failFirst requests are answered 500 to make
// the fake retry.
type notifyTarget struct {
	p         *wechat.Pay
	failFirst int

	mu   sync.Mutex
	seen int
	got  []models.Notification
	errs []error
}

func (nt *notifyTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nt.mu.Lock()
	nt.seen++
	fail := nt.seen <= nt.failFirst
	nt.mu.Unlock()
	n, err := nt.p.ParseNotification(r.Context(), r)
	nt.mu.Lock()
	if err != nil {
		nt.errs = append(nt.errs, err)
	} else if !fail {
		nt.got = append(nt.got, n)
	}
	nt.mu.Unlock()
	nt.p.Acknowledge(w, err == nil && !fail)
}

func TestFakePayDeliversNotificationsThatParseNotificationAccepts(t *testing.T) {
	f := startFake(t, wechatfake.Options{NotifyRetry: []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond}})
	nt := &notifyTarget{failFirst: 1}
	srv := httptest.NewServer(nt)
	t.Cleanup(srv.Close)
	p, err := wechat.NewPay(context.Background(), f.ClientConfig(srv.URL+"/api/v1/notify/wechatpay"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nt.p = p
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	prepay(t, p, "D-1", 38000)
	if err := f.Pay("D-1", true); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	nt.mu.Lock()
	got, errs := append([]models.Notification(nil), nt.got...), append([]error(nil), nt.errs...)
	nt.mu.Unlock()
	if len(errs) != 0 || len(got) != 1 {
		t.Fatalf("notifications %+v, errors %v", got, errs)
	}
	if n := got[0]; n.Kind != models.NotifyPayment || n.OrderNo != "D-1" || n.Amount != 38000 || !n.Paid {
		t.Fatalf("notification = %+v", n)
	}
	ds := f.Deliveries()
	if len(ds) != 2 || ds[0].Status != http.StatusInternalServerError || ds[1].Status != http.StatusNoContent || ds[1].Attempt != 2 {
		t.Fatalf("deliveries = %+v", ds)
	}

	t.Run("a refund notifies too", func(t *testing.T) {
		if _, err := p.Refund(ctx, models.RefundRequest{OrderNo: "D-1", OutRefundNo: "DR-1", Refund: 38000, Total: 38000}); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
		nt.mu.Lock()
		defer nt.mu.Unlock()
		if len(nt.errs) != 0 || len(nt.got) != 2 {
			t.Fatalf("notifications %+v, errors %v", nt.got, nt.errs)
		}
		n := nt.got[1]
		if n.Kind != models.NotifyRefund || n.OrderNo != "D-1" || n.OutRefundNo != "DR-1" || n.Amount != 38000 ||
			n.RefundState != models.RefundSuccess || n.ID == "" || n.ID == nt.got[0].ID {
			t.Fatalf("refund notification = %+v", n)
		}
	})
	t.Run("delivery gives up after the schedule", func(t *testing.T) {
		dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer dead.Close()
		p2, err := wechat.NewPay(ctx, f.ClientConfig(dead.URL), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		prepay(t, p2, "D-2", 100)
		if err := f.Pay("D-2", true); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range f.Deliveries() {
			if d.Key == "D-2" {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("%d attempts, want the schedule's 3", n)
		}
	})
}
