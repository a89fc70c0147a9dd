package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
)

// payHTTP declares and pays the first payable of a person (self, a member
// id or an inline name and ID number) through the sandbox, lets the
// treasury credit it and returns the order number and declaration id.
func payHTTP(t *testing.T, env *servicetest.Env, cl *apitest.Client, tok string, person any) (orderNo, declarationID string) {
	t.Helper()
	var pb struct {
		Items []struct {
			PayableID string `json:"payable_id"`
			Options   []struct {
				Code string `json:"code"`
			} `json:"options"`
		}
	}
	if st := cl.DoJSON("POST", "/api/v1/payables/query", tok, map[string]any{"person": person}, &pb); st != 200 || len(pb.Items) == 0 {
		t.Fatalf("payables %d %+v", st, pb)
	}
	var d struct {
		DeclarationID string `json:"declaration_id"`
	}
	if st := cl.DoJSON("POST", "/api/v1/declarations", tok, map[string]string{"payable_id": pb.Items[0].PayableID,
		"option_code": pb.Items[0].Options[0].Code}, &d); st != 201 {
		t.Fatalf("declare %d", st)
	}
	var p struct {
		OrderNo string `json:"order_no"`
	}
	if st := cl.DoJSON("POST", "/api/v1/payments", tok, map[string]string{"declaration_id": d.DeclarationID, "channel": "sandbox"}, &p); st != 201 {
		t.Fatalf("pay %d", st)
	}
	if st, b := cl.Do("POST", "/sandbox/pay/"+p.OrderNo, "", map[string]string{"result": "success"}); st != 200 {
		t.Fatalf("sandbox pay %d %s", st, b)
	}
	env.Clock.Advance(10 * time.Second)
	env.Svc.WorkOnce(context.Background())
	return p.OrderNo, d.DeclarationID
}

type walkCase struct {
	name, method, path string
	body               any
	want               []int
}

// walk sends every case as tok and checks the status and that the answer
// reveals none of secrets.
func walk(t *testing.T, cl *apitest.Client, tok string, cases []walkCase, secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cl.Send(tc.method, tc.path, tok, tc.body)
			ok := false
			for _, w := range tc.want {
				ok = ok || r.Status == w
			}
			if !ok {
				t.Fatalf("%s %s: %d %s (want %v)", tc.method, tc.path, r.Status, r.Body, tc.want)
			}
			for _, s := range secrets {
				if s != "" && bytes.Contains(r.Body, []byte(s)) {
					t.Fatalf("%s %s reveals %s: %s", tc.method, tc.path, s, r.Body)
				}
			}
		})
	}
}

var hidden = []int{http.StatusForbidden, http.StatusNotFound}

