package servicetest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/store"
)

// Hostile and repeated notifications, delivered to HandleNotification the
// way the providers post them. Each one is judged by the answer the
// provider gets (WeChat Pay: 200/204 stops its retries, 5xx with
// {"code":"FAIL"} asks for one; Alipay: exactly "success" stops them) and by
// what the database holds afterwards.

// PostWechat delivers a WeChat Pay notification and returns the answer.
func (r *Rig) PostWechat(h http.Header, body []byte) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/wechatpay", bytes.NewReader(body))
	req.Header = h.Clone()
	w := httptest.NewRecorder()
	if err := r.Svc.HandleNotification(context.Background(), models.ChannelWechat, w, req); err != nil {
		return 0, err.Error()
	}
	return w.Code, w.Body.String()
}

// PostAlipay delivers an Alipay notification (a form POST) and returns the
// answer.
func (r *Rig) PostAlipay(v url.Values) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/alipay", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w := httptest.NewRecorder()
	if err := r.Svc.HandleNotification(context.Background(), models.ChannelAlipay, w, req); err != nil {
		return 0, err.Error()
	}
	return w.Code, w.Body.String()
}

// Unsettled fails the test unless orderNo is still paying with nothing
// booked for it: no records, no settlement.
func (r *Rig) Unsettled(orderNo string) {
	r.T.Helper()
	if st := r.Status(orderNo); st != contrib.OrderPaying {
		r.T.Fatalf("order %s is %s, want paying", orderNo, st)
	}
	if n := Count(r.T, r.DB, "records", "order_no = ?", orderNo); n != 0 {
		r.T.Fatalf("%d records for unsettled order %s", n, orderNo)
	}
	if n := r.Settlements(orderNo); n != 0 {
		r.T.Fatalf("order %s settled %d times", orderNo, n)
	}
}

// SettledOnce fails the test unless orderNo is paid with exactly one
// settlement: one record for its one month, one settlement, no paid-twice.
func (r *Rig) SettledOnce(orderNo string) {
	r.T.Helper()
	if st := r.Status(orderNo); st != contrib.OrderPaid {
		r.T.Fatalf("order %s is %s, want paid", orderNo, st)
	}
	if n := Count(r.T, r.DB, "records", "order_no = ?", orderNo); n != 1 {
		r.T.Fatalf("%d records for the one-month order %s", n, orderNo)
	}
	if n := r.Settlements(orderNo); n != 1 {
		r.T.Fatalf("order %s settled %d times", orderNo, n)
	}
	if n := Count(r.T, r.DB, "anomalies", "order_no = ? AND kind = ?", orderNo, "paid_twice"); n != 0 {
		r.T.Fatalf("order %s recorded as paid twice", orderNo)
	}
}

// Anomalies counts the anomalies of a kind recorded for an order.
func (r *Rig) Anomalies(channel, kind, orderNo string) int64 {
	r.T.Helper()
	return Count(r.T, r.DB, "anomalies", "channel = ? AND kind = ? AND order_no = ?", channel, kind, orderNo)
}

// Outcome lists the recorded outcomes of an order's notifications.
func (r *Rig) Outcome(channel, orderNo string) []string {
	r.T.Helper()
	var out []string
	if err := r.DB.Gorm.Model(&store.NotificationRow{}).Where("channel = ? AND order_no = ?", channel, orderNo).
		Order("outcome").Pluck("outcome", &out).Error; err != nil {
		r.T.Fatal(err)
	}
	return out
}

// WechatAcked reports whether WeChat Pay takes an answer as delivered: only
// 200 and 204.
func WechatAcked(code int) bool { return code == http.StatusOK || code == http.StatusNoContent }
