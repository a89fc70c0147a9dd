package apitest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/lianban/lianban"
)

// operationIDs is every route of handlers/routes.go with its operationId.
// The ids are part of the contract (API.md): front ends generate clients
// from them, so a rename must fail here.
func operationIDs() map[string]string {
	return map[string]string{
		"POST /api/v1/certificates":                     "issueCertificate",
		"GET /api/v1/certificates":                      "listCertificates",
		"GET /api/v1/certificates/verify":               "verifyCertificate",
		"GET /api/v1/certificates/{certificate_no}/pdf": "downloadCertificate",
		"GET /healthz":                                  "getHealth",
		"GET /readyz":                                   "getReady",
		"GET /metrics":                                  "getMetrics",
		"GET /sandbox/pay/{order_no}":                   "sandboxCashierPage",
		"POST /sandbox/pay/{order_no}":                  "sandboxPay",
		"GET /api/v1/services":                          "listServices",
		"GET /api/v1/policy":                            "getPolicy",
		"GET /api/v1/sessions/methods":                  "listLoginMethods",
		"POST /api/v1/sessions/wechat":                  "loginWechat",
		"POST /api/v1/sessions/wechat-web":              "loginWechatWeb",
		"POST /api/v1/sessions/alipay":                  "loginAlipay",
		"POST /api/v1/sessions/taxapp":                  "loginTaxApp",
		"POST /api/v1/sessions/mengsuban":               "loginMengsuban",
		"POST /api/v1/sessions/mengsuban/authorize":     "startMengsubanLogin",
		"POST /api/v1/sessions/wechat-web/authorize":    "startWechatWebLogin",
		"POST /api/v1/sessions/alipay-web":              "loginAlipayWeb",
		"POST /api/v1/sessions/alipay-web/authorize":    "startAlipayWebLogin",
		"POST /api/v1/sessions/sandbox":                 "loginSandbox",
		"DELETE /api/v1/sessions/current":               "logout",
		"POST /api/v1/notify/wechatpay":                 "wechatPayNotify",
		"POST /api/v1/notify/alipay":                    "alipayNotify",
		"POST /api/v1/notify/sandbox":                   "sandboxNotify",
		"GET /api/v1/me":                                "getMe",
		"POST /api/v1/me/identity":                      "verifyIdentity",
		"GET /api/v1/me/family":                         "listFamily",
		"POST /api/v1/me/family":                        "addFamilyMember",
		"DELETE /api/v1/me/family/{member_id}":          "removeFamilyMember",
		"GET /api/v1/me/grants":                         "listGrants",
		"POST /api/v1/me/grants":                        "grantRecordsAccess",
		"DELETE /api/v1/me/grants/{grant_id}":           "revokeGrant",
		"GET /api/v1/enrolments":                        "listEnrolments",
		"POST /api/v1/enrolments":                       "createEnrolment",
		"POST /api/v1/payables/query":                   "queryPayables",
		"POST /api/v1/declarations":                     "createDeclaration",
		"GET /api/v1/declarations/{declaration_id}":     "getDeclaration",
		"POST /api/v1/payments":                         "createPayment",
		"GET /api/v1/payments":                          "listPayments",
		"GET /api/v1/payments/{order_no}":               "getPayment",
		"GET /api/v1/records":                           "listRecords",
		// Refunds and the hall's staff side.
		"POST /api/v1/refunds":                           "createRefund",
		"GET /api/v1/refunds":                            "listRefunds",
		"GET /api/v1/refunds/refundable":                 "listRefundable",
		"GET /api/v1/refunds/{refund_no}":                "getRefund",
		"GET /api/v1/me/messages":                        "listMessages",
		"POST /api/v1/staff/sessions":                    "loginStaff",
		"DELETE /api/v1/staff/sessions/current":          "logoutStaff",
		"GET /api/v1/staff/me":                           "getStaffMe",
		"POST /api/v1/staff/me/password":                 "changeStaffPassword",
		"GET /api/v1/staff/refunds":                      "listStaffRefunds",
		"GET /api/v1/staff/refunds/{refund_no}":          "getStaffRefund",
		"POST /api/v1/staff/refunds/{refund_no}/accept":  "acceptRefund",
		"POST /api/v1/staff/refunds/{refund_no}/refuse":  "refuseRefund",
		"POST /api/v1/staff/refunds/{refund_no}/review":  "reviewRefund",
		"POST /api/v1/staff/refunds/{refund_no}/execute": "executeRefund",
		"GET /api/v1/staff/accounts":                     "listStaffAccounts",
		"POST /api/v1/staff/accounts":                    "createStaffAccount",
		"POST /api/v1/staff/accounts/{staff_id}/disable": "disableStaffAccount",
		"POST /api/v1/staff/accounts/{staff_id}/reset":   "resetStaffAccount",
		"GET /api/v1/staff/audit":                        "listAuditLog",
		"GET /api/v1/staff/audit/export":                 "exportAuditLog",
		// Counters: the partner API and the hall as a channel.
		"POST /partner/v1/payables/query":            "partnerQueryPayables",
		"POST /partner/v1/orders":                    "partnerCreateOrder",
		"POST /partner/v1/orders/{order_no}/confirm": "partnerConfirmOrder",
		"POST /partner/v1/orders/{order_no}/reverse": "partnerReverseOrder",
		"PUT /partner/v1/reconciliation/{day}":       "putPartnerReconciliation",
		"GET /partner/v1/reconciliation/{day}":       "getPartnerReconciliation",
		"POST /api/v1/staff/hall/people/lookup":      "hallLookupPerson",
		"POST /api/v1/staff/hall/payments":           "hallCreatePayment",

		// The anomaly queue.
		"GET /api/v1/staff/anomalies":                       "listAnomalies",
		"GET /api/v1/staff/anomalies/{anomaly_id}":          "getAnomaly",
		"POST /api/v1/staff/anomalies/{anomaly_id}/resolve": "resolveAnomaly",

		// A WeChat refund held as abnormal, released by the tax window.
		"POST /api/v1/staff/refunds/{refund_no}/payouts/{payout_no}/return-abnormal": "returnAbnormalPayout",

		// Issue 8: proven guardianship and withdrawal.
		"GET /api/v1/me/family/{member_id}/guardians":                  "listGuardians",
		"POST /api/v1/me/family/{member_id}/guardians":                 "consentGuardian",
		"DELETE /api/v1/me/family/{member_id}/guardians/{guardian_id}": "revokeGuardian",
		"POST /api/v1/refunds/{refund_no}/withdraw":                    "withdrawRefund",

		// Issue 11: units — binding, operators, 参保登记, 增员/减员, 预处理数据, declarations.
		"GET /api/v1/units":                                         "listUnits",
		"POST /api/v1/units":                                        "bindUnit",
		"GET /api/v1/units/{unit_id}/operators":                     "listUnitOperators",
		"POST /api/v1/units/{unit_id}/operators":                    "addUnitOperator",
		"DELETE /api/v1/units/{unit_id}/operators/{operator_id}":    "removeUnitOperator",
		"POST /api/v1/units/{unit_id}/registrations":                "registerUnitScheme",
		"GET /api/v1/units/{unit_id}/registrations":                 "listUnitRegistrations",
		"GET /api/v1/units/{unit_id}/employees":                     "listEmployees",
		"POST /api/v1/units/{unit_id}/employees":                    "addEmployees",
		"DELETE /api/v1/units/{unit_id}/employees/{employee_id}":    "removeEmployee",
		"GET /api/v1/units/{unit_id}/payables":                      "getUnitPayables",
		"POST /api/v1/units/{unit_id}/declarations":                 "createUnitDeclaration",
		"GET /api/v1/units/{unit_id}/declarations/{declaration_id}": "getUnitDeclaration",
		// Issue 11: uploads and unit refunds.
		"POST /api/v1/uploads":                                          "createUpload",
		"POST /api/v1/units/{unit_id}/refunds":                          "createUnitRefund",
		"GET /api/v1/units/{unit_id}/refunds":                           "listUnitRefunds",
		"GET /api/v1/staff/refunds/{refund_no}/attachments/{upload_id}": "downloadRefundAttachment",
		// Issue 11: unit payments (三方协议, 银行端凭证, POS).
		"POST /api/v1/units/{unit_id}/agreements":                     "addTripartiteAgreement",
		"GET /api/v1/units/{unit_id}/agreements":                      "listTripartiteAgreements",
		"POST /api/v1/units/{unit_id}/payments":                       "createUnitPayment",
		"GET /api/v1/units/{unit_id}/payments":                        "listUnitPayments",
		"GET /api/v1/units/{unit_id}/payments/{order_no}":             "getUnitPayment",
		"GET /api/v1/units/{unit_id}/payments/{order_no}/voucher.pdf": "downloadUnitVoucher",
		"POST /api/v1/notify/bank-debit":                              "bankDebitNotify",
		"POST /api/v1/staff/unit-payments/{order_no}/pos-confirm":     "confirmUnitPOS",
		// Issue 12: the 税务 APP and 蒙速办 logins and their sandbox fakes.
		"POST /sandbox/taxapp/token":                         "sandboxTaxAppToken",
		"GET /sandbox/oidc/.well-known/openid-configuration": "sandboxOidcDiscovery",
		"GET /sandbox/oidc/authorize":                        "sandboxOidcAuthorize",
		"POST /sandbox/oidc/token":                           "sandboxOidcToken",
		"GET /sandbox/oidc/jwks":                             "sandboxOidcJwks",
		"GET /sandbox/oidc/userinfo":                         "sandboxOidcUserInfo",
		// Issue 12: the counter API's partners (admin).
		"GET /api/v1/staff/partners":                               "listPartners",
		"POST /api/v1/staff/partners":                              "createPartner",
		"POST /api/v1/staff/partners/{partner_id}/keys":            "rotatePartnerKey",
		"DELETE /api/v1/staff/partners/{partner_id}/keys/{key_id}": "retirePartnerKey",
		"POST /api/v1/staff/partners/{partner_id}/disable":         "disablePartner",
		"POST /api/v1/staff/partners/{partner_id}/enable":          "enablePartner",
	}
}

