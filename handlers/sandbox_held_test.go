package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAHeldNotificationSettlesOnlyWhenDeliveredAndOnlyOnce: the sandbox
// cashier with "deliver": false pays at the channel and hands the signed
// notification back; the order stays paying until the caller delivers it,
// and delivering it twice books the month once.
func TestAHeldNotificationSettlesOnlyWhenDeliveredAndOnlyOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		r := newCertRig(t, db)
		cl := r.cl
		me := servicetest.Person(t, "张三明")
		tok := r.login(t, "held-1", me.Name, me.IDNumber)
		orderNo, months := r.openOrder(t, tok)
		if st, b := cl.Do("POST", "/sandbox/pay/"+orderNo, "", map[string]any{"result": "fail", "deliver": false}); st != 400 || !strings.Contains(string(b), "INVALID_ARGUMENT") {
			t.Fatalf("a failed payment has no notification to hold: %d %s", st, b)
		}
		var held struct {
			OrderNo      string `json:"order_no"`
			Notification struct {
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
				Body    string            `json:"body"`
			} `json:"notification"`
		}
		if st := cl.DoJSON("POST", "/sandbox/pay/"+orderNo, "", map[string]any{"result": "success", "deliver": false}, &held); st != 200 || held.Notification.Body == "" || !strings.HasSuffix(held.Notification.URL, "/api/v1/notify/sandbox") {
			t.Fatalf("held %d %+v", st, held)
		}
		type records struct {
			Items []struct {
				Period string `json:"period"`
			}
		}
		var before records
		// (Not getPayment: asked about a paying order, it asks the channel,
		// which knows the payment, and settles by that answer.)
		if st := cl.DoJSON("GET", "/api/v1/records?person=self", tok, nil, &before); st != 200 || len(before.Items) != 0 {
			t.Fatalf("a held notification booked records: %d %+v", st, before)
		}
		deliver := func() {
			req, err := http.NewRequest("POST", held.Notification.URL, strings.NewReader(held.Notification.Body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range held.Notification.Headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("notify answered %d", resp.StatusCode)
			}
		}
		deliver()
		var got struct{ Status string }
		if st := cl.DoJSON("GET", "/api/v1/payments/"+orderNo, tok, nil, &got); st != 200 || got.Status != "paid" {
			t.Fatalf("after delivery %d %s", st, got.Status)
		}
		deliver()
		var recs records
		if st := cl.DoJSON("GET", "/api/v1/records?person=self", tok, nil, &recs); st != 200 || len(recs.Items) != months {
			t.Fatalf("records %d: %d for %d months declared", st, len(recs.Items), months)
		}
		// Paid now, the order has nothing left for the cashier to hold.
		if st, b := cl.Do("POST", "/sandbox/pay/"+orderNo, "", map[string]any{"deliver": false}); st != 409 {
			t.Fatalf("a paid order held again: %d %s", st, b)
		}
	})
}
