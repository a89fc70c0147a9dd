package contrib_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

var _ models.Clock = (*servicetest.ShiftClock)(nil)

// fastRetry is a provider schedule compressed to a few seconds.
func fastRetry() []time.Duration {
	d := []time.Duration{0}
	for i := 0; i < 40; i++ {
		d = append(d, 150*time.Millisecond)
	}
	return d
}

func TestANotificationArrivingWhileTheDatabaseIsDownIsRefusedAndItsRetrySettlesOnceTheDatabaseIsBack(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: fastRetry()})
		_, wp := r.OpenOrder(models.ChannelWechat, false)
		_, ap := r.OpenOrder(models.ChannelAlipay, false)

		r.Down(true)
		// What the providers are told while the database is down: retry.
		h, b, err := r.Wechat.Notification(wp.OrderNo)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := r.PostWechat(h, b); !wechatRetries(code, body) {
			t.Fatalf("wechat notification during the outage answered %d %q, want 5xx FAIL", code, body)
		}
		if code, body := r.PostAlipay(r.Alipay.Notification(ap.OrderNo)); body == "success" {
			t.Fatalf("alipay notification during the outage answered %d %q", code, body)
		}
		// Even one that settles nothing is acknowledged only once recorded.
		fh, fb, err := r.Wechat.ForeignNotification(wp.OrderNo, "", "1999999999")
		if err != nil {
			t.Fatal(err)
		}
		if code, body := r.PostWechat(fh, fb); !wechatRetries(code, body) {
			t.Fatalf("foreign notification during the outage answered %d %q, want 5xx FAIL", code, body)
		}
		// The payers pay; the providers deliver, are refused, and retry.
		if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitFor(t, "refused deliveries", func() bool {
			return len(r.WechatAttempts(wp.OrderNo)) >= 2 && len(r.AlipayAttempts(ap.OrderNo)) >= 2
		})
		// Database back, notify endpoint briefly cut off: nothing of the
		// refused deliveries was kept. (Once each provider has been turned
		// away at the cut, no attempt from the outage is still in flight.)
		r.Lose.Store(true)
		servicetest.WaitFor(t, "deliveries turned away at the cut", func() bool {
			return r.LastAttempt(models.ChannelWechat, wp.OrderNo) == http.StatusBadGateway &&
				r.LastAttempt(models.ChannelAlipay, ap.OrderNo) == http.StatusBadGateway
		})
		r.Down(false)
		for _, o := range []string{wp.OrderNo, ap.OrderNo} {
			r.Unsettled(o)
			if n := servicetest.Count(t, db, "notifications", "order_no = ?", o); n != 0 {
				t.Fatalf("%d notification rows kept for %s from the outage", n, o)
			}
		}
		if code, body := r.PostWechat(fh, fb); !servicetest.WechatAcked(code) || r.Anomalies(models.ChannelWechat, "foreign_notification", wp.OrderNo) != 1 {
			t.Fatalf("foreign notification after the outage answered %d %q; want it recorded once and acknowledged", code, body)
		}
		r.Lose.Store(false)
		if err := r.Wechat.WaitDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
		r.Alipay.Drain()
		for _, o := range []string{wp.OrderNo, ap.OrderNo} {
			r.SettledOnce(o)
			if n := servicetest.Count(t, db, "notifications", "order_no = ?", o); n != 1 {
				t.Fatalf("%d notification rows for %s", n, o)
			}
		}
		// Every attempt before the last was refused; the last was
		// acknowledged, and so the provider stopped.
		wc := r.WechatAttempts(wp.OrderNo)
		for i, c := range wc {
			if last := i == len(wc)-1; last != servicetest.WechatAcked(c) {
				t.Fatalf("wechat delivery answers %v: only the last may be 200/204", wc)
			}
		}
		ac := r.AlipayAttempts(ap.OrderNo)
		for i, ok := range ac {
			if last := i == len(ac)-1; last != ok {
				t.Fatalf("alipay delivery answers %v: only the last may be success", ac)
			}
		}
	})
}

