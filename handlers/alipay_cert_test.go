package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAlipayCertificateModeSettlesAcrossARotation: in Alipay's
// public-key-certificate mode, a payment's notification settles the order
// through the notify route; after Alipay rotates its certificate, the next
// payment (its answers and its notification signed by the new certificate)
// still settles; a notification signed by a certificate of another CA is
// refused and settles nothing.
func TestAlipayCertificateModeSettlesAcrossARotation(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var s *handlers.Server
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Alipay: true, AlipayCertMode: true,
			NotifyRetry: []time.Duration{100 * time.Millisecond, time.Second},
			Start:       time.Now().UTC().Truncate(time.Second), WallClock: true})
		s = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
		cl := apitest.Load(t).Client(t, s)
		fake := env.Alipay
		if !fake.CertMode() {
			t.Fatal("the fake is not in certificate mode")
		}

		// user logs a new Alipay user in as a demo person, enrolled as a
		// flexible worker.
		user := func(code, name string) string {
			t.Helper()
			var login struct{ Token string }
			if st := cl.DoJSON("POST", "/api/v1/sessions/alipay", "", map[string]string{"auth_code": code}, &login); st != 201 {
				t.Fatalf("alipay login %d", st)
			}
			p := servicetest.Person(t, name)
			if st, b := cl.Do("POST", "/api/v1/me/identity", login.Token, map[string]string{"name": p.Name, "id_number": p.IDNumber}); st != 200 {
				t.Fatalf("identity %d %s", st, b)
			}
			if st, b := cl.Do("POST", "/api/v1/enrolments", login.Token, map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}); st != 201 {
				t.Fatalf("enrol %d %s", st, b)
			}
			return login.Token
		}
		// order declares the first open month and opens an Alipay order.
		order := func(tok string) string {
			t.Helper()
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
				_, b := cl.Do("POST", "/api/v1/payables/query", tok, map[string]string{"person": "self"})
				t.Fatalf("declare %d; payables %s", st, b)
			}
			var p struct {
				OrderNo   string            `json:"order_no"`
				PayParams map[string]string `json:"pay_params"`
			}
			if st := cl.DoJSON("POST", "/api/v1/payments", tok, map[string]string{"declaration_id": d.DeclarationID, "channel": "alipay"}, &p); st != 201 {
				t.Fatalf("createPayment %d", st)
			}
			if p.PayParams["trade_no"] == "" {
				t.Fatalf("pay params %v", p.PayParams)
			}
			return p.OrderNo
		}
		payAndSettle := func(no string) {
			t.Helper()
			if err := fake.Pay(no, true); err != nil {
				t.Fatal(err)
			}
			fake.Drain()
			servicetest.WaitPaid(t, db, no)
		}

		payAndSettle(order(user("cert-mode-zhang", "张三明")))
		if n := fake.Calls("alipay.open.app.alipaycert.download"); n != 0 {
			t.Fatalf("%d certificate downloads before any rotation", n)
		}

		// Alipay rotates: the next trade.create answer is signed by the new
		// certificate, which the keyring fetches and checks once.
		fake.RotateCert()
		second := order(user("cert-mode-sun", "孙小梅"))
		if n := fake.Calls("alipay.open.app.alipaycert.download"); n != 1 {
			t.Fatalf("%d certificate downloads after one rotation, want 1", n)
		}

		time.Sleep(2100 * time.Millisecond) // past the keyring's gap between downloads
		v := fake.RogueNotification(second)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/alipay", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError || rec.Body.String() != "fail" {
			t.Fatalf("a notification signed by an untrusted certificate answered %d %q", rec.Code, rec.Body)
		}
		if servicetest.Count(t, db, "orders", "order_no = ? AND status = ?", second, "paid") != 0 {
			t.Fatal("an untrusted certificate's notification settled the order")
		}
		if n := fake.Calls("alipay.open.app.alipaycert.download"); n != 2 {
			t.Fatalf("the untrusted certificate was not fetched and checked (%d downloads)", n)
		}

		// The real notification, signed by the new certificate, settles.
		payAndSettle(second)
	})
}