// publicOperations need no session.
func publicOperations() []string {
	return []string{"getHealth", "getReady", "getMetrics", "sandboxCashierPage", "sandboxPay", "listServices",
		"getPolicy", "loginWechat", "loginWechatWeb", "loginAlipay", "loginTaxApp", "loginMengsuban", "loginSandbox",
		"wechatPayNotify", "alipayNotify", "sandboxNotify", "verifyCertificate", "loginStaff",
		"bankDebitNotify", "startMengsubanLogin", "startWechatWebLogin", "sandboxTaxAppToken", "sandboxOidcDiscovery",
		"sandboxOidcAuthorize", "sandboxOidcToken", "sandboxOidcJwks", "sandboxOidcUserInfo",
		"startAlipayWebLogin", "loginAlipayWeb", "listLoginMethods"}
}

func TestLoadAndOperations(t *testing.T) {
	c := Load(t)
	ops := c.Operations()
	var want []string
	for op := range operationIDs() {
		want = append(want, op)
	}
	slices.Sort(want)
	if !slices.Equal(ops, want) {
		t.Errorf("operations:\n got %q\nwant %q", ops, want)
	}
	ids := operationIDs()
	for path, item := range c.Doc().Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			if op.OperationID != ids[key] {
				t.Errorf("%s: operationId %q, want %q", key, op.OperationID, ids[key])
			}
		}
	}
}

