package payouts_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func TestAnAlipayH5OrderNotOpenedYetIsNotClosedBeforeItsWindowEndsSoASwitchWaits(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := servicetest.NewRig(t, db, servicetest.RigConfig{})
		sess, d := r.Declare(models.ChannelWechat)
		ap := r.Pay(sess, d, models.ChannelAlipay, true)
		// Five minutes on, the payer switches to WeChat. Alipay does not
		// know the trade yet (the URL was not opened), which is not closed:
		// the URL stays payable until the order's expiry.
		r.Clock.Advance(6 * time.Minute)
		_, _, err := r.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: d, Channel: models.ChannelWechat})
		if !errors.Is(err, models.ErrDeclarationPaying) || !strings.Contains(err.Error(), "前仍可付款") {
			t.Fatalf("switch while the H5 URL is payable: %v", err)
		}
		if st := r.Status(ap.OrderNo); st != contrib.OrderPaying {
			t.Fatalf("the Alipay order is %s", st)
		}
		// The worker does not close it before its expiry either.
		r.Svc.WorkOnce(ctx)
		if st := r.Status(ap.OrderNo); st != contrib.OrderPaying {
			t.Fatalf("after the worker the Alipay order is %s", st)
		}
		// The payer pays the URL after all: booked normally.
		r.OpenH5(ap)
		if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitFor(t, "the Alipay payment", func() bool { return r.Settlements(ap.OrderNo) == 1 })
		r.SettledOnce(ap.OrderNo)
		r.Money()

		// Another payer never opens theirs: once the order's window has
		// passed, switching closes it and opens the WeChat order.
		sess2, d2 := r.Declare(models.ChannelWechat)
		ap2 := r.Pay(sess2, d2, models.ChannelAlipay, true)
		r.Clock.Advance(31 * time.Minute)
		r.AliClock.Shift(31 * time.Minute)
		wp, created, err := r.Svc.CreatePayment(ctx, sess2, contrib.PayInput{DeclarationID: d2, Channel: models.ChannelWechat})
		if err != nil || !created || wp.Channel != models.ChannelWechat {
			t.Fatalf("switch after the window: %+v %v", wp, err)
		}
		if st := r.Status(ap2.OrderNo); st != contrib.OrderClosed {
			t.Fatalf("the expired Alipay order is %s", st)
		}
		r.Money()
	})
}

// The old sequence: an Alipay H5 order closed here while its URL was still
// payable (CloseHere stands in for the close that used to succeed), the
// payer paying WeChat, and then the URL too. The second payment cannot be
// booked: it is refunded whole through Alipay under a number derived from
// the order, the payer is told, and their payments show it refunded. Both
// notifications arrive many times at once.
func TestAnOrderPaidAfterItsDeclarationWasPaidByAnotherIsRefundedAutomatically(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r, sess, ap, wp, wh, wb := paidTwice(t, db)
		av := r.Alipay.Notification(ap.OrderNo)
		r.Lose.Store(false)
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(2)
			go func() { defer wg.Done(); r.PostWechat(wh, wb) }()
			go func() { defer wg.Done(); r.PostAlipay(av) }()
		}
		wg.Wait()
		r.SettledOnce(wp.OrderNo)
		if st := r.DeclStatus(wp.DeclarationID); st != contrib.DeclPaid {
			t.Fatalf("declaration %s", st)
		}
		refundNo := "TZ" + strings.TrimPrefix(ap.OrderNo, "LB")
		servicetest.WaitFor(t, "the automatic refund", func() bool { return r.Status(ap.OrderNo) == contrib.OrderRefunded })
		if n := servicetest.Count(t, db, "records", "order_no = ?", ap.OrderNo); n != 0 {
			t.Fatalf("%d records for the refunded order", n)
		}
		if tr, _ := r.Alipay.Trade(ap.OrderNo); tr.Refunded != ap.AmountFen || tr.Refunds != 1 {
			t.Fatalf("Alipay trade %+v", tr)
		}
		as := anomalyRowsOf(t, db, ap.OrderNo, "paid_twice")
		if len(as) != 1 || as[0].RefundNo != refundNo || as[0].SystemAction == "" || as[0].ResolvedAt == nil || as[0].AmountFen != int64(ap.AmountFen) {
			t.Fatalf("anomalies %+v", as)
		}
		// The payer sees it: in their payments, their refunds, and a message.
		pays, _, err := r.Svc.ListPayments(ctx, sess.UserID, kernel.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		var seen bool
		for _, p := range pays {
			if p.OrderNo == ap.OrderNo {
				seen = p.Status == contrib.OrderRefunded && p.AutoRefundNo == refundNo && p.Notice != "" && p.RefundedFen == ap.AmountFen
			}
		}
		if !seen {
			t.Fatalf("payments %+v", pays)
		}
		rf, err := r.Svc.GetRefund(ctx, sess.UserID, refundNo)
		if err != nil || rf.Status != models.RefundRefunded || rf.RefundedFen != ap.AmountFen {
			t.Fatalf("refund %+v %v", rf, err)
		}
		// Nobody applied: the hall must not be warned of a stranger.
		if rf.ApplicantRole != refunds.RoleSystem || rf.CanWithdraw == nil || *rf.CanWithdraw {
			t.Fatalf("automatic refund role %q, can withdraw %v", rf.ApplicantRole, rf.CanWithdraw != nil && *rf.CanWithdraw)
		}
		msgs, _, err := r.Svc.ListMessages(ctx, sess.UserID, kernel.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		var told bool
		for _, m := range msgs {
			told = told || strings.Contains(m.Body, ap.OrderNo) && strings.Contains(m.Body, refundNo)
		}
		if !told {
			t.Fatalf("messages %+v", msgs)
		}
		r.Money()
	})
}

// paidTwice is one declaration paid twice, notifications held back: at
// Alipay, after its order was closed here (the payer reopened the H5
// cashier), and at WeChat. ap and wp are the two orders, wh and wb
// WeChat's notification.
func paidTwice(t *testing.T, db *store.DB) (r *servicetest.Rig, sess people.Session, ap, wp contrib.Payment, wh http.Header, wb []byte) {
	t.Helper()
	r = servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
	r.Lose.Store(true) // the notifications are delivered by the test
	sess, d := r.Declare(models.ChannelWechat)
	ap = r.Pay(sess, d, models.ChannelAlipay, true)
	r.CloseHere(ap)
	wp = r.Pay(sess, d, models.ChannelWechat, false)
	r.OpenH5(ap)
	if err := r.Alipay.Pay(ap.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	if err := r.Wechat.Pay(wp.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	// The fakes deliver from goroutines: wait until both have tried (and
	// lost) their notifications, or one may arrive after a test turns
	// delivery back on and settle the order behind its back (seen under
	// load: the Alipay order's automatic refund existed before the test
	// filed it).
	r.Alipay.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Wechat.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	wh, wb, err := r.Wechat.Notification(wp.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	return r, sess, ap, wp, wh, wb
}