// notificationsSettleAndPaymentsShowWhileRedisIsDown closes the rig's
// Redis client for good: it must run last on its rig.
func notificationsSettleAndPaymentsShowWhileRedisIsDown(r *servicetest.Rig) {
	t, ctx := r.T, context.Background()
	ws, wp := r.OpenOrder(models.ChannelWechat, false)
	as, ap := r.OpenOrder(models.ChannelAlipay, false)
	// Redis goes away (every command now fails at once).
	if err := r.Redis.Client.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Redis.Client.Ping(ctx).Err(); err == nil {
		t.Fatal("redis still answers")
	}
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
	if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
		t.Fatalf("wechat notification without redis answered %d %q, want 200/204", code, body)
	}
	if code, body := r.PostAlipay(r.Alipay.Notification(ap.OrderNo)); body != "success" {
		t.Fatalf("alipay notification without redis answered %d %q, want success", code, body)
	}
	r.SettledOnce(wp.OrderNo)
	r.SettledOnce(ap.OrderNo)
	// The payer's polling falls back to the database.
	for _, c := range []struct {
		sess people.Session
		p    contrib.Payment
	}{{ws, wp}, {as, ap}} {
		got, err := r.Svc.GetPayment(ctx, c.sess.UserID, c.p.OrderNo)
		if err != nil || got.Status != contrib.OrderPaid {
			t.Fatalf("getPayment without redis: %+v %v", got, err)
		}
	}
}

func TestAChannelThatTimesOutOrFailsLeavesTheOrderPayingUntilItAnswers(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}, Timeout: time.Second})
		r.Lose.Store(true)
		ws, wp := r.OpenOrder(models.ChannelWechat, false)
		as, ap := r.OpenOrder(models.ChannelAlipay, false)
		poll := func(sess people.Session, orderNo, fault string) {
			t.Helper()
			_ = r.Redis.Client.Del(ctx, "lb:order:{"+orderNo+"}:q") // the poll reaches the channel
			got, err := r.Svc.GetPayment(ctx, sess.UserID, orderNo)
			if err != nil || got.Status != contrib.OrderPaying {
				t.Fatalf("getPayment with %s: %+v %v, want paying", fault, got.Status, err)
			}
		}
		hangQueries := func(call string) error {
			if call == "alipay.trade.query" || strings.HasPrefix(call, "/v3/pay/transactions/out-trade-no/") {
				return servicetest.ErrHang
			}
			return nil
		}

		// The payer polls while the channels misbehave.
		r.WxNet.Set(hangQueries)
		poll(ws, wp.OrderNo, "a wechat query that times out")
		r.WxNet.Clear()
		r.Wechat.FailNextPayCalls(1)
		poll(ws, wp.OrderNo, "a wechat query answered 500 SYSTEM_ERROR")
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Delay: 3 * time.Second})
		poll(as, ap.OrderNo, "an alipay query that times out")
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Status: http.StatusBadGateway, Body: "<html>502 Bad Gateway</html>"})
		poll(as, ap.OrderNo, "an alipay gateway answering 502")
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Code: "20000", SubCode: "isp.unknow-error", SubMsg: "系统繁忙"})
		poll(as, ap.OrderNo, "an alipay query answered isp.unknow-error")

		// Past expiry the worker would close them, but not on an unknown
		// answer: a payer may have paid.
		r.Clock.Advance(31 * time.Minute)
		r.WxNet.Set(hangQueries)
		r.AliNet.Set(hangQueries)
		r.Svc.WorkOnce(ctx)
		r.Clock.Advance(3 * time.Minute) // past the next query
		r.WxNet.Clear()
		r.AliNet.Clear()
		r.Wechat.FailNextPayCalls(1)
		r.Alipay.FailNext("alipay.trade.query", alipayfake.Fault{Code: "20000", SubCode: "isp.unknow-error", SubMsg: "系统繁忙"})
		r.Svc.WorkOnce(ctx)
		for _, p := range []contrib.Payment{wp, ap} {
			if st := r.Status(p.OrderNo); st != contrib.OrderPaying {
				t.Fatalf("order %s is %s after unanswered queries, want paying", p.OrderNo, st)
			}
			if st := r.DeclStatus(p.DeclarationID); st != "paying" {
				t.Fatalf("declaration of %s is %s, want paying", p.OrderNo, st)
			}
		}
		if o, _ := r.Wechat.Order(wp.OrderNo); o.State != "NOTPAY" {
			t.Fatalf("wechat order closed at the channel on an unknown answer: %s", o.State)
		}
		if tr, _ := r.Alipay.Trade(ap.OrderNo); tr.Status != "WAIT_BUYER_PAY" {
			t.Fatalf("alipay trade closed at the channel on an unknown answer: %s", tr.Status)
		}

		// Once the channels answer "not paid", the next pass closes both.
		r.Clock.Advance(6 * time.Minute)
		r.Svc.WorkOnce(ctx)
		for _, p := range []contrib.Payment{wp, ap} {
			if st := r.Status(p.OrderNo); st != contrib.OrderClosed {
				t.Fatalf("order %s is %s once the channel answered, want closed", p.OrderNo, st)
			}
		}
	})
}