// TestAPayOnlyLinkSeesOnlyWhatPayingNeeds walks every object-naming
// endpoint as a user with pay-only links to the owner and the owner's
// mother: they may see open periods and amounts and pay, nothing else.
func TestAPayOnlyLinkSeesOnlyWhatPayingNeeds(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	o := makeOwner(t, env, cl)
	certNo, refundNo := withPaperwork(t, cl, o)
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	stranger := servicetest.Person(t, "赵海峰")
	tok := loginAs(t, cl, "payonly", stranger.Name, stranger.IDNumber)
	var ownerLink, momLink struct {
		MemberID      string `json:"member_id"`
		RecordsAccess string `json:"records_access"`
	}
	if st := cl.DoJSON("POST", "/api/v1/me/family", tok, map[string]string{"name": me.Name, "id_number": me.IDNumber, "relation": "other"}, &ownerLink); st != 201 || ownerLink.RecordsAccess != "none" {
		t.Fatalf("pay-only link to the owner: %d %+v", st, ownerLink)
	}
	if st := cl.DoJSON("POST", "/api/v1/me/family", tok, map[string]string{"name": mom.Name, "id_number": mom.IDNumber, "relation": "parent"}, &momLink); st != 201 || momLink.RecordsAccess != "none" {
		t.Fatalf("pay-only link to the mother: %d %+v", st, momLink)
	}
	var en struct {
		Items []struct {
			ReceiptNo string `json:"receipt_no"`
		}
	}
	cl.DoJSON("GET", "/api/v1/enrolments", o.token, nil, &en)
	receipt := en.Items[0].ReceiptNo
	secrets := []string{o.orderNo, o.declarationID, refundNo, certNo, receipt, me.IDNumber, mom.IDNumber}

	walk(t, cl, tok, []walkCase{
		// What paying needs.
		{"the owner's enrolments, without receipt or date", "GET", "/api/v1/enrolments?person=" + ownerLink.MemberID, nil, []int{200}},
		{"the mother's enrolments, without receipt or date", "GET", "/api/v1/enrolments?person=" + momLink.MemberID, nil, []int{200}},
		{"the owner's payables", "POST", "/api/v1/payables/query", map[string]string{"person": ownerLink.MemberID}, []int{200}},
		{"the mother's payables", "POST", "/api/v1/payables/query", map[string]string{"person": momLink.MemberID}, []int{200}},
		// What it does not.
		{"the owner's records", "GET", "/api/v1/records?person=" + ownerLink.MemberID, nil, hidden},
		{"the owner's declaration", "GET", "/api/v1/declarations/" + o.declarationID, nil, hidden},
		{"pay the owner's declaration", "POST", "/api/v1/payments", map[string]string{"declaration_id": o.declarationID, "channel": "sandbox"}, hidden},
		{"the owner's order", "GET", "/api/v1/payments/" + o.orderNo, nil, hidden},
		{"a voucher for the owner's order", "POST", "/api/v1/certificates", map[string]string{"kind": "payment_voucher", "order_no": o.orderNo}, hidden},
		{"a proof for the owner", "POST", "/api/v1/certificates", map[string]string{"kind": "contribution_proof", "person": ownerLink.MemberID,
			"scheme": "flexible_pension", "period_from": "202611", "period_to": "202612"}, hidden},
		{"the owner's certificate", "GET", "/api/v1/certificates/" + certNo + "/pdf", nil, hidden},
		{"the owner's refund", "GET", "/api/v1/refunds/" + refundNo, nil, hidden},
		{"withdraw the owner's refund", "POST", "/api/v1/refunds/" + refundNo + "/withdraw", nil, hidden},
		// Only what this caller paid, which is nothing: 200, no orders.
		{"what may be asked back of the owner's money", "GET", "/api/v1/refunds/refundable?person=" + ownerLink.MemberID, nil, []int{200}},
		{"refund the owner's payment", "POST", "/api/v1/refunds", map[string]any{"person": ownerLink.MemberID, "scheme": "flexible_pension",
			"periods": []string{"202611"}, "refund_fen": 100, "reason": "overpaid"}, hidden},
		{"refund the owner's payment to the stranger's account", "POST", "/api/v1/refunds", map[string]any{"person": ownerLink.MemberID,
			"scheme": "flexible_pension", "order_no": o.orderNo, "refund_fen": 100, "reason": "overpaid",
			"bank_account": map[string]string{"bank_name": "中国银行", "account_name": stranger.Name, "account_no": "6216610200004444444"}}, hidden},
		{"the owner's guardians", "GET", "/api/v1/me/family/" + ownerLink.MemberID + "/guardians", nil, hidden},
		{"consent for the owner", "POST", "/api/v1/me/family/" + ownerLink.MemberID + "/guardians", map[string]string{"guardian_id_number": stranger.IDNumber}, hidden},
	}, secrets...)

	for _, path := range []string{"/api/v1/payments", "/api/v1/records", "/api/v1/certificates", "/api/v1/refunds", "/api/v1/me/messages",
		"/api/v1/refunds/refundable?person=" + ownerLink.MemberID, "/api/v1/refunds/refundable?person=" + momLink.MemberID} {
		r := cl.Send("GET", path, tok, nil)
		var list struct{ Items []any }
		r.Decode(t, &list)
		if r.Status != 200 || len(list.Items) != 0 {
			t.Fatalf("GET %s shows a pay-only link %d items: %s", path, len(list.Items), r.Body)
		}
	}
	// The owner's own list names the order, waiting for the application
	// the paperwork filed.
	var own struct {
		Items []struct {
			OrderNo string `json:"order_no"`
			State   string `json:"state"`
		}
	}
	if st := cl.DoJSON("GET", "/api/v1/refunds/refundable", o.token, nil, &own); st != 200 || len(own.Items) != 1 ||
		own.Items[0].OrderNo != o.orderNo || own.Items[0].State != "open_application" {
		t.Fatalf("the owner's refundable orders: %d %+v", st, own)
	}
	var fam struct {
		Items []struct {
			RecordsAccess     string `json:"records_access"`
			RecordsAccessNote string `json:"records_access_note"`
		}
	}
	cl.DoJSON("GET", "/api/v1/me/family", tok, nil, &fam)
	for _, m := range fam.Items {
		if m.RecordsAccess != "none" || m.RecordsAccessNote == "" {
			t.Fatalf("family %+v", fam.Items)
		}
	}
}

