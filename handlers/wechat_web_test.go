package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// Test微信城市服务: an H5 user inside WeChat logs in through the official
// account's web OAuth, pays by WeChat Pay JSAPI under the official
// account's appid at the fake, and the fake's notification settles the
// order through the one WeChat Pay notify route; a notification naming an
// appid we do not have settles nothing.
func Test微信城市服务LoginAndJSAPIPayment(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var s *handlers.Server
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Wechat: true,
			NotifyRetry: []time.Duration{0, 200 * time.Millisecond, time.Second},
			Start:       time.Now().UTC().Truncate(time.Second), WallClock: true})
		s = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
		cl := apitest.Load(t).Client(t, s)
		fake := env.Wechat

		// Login: a good code once, then the same code again, then a bad one.
		var login struct {
			Token string
			User  struct {
				Channel string `json:"channel"`
			}
		}
		if st := cl.DoJSON("POST", "/api/v1/sessions/wechat-web", "", map[string]string{"code": "h5-code-1"}, &login); st != 201 {
			t.Fatalf("wechat-web login: %d", st)
		}
		if login.User.Channel != "wechat_web" {
			t.Fatalf("user channel %q", login.User.Channel)
		}
		if r := cl.Send("POST", "/api/v1/sessions/wechat-web", "", map[string]string{"code": "h5-code-1"}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("reused code: %d %s", r.Status, r.Body)
		}
		if r := cl.Send("POST", "/api/v1/sessions/wechat-web", "", map[string]string{"code": "invalid"}); r.Status != 401 || r.ErrorCode() != "LOGIN_FAILED" {
			t.Fatalf("bad code: %d %s", r.Status, r.Body)
		}
		if n := servicetest.Count(t, db, "users", "channel = ? AND subject = ?", "wechat_web", fake.OAOpenID("h5-code-1")); n != 1 {
			t.Fatalf("%d wechat_web users with the official account's openid", n)
		}
		tok := login.Token

		me := servicetest.Person(t, "张三明")
		if st, b := cl.Do("POST", "/api/v1/me/identity", tok, map[string]string{"name": me.Name, "id_number": me.IDNumber}); st != 200 {
			t.Fatalf("identity %d %s", st, b)
		}
		if st, b := cl.Do("POST", "/api/v1/enrolments", tok, map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}); st != 201 {
			t.Fatalf("enrol %d %s", st, b)
		}
		var pb struct {
			Items []struct {
				PayableID  string `json:"payable_id"`
				PeriodFrom string `json:"period_from"`
			}
		}
		cl.DoJSON("POST", "/api/v1/payables/query", tok, map[string]string{"person": "self"}, &pb)
		if len(pb.Items) == 0 {
			t.Fatal("nothing payable")
		}
		var d struct {
			DeclarationID string `json:"declaration_id"`
		}
		if st := cl.DoJSON("POST", "/api/v1/declarations", tok, map[string]string{"payable_id": pb.Items[0].PayableID,
			"option_code": "grade_60", "period_to": pb.Items[0].PeriodFrom}, &d); st != 201 {
			t.Fatalf("declare %d", st)
		}
		var p struct {
			OrderNo   string            `json:"order_no"`
			AmountFen int64             `json:"amount_fen"`
			PayParams map[string]string `json:"pay_params"`
		}
		if st := cl.DoJSON("POST", "/api/v1/payments", tok, map[string]string{"declaration_id": d.DeclarationID, "channel": "wechat"}, &p); st != 201 {
			t.Fatalf("createPayment %d", st)
		}
		o, ok := fake.Order(p.OrderNo)
		if !ok || o.AppID != fake.OAAppID() || o.OpenID != fake.OAOpenID("h5-code-1") || int64(o.Amount) != p.AmountFen {
			t.Fatalf("order at WeChat Pay = %+v", o)
		}
		pp := p.PayParams
		if pp["appId"] != fake.OAAppID() || pp["package"] != "prepay_id="+o.PrepayID || pp["signType"] != "RSA" ||
			pp["timeStamp"] == "" || pp["nonceStr"] == "" || pp["paySign"] == "" {
			t.Fatalf("JSAPI pay params = %v", pp)
		}

		// A validly signed notification for this order naming a foreign
		// appid is acknowledged (WeChat would resend it for ever) but
		// settles nothing and is kept as an anomaly.
		h, body, err := fake.ForeignNotification(p.OrderNo, "wx00000000foreign01", "")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/wechatpay", bytes.NewReader(body))
		req.Header = h.Clone()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("foreign notification answered %d %s", rec.Code, rec.Body)
		}
		if servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", p.OrderNo, "paid") != 0 {
			t.Fatal("a foreign appid's notification settled the order")
		}
		if servicetest.Count(t, db, "anomalies", "order_no = ? AND kind = ?", p.OrderNo, "foreign_notification") != 1 {
			t.Fatal("the foreign notification was not kept as an anomaly")
		}

		// Paid at the cashier: the fake posts the real notification to the
		// notify route, which settles the order.
		if err := fake.Pay(p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := fake.WaitDeliveries(ctx); err != nil {
			t.Fatal(err)
		}
		servicetest.WaitPaid(t, db, p.OrderNo)
		var got struct {
			Status  string `json:"status"`
			Channel string `json:"channel"`
		}
		if st := cl.DoJSON("GET", "/api/v1/payments/"+p.OrderNo, tok, nil, &got); st != 200 || got.Status != "paid" || got.Channel != "wechat" {
			t.Fatalf("getPayment %d %+v", st, got)
		}
	})
}
