package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

// start is 10:00 Beijing on a working day.
var start = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

// testKeys are the fake's two key pairs, generated once: RSA-2048 key
// generation under the race detector costs about a quarter second each.
var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	app, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ali, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return app, ali
})

type env struct {
	fake   *alipayfake.Server
	client *alipay.Client
	clock  *models.ManualClock
	cfg    alipay.Config
}

// newEnv starts a fake gateway and a client configured for it. Notifications
// go to notifyURL (none when empty) and are retried every 10 ms, 3 times.
func newEnv(t *testing.T, opts alipayfake.Options, notifyURL string) *env {
	t.Helper()
	clock := models.NewManualClock(start)
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.NotifyRetry == nil {
		opts.NotifyRetry = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	}
	if opts.AppKey == nil {
		opts.AppKey, opts.AlipayKey = testKeys()
	}
	fake := alipayfake.New(opts)
	t.Cleanup(fake.Close)
	if notifyURL == "" {
		notifyURL = "http://127.0.0.1:9/notify" // discard port: deliveries fail fast
	}
	cfg := fake.ClientConfig(notifyURL)
	c, err := alipay.New(cfg, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	return &env{fake: fake, client: c, clock: clock, cfg: cfg}
}

// prepay opens a mini-program order for buyer.
func (e *env) prepay(t *testing.T, orderNo string, amount models.Fen, buyer string) string {
	t.Helper()
	p, err := e.client.Prepay(context.Background(), models.PrepayRequest{
		OrderNo: orderNo, Amount: amount, Description: "灵活就业人员养老保险 2026年3月",
		Payer:     models.ChannelIdentity{Channel: models.ChannelAlipay, Subject: buyer},
		ExpiresAt: e.clock.Now().Add(30 * time.Minute),
	})
	if err != nil {
		t.Fatalf("Prepay(%s): %v", orderNo, err)
	}
	return p["trade_no"]
}

func (e *env) pay(t *testing.T, orderNo string) {
	t.Helper()
	if err := e.fake.Pay(orderNo, true); err != nil {
		t.Fatal(err)
	}
}

// notifyTarget is lianban's notify route in miniature: parse, then
// acknowledge; the first failFirst deliveries are answered "fail".
type notifyTarget struct {
	srv       *httptest.Server
	mu        sync.Mutex
	failFirst int
	hits      int
	got       []models.Notification
	errs      []error
}

func newNotifyTarget(t *testing.T, failFirst int) *notifyTarget {
	nt := &notifyTarget{failFirst: failFirst}
	t.Cleanup(func() { nt.srv.Close() })
	nt.srv = httptest.NewUnstartedServer(nil)
	nt.srv.Start()
	return nt
}

// bind makes the target parse with c (the client needs the target's URL
// first, so the handler is set afterwards).
func (nt *notifyTarget) bind(c *alipay.Client) {
	nt.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.ParseNotification(r.Context(), r)
		nt.mu.Lock()
		nt.hits++
		fail := nt.hits <= nt.failFirst
		if err != nil {
			nt.errs = append(nt.errs, err)
		} else if !fail {
			nt.got = append(nt.got, n)
		}
		nt.mu.Unlock()
		c.Acknowledge(w, err == nil && !fail)
	})
}

func (nt *notifyTarget) snapshot() (hits int, got []models.Notification, errs []error) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return nt.hits, append([]models.Notification(nil), nt.got...), append([]error(nil), nt.errs...)
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}