// TestAClaimedGuardianGetsAPayOnlyLink is the trial run over HTTP: a
// stranger with the child's name and ID number claims `relation: child`,
// gets a pay-only link, and reaches none of the child's records nor the
// parent's payment, refund or guardianship.
func TestAClaimedGuardianGetsAPayOnlyLink(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	zhang, kid, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "赵海峰")
	ptok := loginAs(t, cl, "parent", zhang.Name, zhang.IDNumber)
	var pm struct {
		MemberID      string `json:"member_id"`
		RecordsAccess string `json:"records_access"`
		Guardianship  string `json:"guardianship"`
	}
	if st := cl.DoJSON("POST", "/api/v1/me/family", ptok, map[string]string{"name": kid.Name, "id_number": kid.IDNumber, "relation": "child"}, &pm); st != 201 ||
		pm.RecordsAccess != "guardian" || pm.Guardianship != "registry" {
		t.Fatalf("the registered father: %d %+v", st, pm)
	}
	if st, b := cl.Do("POST", "/api/v1/enrolments", ptok, map[string]string{"person": pm.MemberID, "scheme": "resident_medical", "region_code": "150100"}); st != 201 {
		t.Fatalf("enrol %d %s", st, b)
	}
	orderNo, declID := payHTTP(t, env, cl, ptok, pm.MemberID)
	var pr struct {
		RefundNo      string `json:"refund_no"`
		ApplicantRole string `json:"applicant_role"`
	}
	if st := cl.DoJSON("POST", "/api/v1/refunds", ptok, map[string]any{"person": pm.MemberID, "scheme": "resident_medical",
		"order_no": orderNo, "refund_fen": 100, "reason": "overpaid"}, &pr); st != 201 || pr.ApplicantRole != "guardian" {
		t.Fatalf("the father's application %d %+v", st, pr)
	}

	tok := loginAs(t, cl, "claimer", zhao.Name, zhao.IDNumber)
	var sm struct {
		MemberID          string `json:"member_id"`
		RecordsAccess     string `json:"records_access"`
		Guardianship      string `json:"guardianship"`
		RecordsAccessNote string `json:"records_access_note"`
	}
	if st := cl.DoJSON("POST", "/api/v1/me/family", tok, map[string]string{"name": kid.Name, "id_number": kid.IDNumber, "relation": "child"}, &sm); st != 201 ||
		sm.RecordsAccess != "none" || sm.Guardianship != "unproven" || sm.RecordsAccessNote == "" {
		t.Fatalf("a claimed child: %d %+v", st, sm)
	}
	walk(t, cl, tok, []walkCase{
		{"the child's enrolments, without receipt or date", "GET", "/api/v1/enrolments?person=" + sm.MemberID, nil, []int{200}},
		{"the child's payables", "POST", "/api/v1/payables/query", map[string]string{"person": sm.MemberID}, []int{200}},
		{"the child's records", "GET", "/api/v1/records?person=" + sm.MemberID, nil, hidden},
		{"a proof for the child", "POST", "/api/v1/certificates", map[string]string{"kind": "contribution_proof", "person": sm.MemberID,
			"scheme": "resident_medical", "period_from": "202701", "period_to": "202712"}, hidden},
		{"a voucher for the parent's order", "POST", "/api/v1/certificates", map[string]string{"kind": "payment_voucher", "order_no": orderNo}, hidden},
		{"the parent's declaration", "GET", "/api/v1/declarations/" + declID, nil, hidden},
		{"the parent's order", "GET", "/api/v1/payments/" + orderNo, nil, hidden},
		{"the parent's refund", "GET", "/api/v1/refunds/" + pr.RefundNo, nil, hidden},
		{"withdraw the parent's refund", "POST", "/api/v1/refunds/" + pr.RefundNo + "/withdraw", nil, hidden},
		{"refund the parent's payment", "POST", "/api/v1/refunds", map[string]any{"person": sm.MemberID, "scheme": "resident_medical",
			"order_no": orderNo, "refund_fen": 100, "reason": "overpaid"}, hidden},
		{"refund the parent's payment to the child's account", "POST", "/api/v1/refunds", map[string]any{"person": sm.MemberID,
			"scheme": "resident_medical", "periods": []string{"202701"}, "refund_fen": 100, "reason": "overpaid",
			"bank_account": map[string]string{"bank_name": "中国银行", "account_name": kid.Name, "account_no": "6216610200005555555"}}, hidden},
		{"the child's guardians", "GET", "/api/v1/me/family/" + sm.MemberID + "/guardians", nil, hidden},
		{"consent for the child", "POST", "/api/v1/me/family/" + sm.MemberID + "/guardians", map[string]string{"guardian_id_number": zhao.IDNumber}, hidden},
	}, orderNo, declID, pr.RefundNo, kid.IDNumber, zhang.IDNumber)
	for _, path := range []string{"/api/v1/refunds", "/api/v1/certificates", "/api/v1/me/messages", "/api/v1/payments"} {
		r := cl.Send("GET", path, tok, nil)
		var list struct{ Items []any }
		r.Decode(t, &list)
		if r.Status != 200 || len(list.Items) != 0 {
			t.Fatalf("GET %s shows a claimed guardian %d items: %s", path, len(list.Items), r.Body)
		}
	}
	// The parent's application is untouched.
	var v struct {
		Status string `json:"status"`
	}
	if st := cl.DoJSON("GET", "/api/v1/refunds/"+pr.RefundNo, ptok, nil, &v); st != 200 || v.Status != "submitted" {
		t.Fatalf("the father's application: %d %+v", st, v)
	}
}

