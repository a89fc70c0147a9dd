package alipayfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// Delivery is one attempt to deliver a notification.
type Delivery struct {
	OrderNo  string
	NotifyID string
	URL      string
	Attempt  int // 1 for the first attempt
	Status   int // HTTP status; 0 when the request failed
	Body     string
	Err      string
	Accepted bool // the answer was exactly "success"
}

// Pay is the payer acting at Alipay's cashier for an order the fake has (a
// mini-program order after trade.create, an H5 order once its URL was
// opened). success pays the trade (TRADE_SUCCESS); !success stands for a
// payment that fell through and the trade closing unpaid (TRADE_CLOSED).
// Either way the fake then posts the signed notification to the trade's
// notify_url in the background, retrying on the NotifyRetry schedule until
// the answer is exactly "success"; Drain waits for that.
func (s *Server) Pay(orderNo string, success bool) error {
	s.mu.Lock()
	t := s.trades[orderNo]
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("alipayfake: no trade for order %q (a mini-program order exists after trade.create, an H5 order once its URL is opened)", orderNo)
	}
	s.expire(t)
	if t.status != statusWait {
		s.mu.Unlock()
		return fmt.Errorf("alipayfake: order %q is %s, not payable", orderNo, t.status)
	}
	now := s.clock.Now()
	if t.buyer == "" {
		t.buyer = s.cashierBuyer(orderNo)
	}
	if success {
		t.status, t.paidAt = statusSuccess, now
	} else {
		t.status, t.closedAt = statusClosed, now
	}
	if t.notifyID == "" {
		t.notifyID = s.newNotifyID(now)
	}
	notice := s.tradeNotification(t)
	notifyURL := t.notifyURL
	s.mu.Unlock()
	s.dispatch(orderNo, notifyURL, notice)
	return nil
}

// Notification is a valid, signed payment notification for an order: the
// one Pay sends (or sent). For a trade not paid yet it is the notification
// Alipay would send if it were paid now, without changing the trade. It is
// nil for an order the fake does not have. Calls for one trade share one
// notify_id, as Alipay's retries do.
func (s *Server) Notification(orderNo string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[orderNo]
	if t == nil {
		return nil
	}
	s.expire(t)
	now := s.clock.Now()
	if t.notifyID == "" {
		t.notifyID = s.newNotifyID(now)
	}
	view := *t
	if view.status == statusWait {
		view.status, view.paidAt = statusSuccess, now
		if view.buyer == "" {
			view.buyer = s.cashierBuyer(orderNo)
		}
	}
	return s.tradeNotification(&view)
}