func TestSecurityAndErrors(t *testing.T) {
	c := Load(t)
	for path, item := range c.Doc().Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			// bearerAuth is a citizen's session, staffAuth a hall staff
			// session, partnerAuth a partner's signed request. A staff
			// operation also takes the console's cookie, only together
			// with its CSRF token.
			bearer := op.Security != nil && len(*op.Security) == 1 &&
				((*op.Security)[0]["bearerAuth"] != nil || (*op.Security)[0]["partnerAuth"] != nil)
			if op.Security != nil && len(*op.Security) > 0 && (*op.Security)[0]["staffAuth"] != nil {
				sec := *op.Security
				bearer = len(sec) == 2 && len(sec[0]) == 1 && len(sec[1]) == 2 && sec[1]["staffCookie"] != nil && sec[1]["staffCSRF"] != nil
			}
			isPublic := slices.Contains(publicOperations(), op.OperationID)
			if bearer == isPublic {
				t.Errorf("%s (%s): bearerAuth=%v, public=%v", key, op.OperationID, bearer, isPublic)
			}
			if bearer && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s: authenticated but 401 is not documented", key)
			}
			if op.Responses.Default() == nil {
				t.Errorf("%s: no default response", key)
			}
			for status, r := range op.Responses.Map() {
				if r.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: X-Request-Id is not documented", key, status)
				}
			}
		}
	}
}