func TestWithoutNotificationsTheWorkerFindsPaymentsByQueryAndClosesAbandonedOrders(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		r.Lose.Store(true) // no notification ever arrives
		_, wPaid := r.OpenOrder(models.ChannelWechat, false)
		_, aPaid := r.OpenOrder(models.ChannelAlipay, true)
		wSess, wLeft := r.OpenOrder(models.ChannelWechat, false)
		aSess, aLeft := r.OpenOrder(models.ChannelAlipay, false)
		// An order whose prepay never reached WeChat Pay.
		uSess, uDecl := r.Declare(models.ChannelWechat)
		r.Wechat.FailNextPayCalls(1)
		if _, _, err := r.Svc.CreatePayment(ctx, uSess, contrib.PayInput{DeclarationID: uDecl, Channel: models.ChannelWechat}); !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("createPayment with WeChat Pay failing: %v, want unavailable", err)
		}
		var unsent store.OrderRow
		if err := db.Gorm.Where("declaration_id = ?", uDecl).Take(&unsent).Error; err != nil || unsent.Status != contrib.OrderCreated {
			t.Fatalf("order of the failed prepay: %+v %v", unsent, err)
		}
		// An order the channel reports paid for another amount than ours
		// (here our amount is changed after the prepay).
		_, wOther := r.OpenOrder(models.ChannelWechat, false)
		if err := db.Gorm.Model(&store.OrderRow{}).Where("order_no = ?", wOther.OrderNo).Update("amount_fen", wOther.AmountFen+1).Error; err != nil {
			t.Fatal(err)
		}
		if err := r.Wechat.Pay(wOther.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		// The H5 trade exists at Alipay once the payer opens the URL.
		if err := r.Alipay.Pay(aPaid.OrderNo, true); err == nil {
			t.Fatal("an H5 order was payable before its URL was opened")
		}
		if resp, err := http.Get(aPaid.PayParams["url"]); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("opening the H5 cashier: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		if err := r.Wechat.Pay(wPaid.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if err := r.Alipay.Pay(aPaid.OrderNo, true); err != nil {
			t.Fatal(err)
		}

		queries := func() int { return r.Alipay.Calls("alipay.trade.query") }
		r.Svc.WorkOnce(ctx)
		if queries() != 0 || r.Status(wPaid.OrderNo) != contrib.OrderPaying {
			t.Fatalf("the worker queried within the first minute (%d alipay queries)", queries())
		}
		r.Clock.Advance(61 * time.Second)
		r.Svc.WorkOnce(ctx)
		r.SettledOnce(wPaid.OrderNo)
		r.SettledOnce(aPaid.OrderNo)
		if n := servicetest.Count(t, db, "notifications", "order_no IN ?", []string{wPaid.OrderNo, aPaid.OrderNo}); n != 0 {
			t.Fatalf("settled by query, yet %d notification rows", n)
		}
		// The unpaid ones are asked again on a back-off schedule: not at
		// 2 minutes, but by 3 (a minute, then two more).
		if queries() != 2 {
			t.Fatalf("%d alipay queries at 1 minute, want 2", queries())
		}
		r.Clock.Advance(60 * time.Second)
		r.Svc.WorkOnce(ctx)
		if queries() != 2 {
			t.Fatalf("%d alipay queries at 2 minutes, want still 2", queries())
		}
		// The order paid for another amount is not settled: it is held (no
		// longer followed, its declaration given back), with one anomaly
		// saying what the channel took, not one a pass.
		if st := r.Status(wOther.OrderNo); st != contrib.OrderHeld {
			t.Fatalf("the order paid for another amount is %s, want held", st)
		}
		if n := servicetest.Count(t, db, "records", "order_no = ?", wOther.OrderNo); n != 0 || r.Settlements(wOther.OrderNo) != 0 {
			t.Fatalf("%d records for the order paid for another amount", n)
		}
		if st := r.DeclStatus(wOther.DeclarationID); st != contrib.DeclOpen {
			t.Fatalf("its declaration is %s, want open", st)
		}
		if n := r.Anomalies(models.ChannelWechat, "amount_mismatch", wOther.OrderNo); n != 1 {
			t.Fatalf("%d amount_mismatch anomalies for %s after two passes, want 1", n, wOther.OrderNo)
		}
		r.Clock.Advance(62 * time.Second)
		r.Svc.WorkOnce(ctx)
		if queries() != 3 {
			t.Fatalf("%d alipay queries at 3 minutes, want 3", queries())
		}
		for _, o := range []string{wLeft.OrderNo, aLeft.OrderNo, unsent.OrderNo} {
			if st := r.Status(o); st != contrib.OrderPaying && st != contrib.OrderCreated {
				t.Fatalf("order %s is %s before its expiry", o, st)
			}
		}

		// Past expiry the abandoned orders are closed at the channel and
		// here, and their declarations can be paid again.
		r.Clock.Advance(30 * time.Minute)
		r.Svc.WorkOnce(ctx)
		for _, c := range []struct {
			sess    people.Session
			order   string
			decl    string
			channel string
		}{{wSess, wLeft.OrderNo, wLeft.DeclarationID, models.ChannelWechat}, {aSess, aLeft.OrderNo, aLeft.DeclarationID, models.ChannelAlipay},
			{uSess, unsent.OrderNo, uDecl, models.ChannelWechat}} {
			if st := r.Status(c.order); st != contrib.OrderClosed {
				t.Fatalf("abandoned %s order %s is %s, want closed", c.channel, c.order, st)
			}
			if st := r.DeclStatus(c.decl); st != contrib.DeclOpen {
				t.Fatalf("declaration of closed order %s is %s, want open", c.order, st)
			}
			again := r.Pay(c.sess, c.decl, c.channel, false)
			if again.OrderNo == c.order {
				t.Fatalf("paying again reused the closed order %s", c.order)
			}
		}
		if o, _ := r.Wechat.Order(wLeft.OrderNo); o.State != "CLOSED" {
			t.Fatalf("wechat order %s is %s at the channel, want CLOSED", wLeft.OrderNo, o.State)
		}
		if tr, _ := r.Alipay.Trade(aLeft.OrderNo); tr.Status != "TRADE_CLOSED" {
			t.Fatalf("alipay trade %s is %s at the channel, want TRADE_CLOSED", aLeft.OrderNo, tr.Status)
		}
	})
}

