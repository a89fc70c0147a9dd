package contrib_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// acked is whether a channel's provider takes the answer as delivered.
func acked(channel string, code int, body string) bool {
	if channel == models.ChannelWechat {
		return servicetest.WechatAcked(code)
	}
	return body == "success"
}

// wechatRetries: a 5xx with {"code":"FAIL"} makes WeChat Pay retry.
func wechatRetries(code int, body string) bool {
	var v struct{ Code string }
	return code >= 500 && json.Unmarshal([]byte(body), &v) == nil && v.Code == "FAIL"
}

// TestChannelNotificationsSettleOnlyWhenGenuineAndOnlyOnce runs the
// notification cases on one environment per database (each case has orders
// of its own; an environment costs more than the cases).
func TestChannelNotificationsSettleOnlyWhenGenuineAndOnlyOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		r.Lose.Store(true) // the fakes' own deliveries are lost; the cases deliver by hand
		for _, c := range []struct {
			name string
			run  func(*servicetest.Rig)
		}{
			{"hostile WeChat notifications settle nothing and get the right answer", hostileWechatNotificationsSettleNothingAndGetTheRightAnswer},
			{"hostile Alipay notifications settle nothing and get the right answer", hostileAlipayNotificationsSettleNothingAndGetTheRightAnswer},
			{"fifty simultaneous duplicates settle once and are all acknowledged", fiftySimultaneousDuplicatesSettleOnceAndAreAllAcknowledged},
			{"a notification racing the payer's queries settles once", aNotificationRacingThePayersQueriesSettlesOnce},
			{"an order closed here but paid at the channel is settled by its notification", anOrderClosedHereButPaidAtTheChannelIsSettledByItsNotification},
			// Last: it takes Redis away for good.
			{"notifications settle and payments show while Redis is down", notificationsSettleAndPaymentsShowWhileRedisIsDown},
		} {
			t.Run(c.name, func(t *testing.T) { c.run(r.With(t)) })
		}
	})
}

