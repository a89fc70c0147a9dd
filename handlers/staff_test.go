package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/pquerna/otp/totp"
)

const (
	hallPassword = "sandbox-password"
	hallTOTP     = "JBSWY3DPEHPK3PXP"
)

var hallRoles = map[string]models.StaffRole{"tax1": models.RoleTaxWindow, "si1": models.RoleSIReviewer, "mi1": models.RoleMIReviewer,
	"admin1": models.RoleAdmin, "auditor1": models.RoleAuditor}

// hallTokens seeds the sandbox hall and logs every account in over HTTP.
func hallTokens(t *testing.T, env *servicetest.Env, cl *apitest.Client) map[string]string {
	t.Helper()
	toks := map[string]string{}
	for name, role := range hallRoles {
		if err := env.Svc.SeedStaffAccount(context.Background(), name, role, hallPassword, hallTOTP); err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(hallTOTP, env.Clock.Now())
		var res struct {
			Token string `json:"token"`
		}
		if st := cl.DoJSON("POST", "/api/v1/staff/sessions", "", map[string]string{"username": name, "password": hallPassword, "totp": code}, &res); st != 201 {
			t.Fatalf("login %s: %d", name, st)
		}
		toks[name] = res.Token
	}
	return toks
}

// TestEveryStaffEndpointAnswersOnlyTheRoleOfItsStep tries every staff
// endpoint with every role, with a citizen's token and with none: only the
// role of the step gets through (403 for the others, 401 without a staff
// session), and a staff token opens no citizen endpoint.
func TestEveryStaffEndpointAnswersOnlyTheRoleOfItsStep(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	o := makeOwner(t, env, cl)
	toks := hallTokens(t, env, cl)
	var r1 struct {
		RefundNo string `json:"refund_no"`
	}
	body := map[string]any{"scheme": "flexible_pension", "periods": []string{"202611"}, "refund_fen": 98140, "reason": "overpaid",
		"attachments": []map[string]string{{"kind": "refund_form", "name": "申请表.jpg"}}}
	first := cl.Send("POST", "/api/v1/refunds", o.token, body, "Idempotency-Key", "refund-1")
	if first.Status != 201 {
		t.Fatalf("createRefund %d %s", first.Status, first.Body)
	}
	first.Decode(t, &r1)
	again := cl.Send("POST", "/api/v1/refunds", o.token, body, "Idempotency-Key", "refund-1")
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay %d %s", again.Status, again.Body)
	}
	if r := cl.Send("POST", "/api/v1/refunds", o.token, body, "Idempotency-Key", "refund-2"); r.Status != 409 || r.ErrorCode() != "REFUND_ALREADY_OPEN" {
		t.Fatalf("a second application %d %s", r.Status, r.Body)
	}
	citizen := o.token
	type step struct {
		method, path string
		body         any
		allowed      []string // usernames; nil means every staff role
		status       int      // the allowed roles' answer
	}
	every := []string{"tax1", "si1", "mi1", "admin1", "auditor1"}
	rf := "/api/v1/staff/refunds/" + r1.RefundNo
	steps := []step{
		{"GET", "/api/v1/staff/me", nil, every, 200},
		{"GET", "/api/v1/staff/refunds", nil, []string{"tax1", "si1", "mi1"}, 200},
		{"GET", "/api/v1/staff/refunds?status=submitted", nil, []string{"tax1", "si1", "mi1"}, 200},
		{"GET", rf, nil, []string{"tax1"}, 200}, // reviewers see it once forwarded
		{"POST", rf + "/review", map[string]any{"approve": true}, []string{"si1"}, 409},
		{"POST", rf + "/accept", nil, []string{"tax1"}, 200},
		{"GET", rf, nil, []string{"tax1", "si1"}, 200},
		{"POST", rf + "/execute", nil, []string{"tax1"}, 409},
		{"POST", rf + "/payouts/" + r1.RefundNo + "-1C1/return-abnormal", nil, []string{"tax1"}, 404},
		{"POST", rf + "/review", map[string]any{"approve": true, "reason": "核实多缴"}, []string{"si1"}, 200},
		{"POST", rf + "/refuse", map[string]any{"reasons": []string{"x"}}, []string{"tax1"}, 409},
		{"POST", rf + "/execute", nil, []string{"tax1"}, 200},
		{"POST", rf + "/accept", nil, []string{"tax1"}, 409},
		{"GET", "/api/v1/staff/accounts", nil, []string{"admin1"}, 200},
		{"POST", "/api/v1/staff/accounts", map[string]string{"username": "tax9", "role": "tax_window"}, []string{"admin1"}, 201},
		{"GET", "/api/v1/staff/audit", nil, []string{"auditor1"}, 200},
		{"GET", "/api/v1/staff/audit?action=refund.accept&from=2026-01-01&to=2030-12-31", nil, []string{"auditor1"}, 200},
		{"GET", "/api/v1/staff/audit/export", nil, []string{"auditor1"}, 200},
	}
	var tax9 string
	run := func(s step) {
		t.Helper()
		allowed := map[string]bool{}
		for _, u := range s.allowed {
			allowed[u] = true
		}
		for _, tok := range []string{"", citizen, "stf_forged"} {
			if r := cl.Send(s.method, s.path, tok, s.body); r.Status != 401 || r.ErrorCode() != "UNAUTHENTICATED" {
				t.Errorf("%s %s with token %.8q: %d %s", s.method, s.path, tok, r.Status, r.Body)
			}
		}
		for _, u := range every {
			if allowed[u] {
				continue
			}
			if r := cl.Send(s.method, s.path, toks[u], s.body); r.Status != 403 || r.ErrorCode() != "FORBIDDEN" {
				t.Errorf("%s %s as %s: %d %s", s.method, s.path, u, r.Status, r.Body)
			}
		}
		for _, u := range s.allowed {
			r := cl.Send(s.method, s.path, toks[u], s.body)
			if r.Status != s.status {
				t.Errorf("%s %s as %s: %d %s, want %d", s.method, s.path, u, r.Status, r.Body, s.status)
			}
			if s.path == "/api/v1/staff/accounts" && s.method == "POST" {
				var c struct {
					Account struct {
						StaffID string `json:"staff_id"`
					} `json:"account"`
				}
				r.Decode(t, &c)
				tax9 = c.Account.StaffID
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: Cache-Control %q", s.method, s.path, r.Header.Get("Cache-Control"))
			}
		}
	}
	for _, s := range steps {
		run(s)
	}
	for _, s := range []step{
		{"POST", "/api/v1/staff/accounts/" + tax9 + "/reset", nil, []string{"admin1"}, 200},
		{"POST", "/api/v1/staff/accounts/" + tax9 + "/disable", nil, []string{"admin1"}, 200},
		{"POST", "/api/v1/staff/accounts/st_nope/disable", nil, []string{"admin1"}, 404},
	} {
		run(s)
	}
	// The anomaly queue: the tax window owns a payment's anomaly, the
	// scheme's reviewer a refund's, the auditor reads both; only the owner
	// resolves.
	payA, refundA := seedAnomalies(t, env, o.orderNo, r1.RefundNo)
	resolve := map[string]string{"resolution": "no_discrepancy", "reason": "已与渠道核实无差错"}
	readers := []string{"tax1", "si1", "mi1", "auditor1"}
	for _, s := range []step{
		{"GET", "/api/v1/staff/anomalies", nil, readers, 200},
		{"GET", "/api/v1/staff/anomalies?status=all&kind=missing_in_bill", nil, readers, 200},
		{"GET", "/api/v1/staff/anomalies/" + payA, nil, []string{"tax1", "auditor1"}, 200},
		{"GET", "/api/v1/staff/anomalies/" + refundA, nil, []string{"si1", "auditor1"}, 200},
		{"POST", "/api/v1/staff/anomalies/" + payA + "/resolve", resolve, []string{"tax1"}, 200},
		{"POST", "/api/v1/staff/anomalies/" + refundA + "/resolve", resolve, []string{"si1"}, 200},
		{"POST", "/api/v1/staff/anomalies/" + refundA + "/resolve", resolve, []string{"si1"}, 409},
	} {
		run(s)
	}
	// A unit's order waiting for the hall's POS: the tax window confirms.
	pos := unitPOSOrder(t, env)
	posPath := "/api/v1/staff/unit-payments/" + pos.OrderNo + "/pos-confirm"
	for _, s := range []step{
		{"POST", posPath, map[string]any{"pos_txn_id": "POS77", "paid_fen": int64(pos.AmountFen) + 1}, []string{"tax1"}, 422},
		{"POST", posPath, map[string]any{"pos_txn_id": "POS77", "paid_fen": int64(pos.AmountFen)}, []string{"tax1"}, 200},
	} {
		run(s)
	}
	// The application was paid back once.
	var got struct {
		Status      string `json:"status"`
		RefundedFen int64  `json:"refunded_fen"`
	}
	if st := cl.DoJSON("GET", "/api/v1/refunds/"+r1.RefundNo, o.token, nil, &got); st != 200 || got.Status != "refunded" || got.RefundedFen != 98140 {
		t.Fatalf("the applicant's view %d %+v", st, got)
	}
	// A staff token opens no citizen endpoint.
	for _, path := range []string{"/api/v1/me", "/api/v1/refunds", "/api/v1/refunds/" + r1.RefundNo, "/api/v1/me/messages", "/api/v1/records"} {
		if r := cl.Send("GET", path, toks["tax1"], nil); r.Status != 401 {
			t.Errorf("GET %s with a staff token: %d", path, r.Status)
		}
	}
	// Logging out ends each session.
	for _, u := range every {
		if r := cl.Send("DELETE", "/api/v1/staff/sessions/current", citizen, nil); r.Status != 401 {
			t.Fatalf("a citizen logging out a staff session: %d", r.Status)
		}
		if r := cl.Send("DELETE", "/api/v1/staff/sessions/current", toks[u], nil); r.Status != 204 {
			t.Fatalf("logout %s: %d", u, r.Status)
		}
		if r := cl.Send("GET", "/api/v1/staff/me", toks[u], nil); r.Status != 401 {
			t.Fatalf("%s after logout: %d", u, r.Status)
		}
	}
}

