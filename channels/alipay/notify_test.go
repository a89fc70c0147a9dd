package alipay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
)

// post builds the request Alipay sends to the notify route.
func post(v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/notify/alipay", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

func paidOrder(t *testing.T, e *env, orderNo string, amount models.Fen) string {
	t.Helper()
	tradeNo := e.prepay(t, orderNo, amount, buyer)
	e.clock.Advance(time.Minute)
	e.pay(t, orderNo)
	return tradeNo
}

func TestAValidPaymentNotificationIsParsed(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	tradeNo := paidOrder(t, e, "LB202603020101", 38000)
	v := e.fake.Notification("LB202603020101")

	n, err := e.client.ParseNotification(context.Background(), post(v))
	if err != nil {
		t.Fatal(err)
	}
	want := models.Notification{Channel: "alipay", ID: v.Get("notify_id"), Kind: models.NotifyPayment,
		OrderNo: "LB202603020101", TransactionID: tradeNo, Amount: 38000, Paid: true, At: start.Add(time.Minute)}
	if n != want {
		t.Fatalf("got  %+v\nwant %+v", n, want)
	}
}

func TestHostileNotificationsAreRefused(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	paidOrder(t, e, "LB202603020102", 38000)
	valid := e.fake.Notification("LB202603020102")

	tests := []struct {
		name string
		v    url.Values
		want error
	}{
		{"amount changed after signing", alipayfake.Tamper(valid, "total_amount", "0.01"), models.ErrNotificationInvalid},
		{"order number changed after signing", alipayfake.Tamper(valid, "out_trade_no", "LB-other"), models.ErrNotificationInvalid},
		{"unsigned", alipayfake.Unsigned(valid), models.ErrNotificationInvalid},
		{"signed by someone else", e.otherSigner(t, valid), models.ErrNotificationInvalid},
		{"another application, validly signed", e.fake.NotificationWith("LB202603020102", map[string]string{"app_id": "2021009999999999"}), models.ErrNotificationMismatch},
		{"another seller, validly signed", e.fake.NotificationWith("LB202603020102", map[string]string{"seller_id": "2088009999999999"}), models.ErrNotificationMismatch},
		{"no seller, validly signed", e.fake.NotificationWith("LB202603020102", map[string]string{"seller_id": ""}), models.ErrNotificationMismatch},
		{"certificate serial probe", e.fake.NotificationWith("LB202603020102", map[string]string{"alipay_cert_sn": "deadbeef"}), models.ErrNotificationInvalid},
		{"grouped amount, validly signed", e.fake.NotificationWith("LB202603020102", map[string]string{"total_amount": "1,000.00"}), models.ErrNotificationInvalid},
		{"GBK charset, validly signed", e.fake.NotificationWith("LB202603020102", map[string]string{"charset": "GBK"}), models.ErrNotificationInvalid},
		{"waiting status, validly signed", e.fake.NotificationWith("LB202603020102", map[string]string{"trade_status": "WAIT_BUYER_PAY"}), models.ErrNotificationInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ParseNotification(context.Background(), post(tt.v))
			wantIs(t, err, tt.want)
		})
	}
	if n := e.fake.Calls("alipay.open.app.alipaycert.download"); n != 0 {
		t.Fatalf("a posted alipay_cert_sn made the client download a certificate %d times", n)
	}
}

// otherSigner signs v with a fake gateway of its own keys: a signature that
// is well-formed but not Alipay's.
func (e *env) otherSigner(t *testing.T, v url.Values) url.Values {
	t.Helper()
	app, ali := testKeys()
	other := alipayfake.New(alipayfake.Options{AppKey: ali, AlipayKey: app}) // keys swapped: not our Alipay key
	t.Cleanup(other.Close)
	return other.Sign(v)
}

func TestAWrongAmountValidlySignedParsesSoTheWorkflowCanFlagIt(t *testing.T) {
	// Amount checks belong to the settlement workflow, which knows the
	// order; the channel must pass the signed amount on unchanged.
	e := newEnv(t, alipayfake.Options{}, "")
	paidOrder(t, e, "LB202603020103", 38000)
	v := e.fake.NotificationWith("LB202603020103", map[string]string{"total_amount": "0.01"})
	n, err := e.client.ParseNotification(context.Background(), post(v))
	if err != nil || n.Amount != 1 {
		t.Fatalf("%+v, %v", n, err)
	}
}

func TestFormFieldsInTheURLAreNotTrusted(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	paidOrder(t, e, "LB202603020104", 38000)
	v := e.fake.Notification("LB202603020104")
	r := httptest.NewRequest(http.MethodPost, "/api/v1/notify/alipay?"+v.Encode(), strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err := e.client.ParseNotification(context.Background(), r)
	wantIs(t, err, models.ErrNotificationInvalid)
}

func TestAClosedTradeNotificationIsAnUnpaidPayment(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	e.prepay(t, "LB202603020105", 100, buyer)
	if err := e.fake.Pay("LB202603020105", false); err != nil {
		t.Fatal(err)
	}
	n, err := e.client.ParseNotification(context.Background(), post(e.fake.Notification("LB202603020105")))
	if err != nil || n.Kind != models.NotifyPayment || n.Paid {
		t.Fatalf("%+v, %v", n, err)
	}
}

func TestARefundNotificationNamesTheRefund(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	paidOrder(t, e, "LB202603020106", 38000)
	e.clock.Advance(time.Hour)
	if _, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB202603020106", OutRefundNo: "RF9", Refund: 38000}); err != nil {
		t.Fatal(err)
	}
	v := e.fake.RefundNotification("LB202603020106", "RF9")
	n, err := e.client.ParseNotification(context.Background(), post(v))
	want := models.Notification{Channel: "alipay", ID: v.Get("notify_id"), Kind: models.NotifyRefund, OrderNo: "LB202603020106",
		OutRefundNo: "RF9", TransactionID: v.Get("trade_no"), Amount: 38000, RefundState: models.RefundSuccess,
		At: start.Add(time.Hour + time.Minute), AmountIsTotal: true}
	if err != nil || n != want {
		t.Fatalf("got  %+v, %v\nwant %+v", n, err, want)
	}
}