func hostileWechatNotificationsSettleNothingAndGetTheRightAnswer(r *servicetest.Rig) {
	t, db := r.T, r.DB
	wx := r.Wechat
	_, target := r.OpenOrder(models.ChannelWechat, false)
	_, wrongAmount := r.OpenOrder(models.ChannelWechat, false)
	orderNo := target.OrderNo

	must := func(h http.Header, b []byte, err error) (http.Header, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return h, b
	}
	type delivery struct {
		name string
		h    http.Header
		body []byte
	}
	var refused []delivery
	add := func(name string, h http.Header, b []byte) { refused = append(refused, delivery{name, h, b}) }
	h, b := must(wx.BuildNotification(orderNo, wechatfake.NotifyOptions{BadSignature: true}))
	add("a signature that does not verify", h, b)
	// The payer's money in the encrypted resource changed after
	// signing: the original signature over another body.
	validH, _ := must(wx.Notification(orderNo))
	_, cheaper := must(wx.AmountNotification(orderNo, 1))
	add("a body changed after signing", validH, cheaper)
	h, b = must(wx.StaleNotification(orderNo, 6*time.Minute))
	add("a notification signed six minutes ago", h, b)
	h, b = must(wx.BuildNotification(orderNo, wechatfake.NotifyOptions{Timestamp: time.Now().Add(6 * time.Minute)}))
	add("a notification signed six minutes ahead", h, b)
	h, b = must(wx.SignTestNotification(orderNo))
	add("a WECHATPAY/SIGNTEST/ probe", h, b)
	h, b = must(wx.Notification(orderNo))
	h.Del("Wechatpay-Signature")
	add("an unsigned notification", h, b)
	for _, c := range refused {
		code, body := r.PostWechat(c.h, c.body)
		if !wechatRetries(code, body) {
			t.Errorf("%s: answered %d %q, want 5xx {\"code\":\"FAIL\"}", c.name, code, body)
		}
		r.Unsettled(orderNo)
	}
	if n := servicetest.Count(t, db, "notifications", "order_no = ?", orderNo); n != 0 {
		t.Fatalf("refused notifications left %d notification rows", n)
	}

	// Signed by WeChat Pay but for another mini-program or merchant: a
	// retry cannot change that, so it is recorded and acknowledged.
	h, b = must(wx.ForeignNotification(orderNo, "wx99999999other0001", ""))
	if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
		t.Fatalf("another appid: answered %d %q, want 200/204", code, body)
	}
	h, b = must(wx.ForeignNotification(orderNo, "", "1999999999"))
	if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
		t.Fatalf("another mchid: answered %d %q, want 200/204", code, body)
	}
	r.Unsettled(orderNo)
	if n := r.Anomalies(models.ChannelWechat, "foreign_notification", orderNo); n != 2 {
		t.Fatalf("%d foreign_notification anomalies, want 2", n)
	}

	// Validly signed, ours, but for another amount.
	h, b = must(wx.AmountNotification(wrongAmount.OrderNo, wrongAmount.AmountFen+1))
	if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
		t.Fatalf("wrong amount: answered %d %q, want 200/204", code, body)
	}
	r.Unsettled(wrongAmount.OrderNo)
	if n := r.Anomalies(models.ChannelWechat, "amount_mismatch", wrongAmount.OrderNo); n != 1 {
		t.Fatalf("%d amount_mismatch anomalies, want 1", n)
	}
	if got := r.Outcome(models.ChannelWechat, wrongAmount.OrderNo); len(got) != 1 || got[0] != contrib.OutcomeAnomaly {
		t.Fatalf("wrong amount's notification recorded as %v, want [anomaly]", got)
	}

	// Validly signed for an order number we never issued.
	stranger := "LB" + time.Now().Format("20060102150405") + "9999999999"
	if _, err := r.Deps.Payments[models.ChannelWechat].Prepay(context.Background(), models.PrepayRequest{OrderNo: stranger,
		Amount: 4200, Description: "不是本系统的订单", Payer: models.ChannelIdentity{Channel: models.ChannelWechat, Subject: "o-stranger"}}); err != nil {
		t.Fatal(err)
	}
	h, b = must(wx.Notification(stranger))
	if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
		t.Fatalf("unknown order: answered %d %q, want 200/204", code, body)
	}
	if n := r.Anomalies(models.ChannelWechat, "unknown_order", stranger); n != 1 {
		t.Fatalf("%d unknown_order anomalies, want 1", n)
	}
	if got := r.Outcome(models.ChannelWechat, stranger); len(got) != 1 || got[0] != contrib.OutcomeAnomaly {
		t.Fatalf("unknown order's notification recorded as %v, want [anomaly]", got)
	}

	// None of that stopped the genuine notification, and its replays
	// (as delivered, and re-signed as WeChat does for each retry)
	// change nothing.
	h, b = must(wx.Notification(orderNo))
	if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
		t.Fatalf("valid notification: answered %d %q", code, body)
	}
	r.SettledOnce(orderNo)
	h2, b2 := must(wx.Notification(orderNo))
	for _, replay := range []struct {
		h http.Header
		b []byte
	}{{h, b}, {h2, b2}} {
		if code, body := r.PostWechat(replay.h, replay.b); !servicetest.WechatAcked(code) {
			t.Fatalf("replay: answered %d %q, want 200/204", code, body)
		}
	}
	r.SettledOnce(orderNo)
	if got := r.Outcome(models.ChannelWechat, orderNo); len(got) != 1 || got[0] != contrib.OutcomeSettled {
		t.Fatalf("notification rows %v, want one settled", got)
	}
}