// TestTheParentSeesAndWithdrawsAPayerLinkHoldersApplication: someone who
// paid for the child by name and ID number asks that money back; the
// parent sees it, is told, withdraws it and applies themselves; the payer
// cannot withdraw the parent's.
func TestTheParentSeesAndWithdrawsAPayerLinkHoldersApplication(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	zhang, kid, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "赵海峰")
	ptok := loginAs(t, cl, "parent", zhang.Name, zhang.IDNumber)
	var pm struct {
		MemberID string `json:"member_id"`
	}
	cl.DoJSON("POST", "/api/v1/me/family", ptok, map[string]string{"name": kid.Name, "id_number": kid.IDNumber, "relation": "child"}, &pm)
	if st, b := cl.Do("POST", "/api/v1/enrolments", ptok, map[string]string{"person": pm.MemberID, "scheme": "resident_medical", "region_code": "150100"}); st != 201 {
		t.Fatalf("enrol %d %s", st, b)
	}
	tok := loginAs(t, cl, "payer", zhao.Name, zhao.IDNumber)
	inline := map[string]string{"name": kid.Name, "id_number": kid.IDNumber}
	orderNo, _ := payHTTP(t, env, cl, tok, inline)
	var r struct {
		RefundNo      string `json:"refund_no"`
		ApplicantRole string `json:"applicant_role"`
	}
	if st := cl.DoJSON("POST", "/api/v1/refunds", tok, map[string]any{"person": inline, "scheme": "resident_medical", "order_no": orderNo,
		"refund_fen": 100, "reason": "wrongly_collected"}, &r); st != 201 || r.ApplicantRole != "payer" {
		t.Fatalf("the payer's application %d %+v", st, r)
	}
	var list struct {
		Items []struct {
			RefundNo    string `json:"refund_no"`
			AppliedByMe bool   `json:"applied_by_me"`
			CanWithdraw bool   `json:"can_withdraw"`
		}
	}
	if st := cl.DoJSON("GET", "/api/v1/refunds", ptok, nil, &list); st != 200 || len(list.Items) != 1 || list.Items[0].RefundNo != r.RefundNo ||
		list.Items[0].AppliedByMe || !list.Items[0].CanWithdraw {
		t.Fatalf("the parent's list %d %+v", st, list)
	}
	var msgs struct {
		Items []struct {
			RefundNo string `json:"refund_no"`
		}
	}
	cl.DoJSON("GET", "/api/v1/me/messages", ptok, nil, &msgs)
	if len(msgs.Items) != 1 || msgs.Items[0].RefundNo != r.RefundNo {
		t.Fatalf("the parent's messages %+v", msgs)
	}
	// The hall sees it first, warned that the applicant is not the person.
	hall := hallTokens(t, env, cl)
	var sums struct {
		Items []struct {
			RefundNo    string `json:"refund_no"`
			ReviewFirst bool   `json:"review_first"`
		}
	}
	if st := cl.DoJSON("GET", "/api/v1/staff/refunds", hall["tax1"], nil, &sums); st != 200 || len(sums.Items) != 1 || !sums.Items[0].ReviewFirst {
		t.Fatalf("the hall's list %d %+v", st, sums)
	}
	var sv struct {
		ApplicantWarnings []string `json:"applicant_warnings"`
	}
	if st := cl.DoJSON("GET", "/api/v1/staff/refunds/"+r.RefundNo, hall["tax1"], nil, &sv); st != 200 || len(sv.ApplicantWarnings) != 1 {
		t.Fatalf("the hall's warning %d %+v", st, sv)
	}
	res := cl.Send("POST", "/api/v1/refunds", ptok, map[string]any{"person": pm.MemberID, "scheme": "resident_medical", "order_no": orderNo,
		"refund_fen": 100, "reason": "wrongly_collected"})
	if res.Status != 409 || res.ErrorCode() != "REFUND_ALREADY_OPEN" {
		t.Fatalf("while the payer's is open: %d %s", res.Status, res.Body)
	}
	var w struct {
		Status string `json:"status"`
	}
	if st := cl.DoJSON("POST", "/api/v1/refunds/"+r.RefundNo+"/withdraw", ptok, nil, &w); st != 200 || w.Status != "withdrawn" {
		t.Fatalf("withdraw %d %+v", st, w)
	}
	var mine struct {
		RefundNo string `json:"refund_no"`
	}
	if st := cl.DoJSON("POST", "/api/v1/refunds", ptok, map[string]any{"person": pm.MemberID, "scheme": "resident_medical", "order_no": orderNo,
		"refund_fen": 100, "reason": "wrongly_collected"}, &mine); st != 201 {
		t.Fatalf("the parent's own application %d", st)
	}
	res = cl.Send("POST", "/api/v1/refunds/"+mine.RefundNo+"/withdraw", tok, nil)
	if res.Status != 403 || res.ErrorCode() != "REFUND_WITHDRAW_NOT_ALLOWED" {
		t.Fatalf("the payer withdraws the guardian's: %d %s", res.Status, res.Body)
	}
}