func TestAcknowledgeAnswersExactlyWhatAlipayExpects(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	ok := httptest.NewRecorder()
	e.client.Acknowledge(ok, true)
	if ok.Code != http.StatusOK || ok.Body.String() != "success" {
		t.Fatalf("ok: %d %q", ok.Code, ok.Body.String())
	}
	retry := httptest.NewRecorder()
	e.client.Acknowledge(retry, false)
	if retry.Code != http.StatusInternalServerError || retry.Body.String() != "fail" {
		t.Fatalf("retry: %d %q", retry.Code, retry.Body.String())
	}
}

func TestPayDeliversANotificationThatIsAcceptedAndRetriesUntilSuccess(t *testing.T) {
	target := newNotifyTarget(t, 2) // the first two answers are "fail"
	e := newEnv(t, alipayfake.Options{}, target.srv.URL+"/api/v1/notify/alipay")
	target.bind(e.client)

	tradeNo := e.prepay(t, "LB202603020107", 38000, buyer)
	e.pay(t, "LB202603020107")
	e.fake.Drain()

	hits, got, errs := target.snapshot()
	if hits != 3 || len(errs) != 0 || len(got) != 1 {
		t.Fatalf("%d deliveries, %d accepted, errors %v; want 3 deliveries, the third accepted", hits, len(got), errs)
	}
	if n := got[0]; n.OrderNo != "LB202603020107" || !n.Paid || n.Amount != 38000 || n.TransactionID != tradeNo {
		t.Fatalf("accepted %+v", n)
	}
	ds := e.fake.Deliveries()
	if len(ds) != 3 || !ds[2].Accepted || ds[0].Accepted || ds[0].NotifyID != ds[2].NotifyID {
		t.Fatalf("deliveries %+v", ds)
	}

	// After "success" nothing more arrives, even after the schedule.
	time.Sleep(50 * time.Millisecond)
	if hits, _, _ := target.snapshot(); hits != 3 {
		t.Fatalf("%d deliveries after success", hits)
	}
}

func TestPayGivesUpAfterTheRetrySchedule(t *testing.T) {
	target := newNotifyTarget(t, 100)
	e := newEnv(t, alipayfake.Options{NotifyRetry: []time.Duration{time.Millisecond, time.Millisecond}}, target.srv.URL)
	target.bind(e.client)
	e.prepay(t, "LB202603020108", 100, buyer)
	e.pay(t, "LB202603020108")
	e.fake.Drain()
	if hits, _, _ := target.snapshot(); hits != 3 {
		t.Fatalf("%d deliveries, want 1 + 2 retries", hits)
	}
}

func TestARefundAtTheFakeDeliversARefundNotification(t *testing.T) {
	target := newNotifyTarget(t, 0)
	e := newEnv(t, alipayfake.Options{}, target.srv.URL)
	target.bind(e.client)
	e.prepay(t, "LB202603020109", 38000, buyer)
	e.pay(t, "LB202603020109")
	if _, err := e.client.Refund(context.Background(), models.RefundRequest{OrderNo: "LB202603020109", OutRefundNo: "RF7", Refund: 100}); err != nil {
		t.Fatal(err)
	}
	e.fake.Drain()
	_, got, errs := target.snapshot()
	// The payment's and the refund's notifications are delivered by
	// goroutines of their own, so either may arrive first (Alipay
	// promises no order either); the test used to expect the payment's
	// first and failed now and then.
	refunds := 0
	for _, n := range got {
		if n.Kind == models.NotifyRefund {
			refunds++
			if n.OutRefundNo != "RF7" || n.Amount != 100 {
				t.Fatalf("refund notification %+v", n)
			}
		}
	}
	if len(errs) != 0 || len(got) != 2 || refunds != 1 {
		t.Fatalf("got %+v, errors %v", got, errs)
	}
}

func TestDeliverSendsAHostileNotificationThroughARealRoute(t *testing.T) {
	target := newNotifyTarget(t, 0)
	e := newEnv(t, alipayfake.Options{}, target.srv.URL)
	target.bind(e.client)
	e.prepay(t, "LB202603020110", 100, buyer)
	status, body, err := e.fake.Deliver(context.Background(), target.srv.URL,
		alipayfake.Tamper(e.fake.Notification("LB202603020110"), "total_amount", "0.02"))
	if err != nil || status != http.StatusInternalServerError || body != "fail" {
		t.Fatalf("%d %q %v", status, body, err)
	}
}

func TestAClientForAnotherAppRefusesTheFakesNotifications(t *testing.T) {
	e := newEnv(t, alipayfake.Options{}, "")
	paidOrder(t, e, "LB202603020111", 100)
	cfg := e.cfg
	cfg.AppID = "2021000000000002"
	c, err := alipay.New(cfg, nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ParseNotification(context.Background(), post(e.fake.Notification("LB202603020111")))
	wantIs(t, err, models.ErrNotificationMismatch)
}