func hostileAlipayNotificationsSettleNothingAndGetTheRightAnswer(r *servicetest.Rig) {
	t, db := r.T, r.DB
	ali := r.Alipay
	_, target := r.OpenOrder(models.ChannelAlipay, false)
	_, wrongAmount := r.OpenOrder(models.ChannelAlipay, false)
	orderNo := target.OrderNo
	valid := ali.Notification(orderNo)
	other := ali.Notification(wrongAmount.OrderNo)

	for _, c := range []struct {
		name string
		v    url.Values
	}{
		{"an unsigned notification", alipayfake.Unsigned(valid)},
		{"another notification's signature", alipayfake.Tamper(valid, "sign", other.Get("sign"))},
		{"an amount changed after signing", alipayfake.Tamper(valid, "total_amount", "0.01")},
		{"an order number changed after signing", alipayfake.Tamper(valid, "out_trade_no", wrongAmount.OrderNo)},
	} {
		code, body := r.PostAlipay(c.v)
		if body == "success" {
			t.Errorf("%s: answered %d %q; anything but \"success\" was due", c.name, code, body)
		}
		r.Unsettled(orderNo)
		r.Unsettled(wrongAmount.OrderNo)
	}
	if n := servicetest.Count(t, db, "notifications", "order_no IN ?", []string{orderNo, wrongAmount.OrderNo}); n != 0 {
		t.Fatalf("refused notifications left %d notification rows", n)
	}

	// Signed by Alipay but for another application or seller: recorded
	// and acknowledged, since a retry cannot change it.
	foreignBefore := servicetest.Count(t, db, "anomalies", "channel = ? AND kind = ?", models.ChannelAlipay, "foreign_notification")
	for _, f := range []map[string]string{{"app_id": "2021009999999999", "auth_app_id": "2021009999999999"}, {"seller_id": "2088009999999999"}} {
		if code, body := r.PostAlipay(ali.NotificationWith(orderNo, f)); body != "success" {
			t.Fatalf("foreign %v: answered %d %q, want success", f, code, body)
		}
	}
	r.Unsettled(orderNo)
	// (The Alipay channel reports a foreign notification without its
	// order number, so these are counted by channel.)
	if n := servicetest.Count(t, db, "anomalies", "channel = ? AND kind = ?", models.ChannelAlipay, "foreign_notification") - foreignBefore; n != 2 {
		t.Fatalf("%d foreign_notification anomalies, want 2", n)
	}

	// Validly signed for another amount, and for an order we never
	// issued (a notify_id of its own, as Alipay's would be).
	if code, body := r.PostAlipay(ali.NotificationWith(wrongAmount.OrderNo, map[string]string{"total_amount": (wrongAmount.AmountFen - 1).Yuan()})); body != "success" {
		t.Fatalf("wrong amount: answered %d %q, want success", code, body)
	}
	r.Unsettled(wrongAmount.OrderNo)
	if n := r.Anomalies(models.ChannelAlipay, "amount_mismatch", wrongAmount.OrderNo); n != 1 {
		t.Fatalf("%d amount_mismatch anomalies, want 1", n)
	}
	if got := r.Outcome(models.ChannelAlipay, wrongAmount.OrderNo); len(got) != 1 || got[0] != contrib.OutcomeAnomaly {
		t.Fatalf("wrong amount's notification recorded as %v, want [anomaly]", got)
	}
	stranger := "LB20990101000000" + "1234567890"
	if code, body := r.PostAlipay(ali.NotificationWith(orderNo, map[string]string{"out_trade_no": stranger, "notify_id": "2099010100222stranger"})); body != "success" {
		t.Fatalf("unknown order: answered %d %q, want success", code, body)
	}
	if n := r.Anomalies(models.ChannelAlipay, "unknown_order", stranger); n != 1 {
		t.Fatalf("%d unknown_order anomalies, want 1", n)
	}
	if got := r.Outcome(models.ChannelAlipay, stranger); len(got) != 1 || got[0] != contrib.OutcomeAnomaly {
		t.Fatalf("unknown order's notification recorded as %v, want [anomaly]", got)
	}
	r.Unsettled(orderNo)

	// The genuine notification still settles, once; replays change
	// nothing and are acknowledged so Alipay stops.
	for i := 0; i < 3; i++ {
		if code, body := r.PostAlipay(valid); body != "success" {
			t.Fatalf("delivery %d of the valid notification: answered %d %q", i+1, code, body)
		}
		r.SettledOnce(orderNo)
	}
	if got := r.Outcome(models.ChannelAlipay, orderNo); len(got) != 1 || got[0] != contrib.OutcomeSettled {
		t.Fatalf("notification rows %v, want one settled", got)
	}
}