func TestOpenAPISpecIsACopy(t *testing.T) {
	a := lianban.OpenAPISpec()
	a[0] = 'X'
	if b := lianban.OpenAPISpec(); b[0] == 'X' || !bytes.HasPrefix(b, []byte("openapi: 3.0.3")) {
		t.Fatal("OpenAPISpec shares or lost its bytes")
	}
}

// errRecorder is a testing.TB that records Errorf calls instead of failing.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Helper() {}

func (r *errRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const jsonCT = "application/json; charset=utf-8"

func TestCheck(t *testing.T) {
	c := Load(t)
	rid := "req1"
	errBody := func(code, id string) string {
		return `{"error":{"code":"` + code + `","message":"m","request_id":"` + id + `"}}`
	}
	payment := `{"order_no":"LB1","declaration_id":"d_1","channel":"sandbox","scheme":"flexible_pension",
		"person_name_masked":"*三","period_from":"202611","period_to":"202612","amount_fen":98140,"refunded_fen":0,
		"status":"paying","created_at":"2026-11-20T02:00:00Z","expires_at":"2026-11-20T02:30:00.5Z",
		"pay_params":{"cashier_url":"http://x/sandbox/pay/LB1"}}`
	record := `{"period":"202611","scheme":"flexible_pension","scheme_name":"n","region_code":"150100","base_fen":1,
		"amount_fen":2,"status":"paid","paid_at":"2026-11-20T02:00:00Z","credited_at":null,"booked_at":null,
		"order_no":"LB1","payer_masked":"*三"}`
	tests := []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		wantErr      string // "" = passes; else a substring of the first error
	}{
		{"health", "GET", "/healthz", 200, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"status":"ok","sandbox":false}`, ""},
		{"no request id", "GET", "/healthz", 200, header("Content-Type", jsonCT), `{"status":"ok","sandbox":false}`, "no X-Request-Id"},
		{"bad enum", "GET", "/healthz", 200, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"status":"fine"}`, "doesn't match"},
		{"unknown path", "GET", "/api/v1/nope", 404, header("Content-Type", jsonCT, "X-Request-Id", rid), errBody("NOT_FOUND", rid), "not in the contract"},
		{"unknown method", "PUT", "/api/v1/me", 400, header("Content-Type", jsonCT, "X-Request-Id", rid), errBody("METHOD_NOT_ALLOWED", rid), "no PUT operation"},
		{"undocumented 4xx", "GET", "/api/v1/me", 409, header("Content-Type", jsonCT, "X-Request-Id", rid), errBody("X", rid), "not documented"},
		{"5xx falls to default", "GET", "/api/v1/me", 500, header("Content-Type", jsonCT, "X-Request-Id", rid), errBody("INTERNAL", rid), ""},
		{"error shape", "GET", "/api/v1/me", 401, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"code":"UNAUTHENTICATED"}`, "doesn't match"},
		{"request id mismatch", "GET", "/api/v1/me", 401, header("Content-Type", jsonCT, "X-Request-Id", rid), errBody("UNAUTHENTICATED", "other"), "differs"},
		{"replay keeps first request id", "POST", "/api/v1/payments", 409,
			header("Content-Type", jsonCT, "X-Request-Id", rid, "Idempotent-Replayed", "true"), errBody("ALREADY_PAID", "first"), ""},
		{"payment 201", "POST", "/api/v1/payments", 201, header("Content-Type", jsonCT, "X-Request-Id", rid), payment, ""},
		{"payment 200", "POST", "/api/v1/payments", 200, header("Content-Type", jsonCT, "X-Request-Id", rid), payment, ""},
		{"payment bad pay_params", "GET", "/api/v1/payments/LB1", 200, header("Content-Type", jsonCT, "X-Request-Id", rid),
			strings.Replace(payment, "cashier_url", "cashier", 1), "doesn't match"},
		{"payment missing field", "GET", "/api/v1/payments/LB1", 200, header("Content-Type", jsonCT, "X-Request-Id", rid),
			strings.Replace(payment, `"refunded_fen":0,`, "", 1), "doesn't match"},
		{"records nullable times", "GET", "/api/v1/records?year=2026", 200, header("Content-Type", jsonCT, "X-Request-Id", rid),
			`{"items":[` + record + `],"next_page_token":""}`, ""},
		{"extra fields are allowed", "GET", "/healthz", 200, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"status":"ok","sandbox":false,"uptime":1}`, ""},
		{"204 no body", "DELETE", "/api/v1/me/family/m_1", 204, header("X-Request-Id", rid), "", ""},
		{"204 with body", "DELETE", "/api/v1/me/family/m_1", 204, header("Content-Type", jsonCT, "X-Request-Id", rid), `{}`, "documents no body"},
		{"html page", "GET", "/sandbox/pay/LB1", 200, header("Content-Type", "text/html; charset=utf-8", "X-Request-Id", rid), "<!doctype html>", ""},
		{"html as json", "GET", "/sandbox/pay/LB1", 200, header("Content-Type", jsonCT, "X-Request-Id", rid), `{}`, "not documented"},
		{"metrics", "GET", "/metrics", 200, header("Content-Type", "text/plain; version=0.0.4; charset=utf-8; escaping=underscores", "X-Request-Id", rid), "# HELP x\n", ""},
		{"alipay ack", "POST", "/api/v1/notify/alipay", 200, header("Content-Type", "text/plain; charset=utf-8", "X-Request-Id", rid), "success", ""},
		{"wechat ack", "POST", "/api/v1/notify/wechatpay", 204, header("X-Request-Id", rid), "", ""},
		{"wechat retry", "POST", "/api/v1/notify/wechatpay", 500, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"code":"FAIL","message":"失败"}`, ""},
		{"sandbox ack", "POST", "/api/v1/notify/sandbox", 200, header("Content-Type", "application/json", "X-Request-Id", rid), `{"code":"SUCCESS"}`, ""},
		{"channel not configured", "POST", "/api/v1/notify/sandbox", 404, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"error":{"code":"NOT_FOUND","message":"未找到相关信息","request_id":"` + rid + `"}}`, ""},
		{"channel not configured as text", "POST", "/api/v1/notify/sandbox", 404, header("Content-Type", "text/plain; charset=utf-8", "X-Request-Id", rid), "404 page not found\n", "not documented"},
		{"readyz 503", "GET", "/readyz", 503, header("Content-Type", jsonCT, "X-Request-Id", rid), `{"status":"unavailable"}`, ""},
		{"bad header", "GET", "/healthz", 200, header("Content-Type", jsonCT, "X-Request-Id", "a b"), `{"status":"ok","sandbox":false}`, "X-Request-Id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &errRecorder{TB: t}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			c.Check(rec, req, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.wantErr == "" && len(rec.errs) > 0:
				t.Errorf("want no error, got:\n%s", strings.Join(rec.errs, "\n"))
			case tc.wantErr != "" && len(rec.errs) == 0:
				t.Errorf("want an error containing %q, got none", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(rec.errs[0], tc.wantErr):
				t.Errorf("want an error containing %q, got:\n%s", tc.wantErr, strings.Join(rec.errs, "\n"))
			}
		})
	}
}

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/payments/:order_no":  "/api/v1/payments/{order_no}",
		"/sandbox/pay/:order_no":      "/sandbox/pay/{order_no}",
		"/files/*path":                "/files/{path}",
		"/api/v1/me":                  "/api/v1/me",
		"/api/v1/payments/{order_no}": "/api/v1/payments/{order_no}",
	} {
		if got := OpenAPIPath(in); got != want {
			t.Errorf("OpenAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoutesMatch(t *testing.T) {
	c := Load(t)
	var routes []RouteInfo
	for op := range operationIDs() {
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{", ":", "}", "").Replace(path)
		routes = append(routes, RouteInfo{Method: method, Path: path})
	}
	rec := &errRecorder{TB: t}
	RoutesMatch(rec, c, routes)
	if len(rec.errs) != 0 {
		t.Fatalf("all routes: %q", rec.errs)
	}

	routes = append(routes[1:], RouteInfo{Method: "GET", Path: "/api/v1/extra/:id"})
	rec = &errRecorder{TB: t}
	RoutesMatch(rec, c, routes)
	if len(rec.errs) != 2 || !strings.Contains(rec.errs[0], "GET /api/v1/extra/{id} is not in") ||
		!strings.Contains(rec.errs[1], "has no route") {
		t.Fatalf("one extra, one missing: %q", rec.errs)
	}
}

// fakeAPI answers a few routes the way the real server does.
func fakeAPI(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			id = "gen"
		}
		w.Header().Set("X-Request-Id", id)
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v1/sessions/sandbox":
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			w.Header().Set("Content-Type", jsonCT)
			w.WriteHeader(201)
			fmt.Fprint(w, `{"token":"tok","expires_at":"2026-11-20T04:00:00Z","user":{"user_id":"u_1","channel":"sandbox",
				"real_name_verified":false,"name_masked":"","id_number_masked":""}}`)
		case r.Method == "GET" && r.URL.Path == "/api/v1/me":
			w.Header().Set("Content-Type", jsonCT)
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(401)
				fmt.Fprintf(w, `{"error":{"code":"UNAUTHENTICATED","message":"m","request_id":%q}}`, id)
				return
			}
			fmt.Fprint(w, `{"user_id":"u_1","channel":"sandbox","real_name_verified":false,"name_masked":"","id_number_masked":""}`)
		case r.Method == "POST" && r.URL.Path == "/api/v1/notify/alipay":
			if err := r.ParseForm(); err != nil || r.PostForm.Get("out_trade_no") != "LB1" {
				t.Errorf("form: %v %v", err, r.PostForm)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprint(w, "success")
		default:
			w.Header().Set("Content-Type", jsonCT)
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"error":{"code":"NOT_FOUND","message":"m","request_id":%q}}`, id)
		}
	})
}

func TestClient(t *testing.T) {
	c := Load(t)
	srv := httptest.NewServer(fakeAPI(t))
	defer srv.Close()
	for name, cl := range map[string]*Client{
		"in process": c.Client(t, fakeAPI(t)),
		"server":     c.ServerClient(t, srv.URL, srv.Client()),
	} {
		t.Run(name, func(t *testing.T) {
			var login struct {
				Token string `json:"token"`
			}
			if st := cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": "a"}, &login); st != 201 || login.Token != "tok" {
				t.Fatalf("login: %d %+v", st, login)
			}
			if st, body := cl.Do("GET", "/api/v1/me", login.Token, nil); st != 200 {
				t.Fatalf("me: %d %s", st, body)
			}
			r := cl.WithHeader("X-Request-Id", "mine").Send("GET", "/api/v1/me", "", nil)
			if r.Status != 401 || r.ErrorCode() != "UNAUTHENTICATED" || r.Header.Get("X-Request-Id") != "mine" {
				t.Fatalf("me without token: %d %s %v", r.Status, r.Body, r.Header)
			}
			if st, _ := cl.Do("POST", "/api/v1/notify/alipay", "", url.Values{"out_trade_no": {"LB1"}}); st != 200 {
				t.Fatalf("notify: %d", st)
			}
			if r := cl.SendUnchecked("GET", "/api/v1/nope", "", nil); r.Status != 404 || r.ErrorCode() != "NOT_FOUND" {
				t.Fatalf("unchecked: %d %s", r.Status, r.Body)
			}
		})
	}
}