// NotificationWith is Notification(orderNo) with fields replaced before
// signing (an empty value removes the field): validly signed notifications
// that must still be refused, such as another app_id or seller_id, or a
// wrong total_amount. Nil for an order the fake does not have.
func (s *Server) NotificationWith(orderNo string, fields map[string]string) url.Values {
	v := s.Notification(orderNo)
	if v == nil {
		return nil
	}
	for k, x := range fields {
		if x == "" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	return s.Sign(v)
}

// RefundNotification is the signed notification Alipay sent for a refund
// (out_request_no) of an order; nil when the fake has no such refund.
func (s *Server) RefundNotification(orderNo, outRequestNo string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[orderNo]
	if t == nil {
		return nil
	}
	rf := t.refund(outRequestNo)
	if rf == nil {
		return nil
	}
	return s.refundNotification(t, rf)
}

// tradeNotification builds the trade_status_sync notification Alipay posts
// for a payment or a close; s.mu is held.
func (s *Server) tradeNotification(t *trade) url.Values {
	v := s.baseNotification(t, t.notifyID)
	v.Set("trade_status", t.status)
	if !t.paidAt.IsZero() {
		paid := t.amount.Yuan()
		v.Set("gmt_payment", bj(t.paidAt))
		v.Set("receipt_amount", paid)
		v.Set("invoice_amount", paid)
		v.Set("buyer_pay_amount", paid)
		v.Set("point_amount", "0.00")
		v.Set("fund_bill_list", `[{"amount":"`+paid+`","fundChannel":"ALIPAYACCOUNT"}]`)
	}
	if t.status == statusClosed {
		v.Set("gmt_close", bj(t.closedAt))
	}
	return s.Sign(v)
}

// refundNotification is what Alipay posts after a refund: the trade's
// notification with out_biz_no (the refund's out_request_no), refund_fee
// (all refunded so far) and gmt_refund; s.mu is held.
func (s *Server) refundNotification(t *trade, rf *refund) url.Values {
	v := s.baseNotification(t, rf.notifyID)
	v.Set("trade_status", t.status)
	v.Set("gmt_payment", bj(t.paidAt))
	v.Set("out_biz_no", rf.outRequestNo)
	var upTo models.Fen
	for _, r := range t.refunds {
		upTo += r.amount
		if r == rf {
			break
		}
	}
	v.Set("refund_fee", upTo.Yuan())
	v.Set("gmt_refund", rf.at.In(models.Beijing).Format("2006-01-02 15:04:05.000"))
	if t.status == statusClosed {
		v.Set("gmt_close", bj(t.closedAt))
	}
	return s.Sign(v)
}

func (s *Server) baseNotification(t *trade, notifyID string) url.Values {
	v := url.Values{}
	v.Set("notify_time", bj(s.clock.Now()))
	v.Set("notify_type", "trade_status_sync")
	v.Set("notify_id", notifyID)
	v.Set("app_id", s.appID)
	v.Set("auth_app_id", s.appID)
	v.Set("charset", "utf-8")
	v.Set("version", "1.0")
	v.Set("trade_no", t.tradeNo)
	v.Set("out_trade_no", t.outTradeNo)
	v.Set("seller_id", s.sellerID)
	v.Set("total_amount", t.amount.Yuan())
	v.Set("subject", t.subject)
	v.Set("gmt_create", bj(t.created))
	if s.openIDMode {
		v.Set("buyer_open_id", t.buyer)
	} else {
		v.Set("buyer_id", t.buyer)
	}
	return v
}

// cashierBuyer is who pays an H5 order: the payer logs in at the cashier,
// so the fake gives them a stable identity per order; s.mu is held.
func (s *Server) cashierBuyer(orderNo string) string {
	id := s.userFor("cashier:" + orderNo)
	if s.openIDMode {
		return s.OpenIDFor(id)
	}
	return id
}

func bj(t time.Time) string { return t.In(models.Beijing).Format(alipayTime) }

// newNotifyID makes a notify_id shaped like Alipay's; s.mu is held.
func (s *Server) newNotifyID(now time.Time) string {
	return now.In(models.Beijing).Format("20060102") + "00222" + s.randomHex(12)
}

func (s *Server) randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Deliver posts one notification form to notifyURL the way Alipay does and
// returns the answer: for sending hostile notifications through a server's
// real route.
func (s *Server) Deliver(ctx context.Context, notifyURL string, v url.Values) (status int, body string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, strings.NewReader(v.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), err
}

// dispatch delivers a notification in the background with retries.
func (s *Server) dispatch(orderNo, notifyURL string, v url.Values) {
	if notifyURL == "" {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.inflight++
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			s.inflight--
			s.idle.Broadcast()
			s.mu.Unlock()
		}()
		for attempt := 1; ; attempt++ {
			status, body, err := s.Deliver(s.ctx, notifyURL, v)
			d := Delivery{OrderNo: orderNo, NotifyID: v.Get("notify_id"), URL: notifyURL, Attempt: attempt,
				Status: status, Body: body, Accepted: err == nil && body == "success"}
			if err != nil {
				d.Err = err.Error()
			}
			s.mu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.mu.Unlock()
			if d.Accepted || attempt > len(s.retry) {
				return
			}
			timer := time.NewTimer(s.retry[attempt-1])
			select {
			case <-timer.C:
			case <-s.ctx.Done():
				timer.Stop()
				return
			}
		}
	}()
}

// Drain waits until every notification in flight was accepted or ran out of
// retries.
func (s *Server) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
}

// Deliveries lists every delivery attempt so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}
