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
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// owner is a user with one of everything: a family member, a grant, an
// enrolment, a declaration, a paid order and records.
type owner struct {
	token, memberID, grantID, payableID, declarationID, orderNo, personIDNumber string
}

// withPaperwork gives the owner a certificate and a refund application.
func withPaperwork(t *testing.T, cl *apitest.Client, o owner) (certNo, refundNo string) {
	t.Helper()
	var c struct {
		CertificateNo string `json:"certificate_no"`
	}
	if st := cl.DoJSON("POST", "/api/v1/certificates", o.token, map[string]string{"kind": "payment_voucher", "order_no": o.orderNo}, &c); st != 201 {
		t.Fatalf("issue certificate %d", st)
	}
	var r struct {
		RefundNo string `json:"refund_no"`
	}
	body := map[string]any{"scheme": "flexible_pension", "periods": []string{"202611"}, "refund_fen": 98140, "reason": "overpaid",
		"attachments": []map[string]string{{"kind": "refund_form", "name": "申请表.jpg"}}}
	if st := cl.DoJSON("POST", "/api/v1/refunds", o.token, body, &r); st != 201 {
		t.Fatalf("create refund %d", st)
	}
	return c.CertificateNo, r.RefundNo
}

func newHTTPEnv(t *testing.T) (*servicetest.Env, *apitest.Client, *handlers.Server) {
	t.Helper()
	db := storetest.Targets()[0].Open(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL})
	s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	h = s
	return env, apitest.Load(t).ServerClient(t, srv.URL, srv.Client()), s
}

func loginAs(t *testing.T, cl *apitest.Client, subject, name, idNumber string) string {
	t.Helper()
	var res struct{ Token string }
	if st := cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": subject}, &res); st != 201 {
		t.Fatalf("login %d", st)
	}
	if st, b := cl.Do("POST", "/api/v1/me/identity", res.Token, map[string]string{"name": name, "id_number": idNumber}); st != 200 {
		t.Fatalf("identity %d %s", st, b)
	}
	return res.Token
}

func makeOwner(t *testing.T, env *servicetest.Env, cl *apitest.Client) owner {
	t.Helper()
	me := servicetest.Person(t, "张三明")
	mom := servicetest.Person(t, "李秀英")
	o := owner{personIDNumber: me.IDNumber}
	o.token = loginAs(t, cl, "owner", me.Name, me.IDNumber)
	var m struct {
		MemberID string `json:"member_id"`
	}
	cl.DoJSON("POST", "/api/v1/me/family", o.token, map[string]string{"name": mom.Name, "id_number": mom.IDNumber, "relation": "parent"}, &m)
	o.memberID = m.MemberID
	var g struct {
		GrantID string `json:"grant_id"`
	}
	cl.DoJSON("POST", "/api/v1/me/grants", o.token, map[string]string{"grantee_id_number": mom.IDNumber}, &g)
	o.grantID = g.GrantID
	cl.Do("POST", "/api/v1/enrolments", o.token, map[string]string{"scheme": "flexible_pension", "region_code": "150100"})
	cl.Do("POST", "/api/v1/enrolments", o.token, map[string]string{"person": o.memberID, "scheme": "resident_medical", "region_code": "150100"})
	var pb struct {
		Items []struct {
			PayableID string `json:"payable_id"`
		}
	}
	cl.DoJSON("POST", "/api/v1/payables/query", o.token, map[string]string{"person": "self"}, &pb)
	o.payableID = pb.Items[0].PayableID
	var d struct {
		DeclarationID string `json:"declaration_id"`
	}
	cl.DoJSON("POST", "/api/v1/declarations", o.token, map[string]string{"payable_id": o.payableID, "option_code": "grade_60"}, &d)
	o.declarationID = d.DeclarationID
	var p struct {
		OrderNo string `json:"order_no"`
	}
	cl.DoJSON("POST", "/api/v1/payments", o.token, map[string]string{"declaration_id": o.declarationID, "channel": "sandbox"}, &p)
	o.orderNo = p.OrderNo
	if st, b := cl.Do("POST", "/sandbox/pay/"+o.orderNo, "", map[string]string{"result": "success"}); st != 200 {
		t.Fatalf("pay %d %s", st, b)
	}
	env.Clock.Advance(10 * time.Second)
	env.Svc.WorkOnce(context.Background())
	return o
}