func fiftySimultaneousDuplicatesSettleOnceAndAreAllAcknowledged(r *servicetest.Rig) {
	t, db := r.T, r.DB
	_, wp := r.OpenOrder(models.ChannelWechat, false)
	_, ap := r.OpenOrder(models.ChannelAlipay, false)
	if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	h, b, err := r.Wechat.Notification(wp.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	v := r.Alipay.Notification(ap.OrderNo)
	answers := make([]string, 100)
	servicetest.Parallel(100, func(i int) error {
		if i%2 == 0 {
			code, body := r.PostWechat(h, b)
			if !servicetest.WechatAcked(code) {
				answers[i] = fmt.Sprintf("wechat %d %s", code, body)
			}
			return nil
		}
		if code, body := r.PostAlipay(v); body != "success" {
			answers[i] = fmt.Sprintf("alipay %d %s", code, body)
		}
		return nil
	})
	for _, a := range answers {
		if a != "" {
			t.Fatalf("a duplicate was not acknowledged: %s", a)
		}
	}
	for _, o := range []contrib.Payment{wp, ap} {
		r.SettledOnce(o.OrderNo)
		if n := servicetest.Count(t, db, "notifications", "order_no = ?", o.OrderNo); n != 1 {
			t.Fatalf("%d notification rows for %s", n, o.OrderNo)
		}
	}
}

func aNotificationRacingThePayersQueriesSettlesOnce(r *servicetest.Rig) {
	t := r.T
	ctx := context.Background()
	for _, channel := range []string{models.ChannelWechat, models.ChannelAlipay} {
		sess, p := r.OpenOrder(channel, false)
		// The payer has paid; the notification is on its way.
		var post func() (int, string)
		if channel == models.ChannelWechat {
			if err := r.Wechat.Pay(p.OrderNo, true); err != nil {
				t.Fatal(err)
			}
			h, b, err := r.Wechat.Notification(p.OrderNo)
			if err != nil {
				t.Fatal(err)
			}
			post = func() (int, string) { return r.PostWechat(h, b) }
		} else {
			if err := r.Alipay.Pay(p.OrderNo, true); err != nil {
				t.Fatal(err)
			}
			v := r.Alipay.Notification(p.OrderNo)
			post = func() (int, string) { return r.PostAlipay(v) }
		}
		// The payer comes back from the cashier and polls while the
		// notification arrives; every poll may reach the channel.
		var failure string
		errs := servicetest.Parallel(9, func(i int) error {
			if i == 0 {
				if code, body := post(); !acked(channel, code, body) {
					failure = fmt.Sprintf("answered %d %q", code, body)
				}
				return nil
			}
			_ = r.Redis.Client.Del(ctx, "lb:order:{"+p.OrderNo+"}:q")
			got, err := r.Svc.GetPayment(ctx, sess.UserID, p.OrderNo)
			if err == nil && got.Status != contrib.OrderPaying && got.Status != contrib.OrderPaid {
				return fmt.Errorf("a poll saw %s", got.Status)
			}
			return err
		})
		if failure != "" {
			t.Fatalf("%s notification: %s", channel, failure)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatalf("%s poll: %v", channel, err)
			}
		}
		got, err := r.Svc.GetPayment(ctx, sess.UserID, p.OrderNo)
		if err != nil || got.Status != contrib.OrderPaid {
			t.Fatalf("%s order after the race: %+v %v", channel, got, err)
		}
		r.SettledOnce(p.OrderNo)
	}
}
