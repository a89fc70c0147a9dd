package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
	"github.com/lianban/lianban/web"
)

// TestEveryRouteAnswersAsTheContractSays walks every route through its
// success and error paths over real HTTP; the apitest client validates
// each response against miniprogram-api.yaml.
func TestEveryRouteAnswersAsTheContractSays(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Logins: true, Mutate: func(_ *service.Deps, o *service.Options) {
		o.LoginRateLimit = 30
	}})
	readyErr := error(nil)
	s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true,
		Ready: func(ctx context.Context) error { return readyErr }, SandboxTaxApp: env.TaxApp, SandboxOIDC: env.OIDC})
	h = s
	// A real Redis keeps the login counter of earlier tests from this
	// address; this test counts its own logins.
	for _, k := range []string{"lb:rl:login:127.0.0.1", "lb:rl:staff-login:127.0.0.1"} {
		env.Redis.Client.Del(context.Background(), k) // one key a command: a cluster keeps them apart
	}
	c := apitest.Load(t)
	// The pages (/h5/, /console/, /assets/) are files, not operations.
	apiRoutes := slices.DeleteFunc(s.Engine().Routes(), func(r gin.RouteInfo) bool { return web.IsPage(r.Path) })
	apitest.RoutesMatch(t, c, apitest.GinRoutes(apiRoutes))
	cl := c.ServerClient(t, srv.URL, srv.Client())

	expect := func(r *apitest.Response, status int, code string) {
		t.Helper()
		if r.Status != status || r.ErrorCode() != code {
			t.Errorf("got %d %s, want %d %s: %s", r.Status, r.ErrorCode(), status, code, r.Body)
		}
	}
	get := func(path, tok string) *apitest.Response { t.Helper(); return cl.Send("GET", path, tok, nil) }
	post := func(path, tok string, body any, hdr ...string) *apitest.Response {
		t.Helper()
		return cl.Send("POST", path, tok, body, hdr...)
	}

	expect(get("/healthz", ""), 200, "")
	expect(get("/readyz", ""), 200, "")
	readyErr = fmt.Errorf("down")
	expect(get("/readyz", ""), 503, "")
	readyErr = nil
	expect(get("/metrics", ""), 200, "")
	expect(get("/api/v1/services", ""), 200, "")
	// Every login this server has, and only those: the test's server has
	// the tax APP's and 蒙速办's fakes (Logins), no WeChat or Alipay, and
	// is in sandbox mode.
	var methods struct{ Methods []string }
	r0 := get("/api/v1/sessions/methods", "")
	expect(r0, 200, "")
	r0.Decode(t, &methods)
	if want := []string{"mengsuban", "sandbox", "taxapp"}; !slices.Equal(methods.Methods, want) {
		t.Errorf("login methods %q, want %q", methods.Methods, want)
	}
	for y := 2020; y <= 2030; y++ {
		r := get(fmt.Sprintf("/api/v1/policy?year=%d", y), "")
		if r.Status != 200 && r.Status != 404 {
			t.Errorf("policy %d: %d", y, r.Status)
		}
	}
	expect(get("/api/v1/policy?region=150200", ""), 200, "")
	expect(get("/api/v1/policy?year=1900", ""), 404, "POLICY_NOT_FOUND")
	expect(get("/api/v1/policy?region=999999", ""), 400, "REGION_INVALID")
	expect(get("/api/v1/policy?year=abc", ""), 400, "INVALID_ARGUMENT")

	expect(post("/api/v1/sessions/wechat", "", map[string]string{"code": "x"}), 400, "CHANNEL_UNSUPPORTED")
	expect(post("/api/v1/sessions/alipay", "", map[string]string{"auth_code": "x"}), 400, "CHANNEL_UNSUPPORTED")
	var minted struct{ Token string }
	post("/sandbox/taxapp/token", "", map[string]string{"subject": "contract-app"}).Decode(t, &minted)
	expect(post("/sandbox/taxapp/token", "", map[string]string{}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/sessions/taxapp", "", map[string]string{"token": minted.Token}), 201, "")
	expect(post("/api/v1/sessions/taxapp", "", map[string]string{"app_token": "invalid"}), 401, "LOGIN_FAILED")
	expect(post("/api/v1/sessions/mengsuban/authorize", "", map[string]string{"redirect_uri": "https://elsewhere.invalid/", "code_challenge": "x"}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/sessions/mengsuban/authorize", "", map[string]string{"redirect_uri": servicetest.MengsubanRedirect,
		"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}), 201, "")
	expect(get("/sandbox/oidc/.well-known/openid-configuration", ""), 200, "")
	expect(get("/sandbox/oidc/jwks", ""), 200, "")
	expect(get("/sandbox/oidc/userinfo", ""), 401, "")
	expect(post("/sandbox/oidc/token", "", nil), 401, "")
	expect(post("/api/v1/sessions/mengsuban", "", map[string]string{"code": "x", "redirect_uri": servicetest.MengsubanRedirect,
		"code_verifier": strings.Repeat("v", 43), "state": "never-issued"}), 401, "LOGIN_FAILED")
	expect(post("/api/v1/sessions/mengsuban", "", map[string]any{"code": 1}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/sessions/sandbox", "", map[string]string{}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/sessions/sandbox", "", nil), 400, "INVALID_ARGUMENT")

	login := func(subject string) string {
		t.Helper()
		var res struct{ Token string }
		if st := cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": subject}, &res); st != 201 {
			t.Fatalf("login %d", st)
		}
		return res.Token
	}
	zhang := servicetest.Person(t, "张三明")
	li := servicetest.Person(t, "李秀英")
	xiao := servicetest.Person(t, "张小雨")
	tok := login("zhang")
	expect(get("/api/v1/me", ""), 401, "UNAUTHENTICATED")
	expect(get("/api/v1/me", "nope"), 401, "UNAUTHENTICATED")
	expect(get("/api/v1/me", tok), 200, "")
	expect(get("/api/v1/me/grants", tok), 403, "IDENTITY_REQUIRED")
	expect(post("/api/v1/payables/query", tok, map[string]any{}), 403, "IDENTITY_REQUIRED")
	expect(post("/api/v1/me/identity", tok, map[string]string{"name": "张三明", "id_number": "123"}), 400, "ID_NUMBER_INVALID")
	expect(post("/api/v1/me/identity", tok, map[string]string{"name": "张三", "id_number": zhang.IDNumber}), 422, "IDENTITY_MISMATCH")
	expect(post("/api/v1/me/identity", tok, map[string]string{"name": "张三明", "id_number": zhang.IDNumber, "phone": "13800138000"}), 200, "")
	expect(post("/api/v1/me/identity", tok, map[string]string{"name": "张三明", "id_number": zhang.IDNumber}), 200, "")
	expect(post("/api/v1/me/identity", tok, map[string]string{"name": "李秀英", "id_number": li.IDNumber}), 409, "IDENTITY_ALREADY_BOUND")
	expect(get("/api/v1/me", tok), 200, "")

	expect(get("/api/v1/me/family", tok), 200, "")
	var mom, kid struct {
		MemberID string `json:"member_id"`
	}
	r := post("/api/v1/me/family", tok, map[string]string{"name": "李秀英", "id_number": li.IDNumber, "relation": "parent"})
	expect(r, 201, "")
	r.Decode(t, &mom)
	expect(post("/api/v1/me/family", tok, map[string]string{"name": "李秀英", "id_number": li.IDNumber, "relation": "parent"}), 409, "FAMILY_MEMBER_EXISTS")
	expect(post("/api/v1/me/family", tok, map[string]string{"name": "李秀英", "id_number": li.IDNumber, "relation": "boss"}), 400, "INVALID_ARGUMENT")
	r = post("/api/v1/me/family", tok, map[string]string{"name": "张小雨", "id_number": xiao.IDNumber, "relation": "child"})
	expect(r, 201, "")
	r.Decode(t, &kid)
	expect(get("/api/v1/me/family", tok), 200, "")
	expect(cl.Send("DELETE", "/api/v1/me/family/m_nope", tok, nil), 404, "NOT_FOUND")

	tok2 := login("other")
	var me2 struct {
		UserID string `json:"user_id"`
	}
	get("/api/v1/me", tok2).Decode(t, &me2)
	var g struct {
		GrantID string `json:"grant_id"`
	}
	// An account is granted to only once its holder has verified: "other"
	// is a login and nothing more.
	expect(post("/api/v1/me/grants", tok, map[string]string{"grantee_user_id": me2.UserID}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/me/grants", tok, map[string]string{"grantee_user_id": "u_nope"}), 400, "INVALID_ARGUMENT")
	tok3 := login("wang")
	expect(post("/api/v1/me/identity", tok3, map[string]string{"name": "王建国", "id_number": servicetest.Person(t, "王建国").IDNumber}), 200, "")
	var me3 struct {
		UserID string `json:"user_id"`
	}
	get("/api/v1/me", tok3).Decode(t, &me3)
	r = post("/api/v1/me/grants", tok, map[string]string{"grantee_user_id": me3.UserID})
	expect(r, 201, "")
	r.Decode(t, &g)
	// A grant by ID number names someone who verified: 李秀英 is only
	// zhang's family member until she binds her own account.
	expect(post("/api/v1/me/grants", tok, map[string]string{"grantee_id_number": li.IDNumber}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/me/identity", login("li"), map[string]string{"name": "李秀英", "id_number": li.IDNumber}), 200, "")
	expect(post("/api/v1/me/grants", tok, map[string]string{"grantee_id_number": li.IDNumber}), 201, "")
	expect(post("/api/v1/me/grants", tok, map[string]string{}), 400, "INVALID_ARGUMENT")
	expect(cl.Send("DELETE", "/api/v1/me/grants/"+g.GrantID, tok, nil), 204, "")
	expect(cl.Send("DELETE", "/api/v1/me/grants/"+g.GrantID, tok, nil), 404, "NOT_FOUND")
	expect(get("/api/v1/me/grants", tok), 200, "")

	expect(post("/api/v1/enrolments", tok, map[string]string{"scheme": "flexible_pension", "region_code": "150100"}), 201, "")
	expect(post("/api/v1/enrolments", tok, map[string]string{"scheme": "flexible_pension", "region_code": "150100"}), 409, "ALREADY_ENROLLED")
	expect(post("/api/v1/enrolments", tok, map[string]string{"scheme": "resident_pension", "region_code": "150100"}), 422, "NOT_ELIGIBLE")
	expect(post("/api/v1/enrolments", tok, map[string]string{"scheme": "flexible_medical", "region_code": "150100", "medical_option": "combined"}), 201, "")
	expect(post("/api/v1/enrolments", tok, map[string]string{"scheme": "bad", "region_code": "150100"}), 400, "SCHEME_INVALID")
	expect(post("/api/v1/enrolments", tok, map[string]string{"scheme": "resident_medical", "region_code": "110000"}), 400, "REGION_INVALID")
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": mom.MemberID, "scheme": "resident_medical", "region_code": "150100"}), 201, "")
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": kid.MemberID, "scheme": "resident_medical", "region_code": "150100"}), 201, "")
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": "m_nope", "scheme": "resident_medical", "region_code": "150100"}), 404, "NOT_FOUND")
	wang := servicetest.Person(t, "王建国")
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": map[string]string{"name": wang.Name, "id_number": wang.IDNumber}, "scheme": "resident_pension", "region_code": "150100"}), 422, "NOT_ELIGIBLE")
	expect(get("/api/v1/enrolments", tok), 200, "")
	expect(get("/api/v1/enrolments?person="+mom.MemberID, tok), 200, "")
	expect(get("/api/v1/enrolments?person=m_nope", tok), 404, "NOT_FOUND")

	var payables struct {
		Items []struct {
			PayableID     string `json:"payable_id"`
			Scheme        string
			Options       []struct{ Code string }
			UnpaidPeriods []string `json:"unpaid_periods"`
		}
	}
	r = post("/api/v1/payables/query", tok, map[string]any{})
	expect(r, 200, "")
	r.Decode(t, &payables)
	t.Logf("payables: %s", r.Body)
	expect(post("/api/v1/payables/query", tok, map[string]any{"person": mom.MemberID}), 200, "")
	expect(post("/api/v1/payables/query", tok, map[string]any{"person": kid.MemberID}), 200, "")
	expect(post("/api/v1/payables/query", tok, map[string]any{"person": map[string]string{"name": wang.Name, "id_number": wang.IDNumber}}), 422, "NOT_ENROLLED")
	expect(post("/api/v1/payables/query", tok, "not json"), 400, "INVALID_ARGUMENT")
	// Paying for others: 孙小梅 (低保) shows the assisted amount, 刘建华 the
	// months of 延长缴费.
	sun := map[string]string{"name": "孙小梅", "id_number": "150102198812082222"}
	liu := map[string]string{"name": "刘建华", "id_number": "150102196503081016"}
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": sun, "scheme": "resident_medical", "region_code": "150200"}), 201, "")
	expect(post("/api/v1/payables/query", tok, map[string]any{"person": sun}), 200, "")
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": liu, "scheme": "flexible_medical", "region_code": "150100", "medical_option": "combined"}), 422, "NOT_ELIGIBLE")
	expect(post("/api/v1/enrolments", tok, map[string]any{"person": liu, "scheme": "flexible_pension", "region_code": "150100"}), 201, "")
	expect(post("/api/v1/payables/query", tok, map[string]any{"person": liu}), 200, "")

	var pension string
	for _, p := range payables.Items {
		if p.Scheme == "flexible_pension" {
			pension = p.PayableID
		}
	}
	declBody := map[string]string{"payable_id": pension, "option_code": "grade_60"}
	expect(post("/api/v1/declarations", tok, map[string]string{"payable_id": pension, "option_code": "base_1"}), 422, "BASE_OUT_OF_RANGE")
	expect(post("/api/v1/declarations", tok, map[string]string{"payable_id": pension, "option_code": "nope"}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/declarations", tok, map[string]string{"payable_id": pension, "option_code": "grade_60", "period_from": "202001"}), 422, "OUT_OF_COLLECTION_PERIOD")
	expect(post("/api/v1/declarations", tok, map[string]string{"payable_id": "x-2026", "option_code": "grade_60"}), 404, "NOT_FOUND")
	r = post("/api/v1/declarations", tok, declBody, "Idempotency-Key", "k1")
	expect(r, 201, "")
	var decl struct {
		DeclarationID string `json:"declaration_id"`
	}
	r.Decode(t, &decl)
	t.Logf("declaration: %s", r.Body)
	r = post("/api/v1/declarations", tok, declBody, "Idempotency-Key", "k1")
	expect(r, 201, "")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("no replay header")
	}
	expect(post("/api/v1/declarations", tok, map[string]string{"payable_id": pension, "option_code": "grade_70"}, "Idempotency-Key", "k1"), 409, "IDEMPOTENCY_KEY_REUSED")
	expect(post("/api/v1/declarations", tok, declBody), 409, "ALREADY_DECLARED")
	r = post("/api/v1/declarations", tok, declBody, "Idempotency-Key", "k2")
	expect(r, 409, "ALREADY_DECLARED")
	r = post("/api/v1/declarations", tok, declBody, "Idempotency-Key", "k2")
	expect(r, 409, "ALREADY_DECLARED")
	expect(post("/api/v1/declarations", tok, declBody, "Idempotency-Key", strings.Repeat("k", 192)), 400, "INVALID_ARGUMENT")
	expect(get("/api/v1/declarations/"+decl.DeclarationID, tok), 200, "")
	expect(get("/api/v1/declarations/d_nope", tok), 404, "NOT_FOUND")
	expect(get("/api/v1/declarations/"+decl.DeclarationID, tok2), 403, "IDENTITY_REQUIRED")

	payBody := map[string]string{"declaration_id": decl.DeclarationID, "channel": "sandbox"}
	expect(post("/api/v1/payments", tok, map[string]string{"declaration_id": decl.DeclarationID, "channel": "wechat"}), 400, "CHANNEL_UNSUPPORTED")
	r = post("/api/v1/payments", tok, payBody, "Idempotency-Key", "p1")
	expect(r, 201, "")
	t.Logf("payment: %s", r.Body)
	var pay struct {
		OrderNo string `json:"order_no"`
	}
	r.Decode(t, &pay)
	expect(post("/api/v1/payments", tok, payBody, "Idempotency-Key", "p1"), 201, "")
	expect(post("/api/v1/payments", tok, payBody), 200, "")
	expect(post("/api/v1/payments", tok, map[string]string{"declaration_id": "d_nope", "channel": "sandbox"}), 404, "NOT_FOUND")
	expect(get("/api/v1/payments", tok), 200, "")
	expect(get("/api/v1/payments?page_size=0", tok), 400, "INVALID_ARGUMENT")
	expect(get("/api/v1/payments?page_size=1", tok), 200, "")
	expect(get("/api/v1/payments/"+pay.OrderNo, tok), 200, "")
	expect(get("/api/v1/payments/LB_nope", tok), 404, "NOT_FOUND")

	expect(get("/sandbox/pay/"+pay.OrderNo, ""), 200, "")
	expect(get("/sandbox/pay/bad.no", ""), 404, "NOT_FOUND")
	expect(post("/sandbox/pay/"+pay.OrderNo, "", map[string]string{"result": "maybe"}), 400, "INVALID_ARGUMENT")
	expect(post("/sandbox/pay/LB_nope", "", nil), 404, "NOT_FOUND")
	expect(post("/sandbox/pay/"+pay.OrderNo, "", map[string]string{"result": "fail"}), 200, "")
	expect(post("/sandbox/pay/"+pay.OrderNo, "", nil), 200, "")
	expect(post("/sandbox/pay/"+pay.OrderNo, "", nil), 409, "ORDER_NOT_PAYABLE")
	r = get("/api/v1/payments/"+pay.OrderNo, tok)
	expect(r, 200, "")
	t.Logf("paid: %s", r.Body)
	expect(post("/api/v1/payments", tok, payBody), 409, "ALREADY_PAID")
	expect(post("/api/v1/declarations", tok, declBody), 409, "ALREADY_PAID")

	r = get("/api/v1/records", tok)
	expect(r, 200, "")
	t.Logf("records: %s", r.Body)
	env.Clock.Advance(10 * time.Second)
	env.Svc.WorkOnce(context.Background())
	env.Clock.Advance(10 * time.Second)
	env.Svc.WorkOnce(context.Background())
	r = get("/api/v1/records?year=2026&scheme=flexible_pension", tok)
	expect(r, 200, "")
	t.Logf("records later: %s", r.Body)
	expect(get("/api/v1/records?scheme=bad", tok), 400, "SCHEME_INVALID")
	expect(get("/api/v1/records?year=abc", tok), 400, "INVALID_ARGUMENT")
	expect(get("/api/v1/records?person="+mom.MemberID, tok), 403, "FORBIDDEN")
	expect(get("/api/v1/records?person="+kid.MemberID, tok), 200, "")
	expect(get("/api/v1/records?person=m_nope", tok), 404, "NOT_FOUND")

	hdr, body := env.Sandbox.Notification(map[string]any{"id": "N1", "order_no": "LB_unknown", "amount_fen": 1, "success": true})
	var hs []string
	for k := range hdr {
		hs = append(hs, k, hdr.Get(k))
	}
	expect(post("/api/v1/notify/sandbox", "", json.RawMessage(body), hs...), 200, "")
	expect(post("/api/v1/notify/sandbox", "", json.RawMessage(body), "Lianban-Sandbox-Signature", "00"), 500, "")
	expect(post("/api/v1/notify/wechatpay", "", map[string]string{}), 404, "NOT_FOUND")
	expect(post("/api/v1/notify/alipay", "", "a=b", "Content-Type", "application/x-www-form-urlencoded"), 404, "NOT_FOUND")

	// The anomaly queue: the notification of an order we never issued is
	// the tax window's to resolve, and /metrics counts it while open.
	hall := hallTokens(t, env, cl)
	openGauge := func(kind string) string {
		t.Helper()
		r := get("/metrics", "")
		for _, line := range strings.Split(string(r.Body), "\n") {
			if strings.HasPrefix(line, `lianban_anomalies_open{kind="`+kind+`"} `) {
				return strings.TrimPrefix(line, `lianban_anomalies_open{kind="`+kind+`"} `)
			}
		}
		return ""
	}
	if v := openGauge("unknown_order"); v != "1" {
		t.Errorf("lianban_anomalies_open{kind=unknown_order} = %q, want 1", v)
	}
	var queue struct {
		Items []struct {
			AnomalyID string `json:"anomaly_id"`
		} `json:"items"`
	}
	r = get("/api/v1/staff/anomalies?kind=unknown_order", hall["tax1"])
	expect(r, 200, "")
	r.Decode(t, &queue)
	if len(queue.Items) != 1 {
		t.Fatalf("the tax window's unknown_order queue: %s", r.Body)
	}
	anomaly := "/api/v1/staff/anomalies/" + queue.Items[0].AnomalyID
	expect(get("/api/v1/staff/anomalies?page_size=1&status=all", hall["auditor1"]), 200, "")
	expect(get("/api/v1/staff/anomalies?status=maybe", hall["tax1"]), 400, "INVALID_ARGUMENT")
	expect(get("/api/v1/staff/anomalies?page_token=bad", hall["tax1"]), 400, "INVALID_ARGUMENT")
	expect(get("/api/v1/staff/anomalies", hall["admin1"]), 403, "FORBIDDEN")
	expect(get("/api/v1/staff/anomalies", tok), 401, "UNAUTHENTICATED")
	r = get(anomaly, hall["tax1"])
	expect(r, 200, "")
	t.Logf("anomaly: %s", r.Body)
	expect(get(anomaly, hall["auditor1"]), 200, "")
	expect(get(anomaly, hall["si1"]), 403, "FORBIDDEN")
	expect(get("/api/v1/staff/anomalies/an_nope", hall["tax1"]), 404, "NOT_FOUND")
	fix := map[string]string{"resolution": "refunded", "reason": "已在商户平台原路退还付款人"}
	expect(post(anomaly+"/resolve", hall["auditor1"], fix), 403, "FORBIDDEN")
	expect(post(anomaly+"/resolve", hall["tax1"], map[string]string{"resolution": "fixed", "reason": "已处理"}), 400, "INVALID_ARGUMENT")
	expect(post(anomaly+"/resolve", hall["tax1"], map[string]any{"resolution": 1}), 400, "INVALID_ARGUMENT")
	expect(post("/api/v1/staff/anomalies/an_nope/resolve", hall["tax1"], fix), 404, "NOT_FOUND")
	expect(post(anomaly+"/resolve", hall["tax1"], fix), 200, "")
	expect(post(anomaly+"/resolve", hall["tax1"], fix), 409, "ANOMALY_RESOLVED")
	if v := openGauge("unknown_order"); v != "0" {
		t.Errorf("after resolving, lianban_anomalies_open{kind=unknown_order} = %q, want 0", v)
	}

	expect(cl.Send("DELETE", "/api/v1/sessions/current", tok2, nil), 204, "")
	expect(get("/api/v1/me", tok2), 401, "UNAUTHENTICATED")

	for i := 0; i < 40; i++ {
		r := cl.Send("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": "x"})
		if r.Status == 429 {
			expect(r, 429, "RATE_LIMITED")
			break
		}
	}
	r = cl.SendUnchecked("PUT", "/api/v1/me", tok, nil)
	if r.Status != 405 || r.ErrorCode() != "METHOD_NOT_ALLOWED" || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("PUT /me: %d %s", r.Status, r.Body)
	}
	r = cl.SendUnchecked("GET", "/api/v1/nope", tok, nil)
	if r.Status != 404 || r.ErrorCode() != "NOT_FOUND" {
		t.Errorf("GET /nope: %d %s", r.Status, r.Body)
	}
	r = cl.SendUnchecked("GET", "/api/v1/me/", tok, nil)
	if r.Status != 404 || r.ErrorCode() != "NOT_FOUND" || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("GET /me/: %d %s", r.Status, r.Body)
	}
}