// TestAStrangerCannotReachAnotherUsersObjects walks every endpoint that
// names a person or an object with another user's ids (OWASP API1): each
// must answer 403 or 404 and reveal nothing.
func TestAStrangerCannotReachAnotherUsersObjects(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	o := makeOwner(t, env, cl)
	certNo, refundNo := withPaperwork(t, cl, o)
	stranger := servicetest.Person(t, "赵海峰")
	tok := loginAs(t, cl, "stranger", stranger.Name, stranger.IDNumber)
	unit, unitOrder, agreementID := unitWithVoucherOrder(t, env)
	ub := "/api/v1/units/" + unit.UnitID

	cases := []struct {
		name, method, path string
		body               any
	}{
		{"list the owner's member's enrolments", "GET", "/api/v1/enrolments?person=" + o.memberID, nil},
		{"enrol the owner's member", "POST", "/api/v1/enrolments", map[string]string{"person": o.memberID, "scheme": "resident_pension", "region_code": "150100"}},
		{"query the owner's member's payables", "POST", "/api/v1/payables/query", map[string]string{"person": o.memberID}},
		{"declare the owner's payable", "POST", "/api/v1/declarations", map[string]string{"payable_id": o.payableID, "option_code": "grade_60"}},
		{"read the owner's declaration", "GET", "/api/v1/declarations/" + o.declarationID, nil},
		{"pay the owner's declaration", "POST", "/api/v1/payments", map[string]string{"declaration_id": o.declarationID, "channel": "sandbox"}},
		{"read the owner's order", "GET", "/api/v1/payments/" + o.orderNo, nil},
		{"list the orders made for the owner's member", "GET", "/api/v1/payments?person=" + o.memberID, nil},
		{"read the owner's member's records", "GET", "/api/v1/records?person=" + o.memberID, nil},
		{"remove the owner's family member", "DELETE", "/api/v1/me/family/" + o.memberID, nil},
		{"revoke the owner's grant", "DELETE", "/api/v1/me/grants/" + o.grantID, nil},
		{"issue a voucher for the owner's order", "POST", "/api/v1/certificates", map[string]string{"kind": "payment_voucher", "order_no": o.orderNo}},
		{"issue a proof for the owner's member", "POST", "/api/v1/certificates", map[string]string{"kind": "contribution_proof", "person": o.memberID,
			"scheme": "resident_medical", "period_from": "202701", "period_to": "202712"}},
		{"re-issue the owner's certificate", "POST", "/api/v1/certificates", map[string]string{"kind": "payment_voucher", "reissue_of": certNo}},
		{"download the owner's certificate", "GET", "/api/v1/certificates/" + certNo + "/pdf", nil},
		{"read the owner's refund", "GET", "/api/v1/refunds/" + refundNo, nil},
		{"apply for a refund of the owner's member", "POST", "/api/v1/refunds", map[string]any{"person": o.memberID, "scheme": "resident_medical",
			"periods": []string{"202701"}, "refund_fen": 100, "reason": "overpaid"}},
		{"withdraw the owner's refund", "POST", "/api/v1/refunds/" + refundNo + "/withdraw", nil},
		{"list the owner's member's guardians", "GET", "/api/v1/me/family/" + o.memberID + "/guardians", nil},
		{"consent a guardian for the owner's member", "POST", "/api/v1/me/family/" + o.memberID + "/guardians",
			map[string]string{"guardian_id_number": stranger.IDNumber}},
		{"end a guardianship of the owner's member", "DELETE", "/api/v1/me/family/" + o.memberID + "/guardians/gd_nope", nil},
		// Issue 11: a unit's payments (the stranger is one of its employees, not a member).
		{"add an agreement to the unit", "POST", ub + "/agreements", map[string]string{"bank_code": "ICBC", "account_name": unit.Unit.Name, "account_no": unit.AccountNo}},
		{"list the unit's agreements", "GET", ub + "/agreements", nil},
		{"pay the unit's declaration", "POST", ub + "/payments", map[string]string{"declaration_id": unit.Decl.ID, "method": "tripartite", "agreement_id": agreementID}},
		{"list the unit's payments", "GET", ub + "/payments", nil},
		{"read the unit's payment", "GET", ub + "/payments/" + unitOrder, nil},
		{"download the unit's voucher", "GET", ub + "/payments/" + unitOrder + "/voucher.pdf", nil},
	}
	cases = append(cases, strangerUnitCertificateCases(certUnitID, unitCertificateOf(t, env.DB, cl, "owner", o.token))...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cl.Send(tc.method, tc.path, tok, tc.body)
			if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Fatalf("%s %s as a stranger: %d %s", tc.method, tc.path, r.Status, r.Body)
			}
		})
	}
	// Lists show the stranger only their own things.
	for _, path := range []string{"/api/v1/payments", "/api/v1/me/family", "/api/v1/me/grants", "/api/v1/records", "/api/v1/enrolments",
		"/api/v1/certificates", "/api/v1/refunds", "/api/v1/me/messages"} {
		r := cl.Send("GET", path, tok, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d", path, r.Status)
		}
		var list struct{ Items []any }
		r.Decode(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("GET %s shows a stranger %d items: %s", path, len(list.Items), r.Body)
		}
	}
	// The owner's objects are intact.
	if st, _ := cl.Do("GET", "/api/v1/payments/"+o.orderNo, o.token, nil); st != 200 {
		t.Fatalf("owner lost their order: %d", st)
	}
	var fam struct{ Items []any }
	cl.DoJSON("GET", "/api/v1/me/family", o.token, nil, &fam)
	if len(fam.Items) != 1 {
		t.Fatalf("owner's family changed: %v", fam.Items)
	}
}