func TestAPaymentMadeBetweenTheLastQueryAndTheCloseIsSettledNotClosed(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		r.Lose.Store(true)
		_, wp := r.OpenOrder(models.ChannelWechat, false)
		_, ap := r.OpenOrder(models.ChannelAlipay, false)
		// The worker's query finds each order unpaid; the payer pays just
		// before the close reaches the channel, which refuses it (WeChat
		// ORDERPAID; Alipay ACQ.TRADE_STATUS_ERROR, then a query).
		var wOnce, aOnce sync.Once
		var payErr atomic.Value
		r.WxNet.Set(func(call string) error {
			if call == "/v3/pay/transactions/out-trade-no/"+wp.OrderNo+"/close" {
				wOnce.Do(func() {
					if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
						payErr.Store(err)
					}
				})
			}
			return nil
		})
		r.AliNet.Set(func(call string) error {
			if call == "alipay.trade.close" {
				aOnce.Do(func() {
					if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
						payErr.Store(err)
					}
				})
			}
			return nil
		})
		r.Clock.Advance(31 * time.Minute)
		r.Svc.WorkOnce(ctx)
		if err := payErr.Load(); err != nil {
			t.Fatal(err)
		}
		if r.Alipay.Calls("alipay.trade.close") != 1 {
			t.Fatal("the worker did not try to close the alipay order")
		}
		for _, p := range []contrib.Payment{wp, ap} {
			r.SettledOnce(p.OrderNo)
			if st := r.DeclStatus(p.DeclarationID); st != contrib.DeclPaid {
				t.Fatalf("declaration of %s is %s, want paid", p.OrderNo, st)
			}
		}
		if o, _ := r.Wechat.Order(wp.OrderNo); o.State != "SUCCESS" {
			t.Fatalf("wechat order is %s", o.State)
		}
	})
}

func anOrderClosedHereButPaidAtTheChannelIsSettledByItsNotification(r *servicetest.Rig) {
	t := r.T
	for _, channel := range []string{models.ChannelWechat, models.ChannelAlipay} {
		_, p := r.OpenOrder(channel, false)
		if channel == models.ChannelWechat {
			if err := r.Wechat.Pay(p.OrderNo, true); err != nil {
				t.Fatal(err)
			}
		} else if err := r.Alipay.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		r.CloseHere(p)
		if channel == models.ChannelWechat {
			h, b, err := r.Wechat.Notification(p.OrderNo)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := r.PostWechat(h, b); !servicetest.WechatAcked(code) {
				t.Fatalf("answered %d %q", code, body)
			}
		} else if code, body := r.PostAlipay(r.Alipay.Notification(p.OrderNo)); body != "success" {
			t.Fatalf("answered %d %q", code, body)
		}
		r.SettledOnce(p.OrderNo)
		if st := r.DeclStatus(p.DeclarationID); st != contrib.DeclPaid {
			t.Fatalf("declaration of %s is %s, want paid", p.OrderNo, st)
		}
	}
}