// TestTheApplicantFollowsARefusedApplicationOverHTTP walks the refusal path
// over HTTP with the contract checked, and looks for personal data in
// every refund answer, the applicant's and the hall's.
func TestTheApplicantFollowsARefusedApplicationOverHTTP(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	o := makeOwner(t, env, cl)
	toks := hallTokens(t, env, cl)
	me := servicetest.Person(t, "张三明")
	account := "6222020200112233445"
	var r struct {
		RefundNo string `json:"refund_no"`
	}
	if st := cl.DoJSON("POST", "/api/v1/refunds", o.token, map[string]any{"person": "self", "scheme": "flexible_pension", "order_no": o.orderNo,
		"refund_fen": 1000, "reason": "wrongly_collected", "reason_detail": "重复缴费",
		"bank_account": map[string]string{"bank_name": "工商银行", "account_name": me.Name, "account_no": account}}, &r); st != 201 {
		t.Fatalf("createRefund %d", st)
	}
	for _, bad := range []map[string]any{
		{"scheme": "flexible_pension", "order_no": o.orderNo, "refund_fen": 0, "reason": "overpaid"},
		{"scheme": "flexible_pension", "order_no": o.orderNo, "refund_fen": 1, "reason": "because"},
		{"scheme": "nope", "order_no": o.orderNo, "refund_fen": 1, "reason": "overpaid"},
		{"scheme": "flexible_pension", "refund_fen": 1, "reason": "overpaid"},
	} {
		if st, b := cl.Do("POST", "/api/v1/refunds", o.token, bad); st != 400 {
			t.Fatalf("%v: %d %s", bad, st, b)
		}
	}
	if st, b := cl.Do("POST", "/api/v1/staff/refunds/"+r.RefundNo+"/refuse", toks["tax1"], map[string]any{"reasons": []string{}}); st != 400 {
		t.Fatalf("refusing without reasons: %d %s", st, b)
	}
	reasons := []string{"银行账户资料缺少开户人签字", "《社会保险费退费申请表》未填写退费所属期"}
	if st, b := cl.Do("POST", "/api/v1/staff/refunds/"+r.RefundNo+"/refuse", toks["tax1"], map[string]any{"reasons": reasons}); st != 200 {
		t.Fatalf("refuse %d %s", st, b)
	}
	var view struct {
		Status     string   `json:"status"`
		HolderName string   `json:"holder_name"`
		Reasons    []string `json:"reasons"`
		Timeline   []struct {
			Status         string `json:"status"`
			DepartmentName string `json:"department_name"`
		} `json:"timeline"`
	}
	if st := cl.DoJSON("GET", "/api/v1/refunds/"+r.RefundNo, o.token, nil, &view); st != 200 || view.Status != "refused" ||
		len(view.Reasons) != 2 || view.HolderName != "已办结" || len(view.Timeline) != 2 || view.Timeline[1].DepartmentName != "税务" {
		t.Fatalf("applicant's view %d %+v", st, view)
	}
	var msgs struct {
		Items []struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		} `json:"items"`
	}
	if st := cl.DoJSON("GET", "/api/v1/me/messages?page_size=1", o.token, nil, &msgs); st != 200 || len(msgs.Items) != 1 ||
		!strings.Contains(msgs.Items[0].Body, reasons[0]) || !strings.Contains(msgs.Items[0].Body, reasons[1]) {
		t.Fatalf("messages %d %+v", st, msgs)
	}
	// Strangers see nothing of it.
	stranger := servicetest.Person(t, "赵海峰")
	stok := loginAs(t, cl, "stranger", stranger.Name, stranger.IDNumber)
	if st, _ := cl.Do("GET", "/api/v1/refunds/"+r.RefundNo, stok, nil); st != 404 {
		t.Fatalf("a stranger reading the application: %d", st)
	}
	var list struct{ Items []any }
	if cl.DoJSON("GET", "/api/v1/refunds", stok, nil, &list); len(list.Items) != 0 {
		t.Fatalf("a stranger's list shows %d", len(list.Items))
	}
	// No answer carries the person's name, ID number or account in clear.
	for _, c := range []struct{ path, tok string }{
		{"/api/v1/refunds", o.token}, {"/api/v1/refunds/" + r.RefundNo, o.token}, {"/api/v1/me/messages", o.token},
		{"/api/v1/staff/refunds", toks["tax1"]}, {"/api/v1/staff/refunds/" + r.RefundNo, toks["tax1"]},
		{"/api/v1/staff/audit", toks["auditor1"]}, {"/api/v1/staff/audit/export", toks["auditor1"]},
	} {
		_, b := cl.Do("GET", c.path, c.tok, nil)
		for _, secret := range []string{me.Name, me.IDNumber, account} {
			if bytes.Contains(b, []byte(secret)) {
				t.Fatalf("GET %s reveals %s", c.path, models.MaskIDNumber(secret))
			}
		}
	}
	// The hall's reads were audited, with where they came from.
	res := cl.Send("GET", "/api/v1/staff/audit/export?action=refund.read", toks["auditor1"], nil)
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export %d %s", res.Status, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][3] != "tax1" || rows[1][7] != r.RefundNo || rows[1][10] == "" || rows[1][12] == "" {
		t.Fatalf("export rows %q %v", rows, err)
	}
}