// TestResponsesNeverCarryFullPersonalData checks the journey's
// responses for the owner's full ID number and name.
func TestResponsesNeverCarryFullPersonalData(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	o := makeOwner(t, env, cl)
	me := servicetest.Person(t, "张三明")
	for _, path := range []string{"/api/v1/me", "/api/v1/me/family", "/api/v1/enrolments", "/api/v1/payments", "/api/v1/payments/" + o.orderNo,
		"/api/v1/records", "/api/v1/declarations/" + o.declarationID, "/api/v1/me/grants"} {
		_, body := cl.Do("GET", path, o.token, nil)
		for _, secret := range []string{me.IDNumber, me.Name, servicetest.Person(t, "李秀英").IDNumber, "13800138000"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Fatalf("GET %s reveals %s: %s", path, models.MaskIDNumber(secret), body)
			}
		}
	}
}

// TestAStrangerCannotReachAUnitsRefundsOrFiles walks every unit refund and
// upload route with a stranger's token and with the token of another
// unit's legal representative: each must answer 404 and reveal nothing.
func TestAStrangerCannotReachAUnitsRefundsOrFiles(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	r := newUnitRig(t, env, cl)
	var up struct {
		UploadID string `json:"upload_id"`
	}
	uploadHTTP(t, cl, r.rep, "permit.png", "image/png", pngFile, r.pu.Unit.ID).Decode(t, &up)
	path := "/api/v1/units/" + r.pu.Unit.ID + "/refunds"
	body := map[string]any{"order_no": r.pu.OrderNo, "scheme": "enterprise_pension", "refund_fen": 100, "reason": "overpaid",
		"bank_account": r.pu.UnitAccount(), "attachments": []string{up.UploadID}}
	var ref struct {
		RefundNo string `json:"refund_no"`
	}
	if st := cl.DoJSON("POST", path, r.rep, body, &ref); st != 201 {
		t.Fatalf("create %d", st)
	}
	for _, tok := range []string{r.strange, r.otherRep} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", path, body},
			{"GET", path, nil},
			{"GET", "/api/v1/refunds/" + ref.RefundNo, nil},
			{"POST", "/api/v1/refunds/" + ref.RefundNo + "/withdraw", nil},
		} {
			if res := cl.Send(c.method, c.path, tok, c.body); res.Status != 404 || bytes.Contains(res.Body, []byte(r.pu.Unit.Name)) {
				t.Fatalf("%s %s as an outsider: %d %s", c.method, c.path, res.Status, res.Body)
			}
		}
		if res := uploadHTTP(t, cl, tok, "a.png", "image/png", pngFile, r.pu.Unit.ID); res.Status != 404 {
			t.Fatalf("upload for the unit as an outsider: %d %s", res.Status, res.Body)
		}
		var list struct{ Items []any }
		cl.DoJSON("GET", "/api/v1/refunds", tok, nil, &list)
		if len(list.Items) != 0 {
			t.Fatalf("an outsider's refund list shows %d", len(list.Items))
		}
	}
}

// TestPaymentsListedForOnePerson: listPayments with person lists only the
// orders the caller made for that person (the refund form's list for a
// parent), self included; the unfiltered list has them all.
func TestPaymentsListedForOnePerson(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	o := makeOwner(t, env, cl)
	momOrder, _ := payHTTP(t, env, cl, o.token, o.memberID)
	orders := func(query string) []string {
		t.Helper()
		var list struct {
			Items []struct {
				OrderNo string `json:"order_no"`
			}
		}
		if st := cl.DoJSON("GET", "/api/v1/payments"+query, o.token, nil, &list); st != 200 {
			t.Fatalf("GET /api/v1/payments%s: %d", query, st)
		}
		var out []string
		for _, it := range list.Items {
			out = append(out, it.OrderNo)
		}
		return out
	}
	if got := orders("?person=" + o.memberID); len(got) != 1 || got[0] != momOrder {
		t.Fatalf("the mother's orders: %v, want [%s]", got, momOrder)
	}
	if got := orders("?person=self"); len(got) != 1 || got[0] != o.orderNo {
		t.Fatalf("his own orders: %v, want [%s]", got, o.orderNo)
	}
	if got := orders(""); len(got) != 2 {
		t.Fatalf("all his orders: %v", got)
	}
	if st, _ := cl.Do("GET", "/api/v1/payments?person=m_nope", o.token, nil); st != http.StatusNotFound {
		t.Fatalf("a member who is nobody's: %d", st)
	}
}