// TestAProvenGuardianConsentsOverHTTP: the registered father lets the
// grandmother be the child's guardian too, and ends it.
func TestAProvenGuardianConsentsOverHTTP(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	zhang, kid, li := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "李秀英")
	ptok := loginAs(t, cl, "parent", zhang.Name, zhang.IDNumber)
	gtok := loginAs(t, cl, "grandma", li.Name, li.IDNumber)
	type member struct {
		MemberID      string `json:"member_id"`
		RecordsAccess string `json:"records_access"`
		Guardianship  string `json:"guardianship"`
	}
	var pm, gm member
	cl.DoJSON("POST", "/api/v1/me/family", ptok, map[string]string{"name": kid.Name, "id_number": kid.IDNumber, "relation": "child"}, &pm)
	if st := cl.DoJSON("POST", "/api/v1/me/family", gtok, map[string]string{"name": kid.Name, "id_number": kid.IDNumber, "relation": "other"}, &gm); st != 201 || gm.RecordsAccess != "none" {
		t.Fatalf("the grandmother before consent: %d %+v", st, gm)
	}
	var g struct {
		GuardianID string `json:"guardian_id"`
		Source     string `json:"source"`
	}
	if st := cl.DoJSON("POST", "/api/v1/me/family/"+pm.MemberID+"/guardians", ptok, map[string]string{"guardian_id_number": li.IDNumber}, &g); st != 201 || g.Source != "consent" {
		t.Fatalf("consent %d %+v", st, g)
	}
	res := cl.Send("POST", "/api/v1/me/family/"+pm.MemberID+"/guardians", ptok, map[string]string{"guardian_id_number": li.IDNumber})
	if res.Status != 409 {
		t.Fatalf("consenting twice: %d %s", res.Status, res.Body)
	}
	var fam struct{ Items []member }
	cl.DoJSON("GET", "/api/v1/me/family", gtok, nil, &fam)
	if len(fam.Items) != 1 || fam.Items[0].RecordsAccess != "guardian" || fam.Items[0].Guardianship != "consent" {
		t.Fatalf("the grandmother after consent: %+v", fam)
	}
	if st, b := cl.Do("GET", "/api/v1/records?person="+gm.MemberID, gtok, nil); st != 200 {
		t.Fatalf("the grandmother's records view: %d %s", st, b)
	}
	var list struct {
		Items []struct {
			Source string `json:"source"`
		}
	}
	if st := cl.DoJSON("GET", "/api/v1/me/family/"+pm.MemberID+"/guardians", ptok, nil, &list); st != 200 || len(list.Items) != 2 {
		t.Fatalf("guardians %d %+v", st, list)
	}
	res = cl.Send("GET", "/api/v1/me/family/"+gm.MemberID+"/guardians", gtok, nil)
	if res.Status != 403 || res.ErrorCode() != "GUARDIANSHIP_NOT_PROVEN" {
		t.Fatalf("a consented guardian lists guardians: %d %s", res.Status, res.Body)
	}
	if st, b := cl.Do("DELETE", "/api/v1/me/family/"+pm.MemberID+"/guardians/"+g.GuardianID, ptok, nil); st != 204 {
		t.Fatalf("end the consent: %d %s", st, b)
	}
	if st, _ := cl.Do("GET", "/api/v1/records?person="+gm.MemberID, gtok, nil); st != 403 {
		t.Fatalf("the grandmother's records view after the consent ended: %d", st)
	}
}