func TestAStaffAccountLocksAfterFiveFailedLoginsOverHTTP(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	if err := env.Svc.SeedStaffAccount(context.Background(), "tax1", models.RoleTaxWindow, hallPassword, hallTOTP); err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(hallTOTP, env.Clock.Now())
	for i := 0; i < 4; i++ {
		if r := cl.Send("POST", "/api/v1/staff/sessions", "", map[string]string{"username": "tax1", "password": "guess", "totp": code}); r.Status != 401 || r.ErrorCode() != "STAFF_LOGIN_FAILED" {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := cl.Send("POST", "/api/v1/staff/sessions", "", map[string]string{"username": "tax1", "password": "guess", "totp": code}); r.Status != http.StatusTooManyRequests || r.ErrorCode() != "STAFF_LOCKED" {
		t.Fatalf("fifth attempt: %d %s", r.Status, r.Body)
	}
	if r := cl.Send("POST", "/api/v1/staff/sessions", "", map[string]string{"username": "tax1", "password": hallPassword, "totp": code}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right credentials while locked: %d %s", r.Status, r.Body)
	}
	if r := cl.Send("POST", "/api/v1/staff/sessions", "", "{"); r.Status != 400 {
		t.Fatalf("a broken body: %d", r.Status)
	}
}

// TestAPasswordChangeWithTheLoginsCodeIsNotAFailedAttempt: changing the
// password within the 30 seconds of the login, with the code the login
// used, is refused with a reason and not counted; six such tries leave the
// account unlocked, and the next code changes it. A wrong password is
// still counted, whatever the code.
func TestAPasswordChangeWithTheLoginsCodeIsNotAFailedAttempt(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	tok := hallTokens(t, env, cl)["tax1"]
	used, _ := totp.GenerateCode(hallTOTP, env.Clock.Now()) // the login's
	const newPassword = "a-much-longer-passphrase"
	change := func(password, code string) *apitest.Response {
		return cl.Send("POST", "/api/v1/staff/me/password", tok, map[string]string{"current_password": password, "totp": code, "new_password": newPassword})
	}
	for i := 0; i < 6; i++ {
		r := change(hallPassword, used)
		if r.Status != 422 || r.ErrorCode() != "STAFF_CREDENTIALS_INVALID" || !strings.Contains(string(r.Body), "已经用过") {
			t.Fatalf("try %d with the login's code: %d %s", i, r.Status, r.Body)
		}
	}
	if n := servicetest.Count(t, env.DB, "staff_accounts", "username = ? AND failed_count = 0 AND locked_until IS NULL", "tax1"); n != 1 {
		t.Fatal("a used code was counted as a failed attempt")
	}
	if n := servicetest.Count(t, env.DB, "audit_log", "action = ? AND outcome = ?", "staff.password", "denied"); n != 6 {
		t.Fatalf("%d refusals audited, want 6", n)
	}
	if r := change("wrong", used); r.Status != 422 || strings.Contains(string(r.Body), "已经用过") {
		t.Fatalf("a wrong password with a used code: %d %s", r.Status, r.Body)
	}
	if n := servicetest.Count(t, env.DB, "staff_accounts", "username = ? AND failed_count = 1", "tax1"); n != 1 {
		t.Fatal("a wrong password was not counted")
	}
	env.Clock.Advance(30 * time.Second)
	next, _ := totp.GenerateCode(hallTOTP, env.Clock.Now())
	if r := change(hallPassword, next); r.Status != 204 {
		t.Fatalf("the next code: %d %s", r.Status, r.Body)
	}
}

// TestAStaffMemberChangesTheirOwnPassword: the current password and a
// fresh TOTP code are required, a wrong answer is a refusal (not a dead
// session), and afterwards every session is over and only the new password
// works.
func TestAStaffMemberChangesTheirOwnPassword(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	toks := hallTokens(t, env, cl)
	tok := toks["tax1"]
	env.Clock.Advance(30 * time.Second) // the login spent this step's code
	code, _ := totp.GenerateCode(hallTOTP, env.Clock.Now())
	const newPassword = "a-much-longer-passphrase"
	change := func(tok string, body map[string]string) *apitest.Response {
		return cl.Send("POST", "/api/v1/staff/me/password", tok, body)
	}
	if r := change(tok, map[string]string{"current_password": "wrong", "totp": code, "new_password": newPassword}); r.Status != 422 || r.ErrorCode() != "STAFF_CREDENTIALS_INVALID" {
		t.Fatalf("wrong current password: %d %s", r.Status, r.Body)
	}
	if r := change(tok, map[string]string{"current_password": hallPassword, "totp": code, "new_password": "short"}); r.Status != 400 {
		t.Fatalf("a short new password: %d %s", r.Status, r.Body)
	}
	citizen := loginAs(t, cl, "citizen", servicetest.Person(t, "张三明").Name, servicetest.Person(t, "张三明").IDNumber)
	if r := change(citizen, map[string]string{"current_password": hallPassword, "totp": code, "new_password": newPassword}); r.Status != 401 {
		t.Fatalf("a citizen token: %d %s", r.Status, r.Body)
	}
	if r := change(tok, map[string]string{"current_password": hallPassword, "totp": code, "new_password": newPassword}); r.Status != 204 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	if r := cl.Send("GET", "/api/v1/staff/me", tok, nil); r.Status != 401 {
		t.Fatalf("the old session lives on: %d", r.Status)
	}
	if r := cl.Send("GET", "/api/v1/staff/me", toks["si1"], nil); r.Status != 200 {
		t.Fatalf("another account's session ended: %d", r.Status)
	}
	env.Clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(hallTOTP, env.Clock.Now())
	if r := cl.Send("POST", "/api/v1/staff/sessions", "", map[string]string{"username": "tax1", "password": hallPassword, "totp": code}); r.Status != 401 {
		t.Fatalf("the old password still works: %d", r.Status)
	}
	if r := cl.Send("POST", "/api/v1/staff/sessions", "", map[string]string{"username": "tax1", "password": newPassword, "totp": code}); r.Status != 201 {
		t.Fatalf("the new password: %d %s", r.Status, r.Body)
	}
}
