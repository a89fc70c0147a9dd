package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
)

// TestAUnitPaysEveryWayOverHTTP walks the unit payment routes through
// their success and error paths; the apitest client validates every
// response against miniprogram-api.yaml.
func TestAUnitPaysEveryWayOverHTTP(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	f := servicetest.NewUnitFixture(t, env)
	rep := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "unit-rep", rep.Name, rep.IDNumber)
	base := "/api/v1/units/" + f.UnitID
	expect := func(method, path, token string, body any, status int, code string) []byte {
		t.Helper()
		r := cl.Send(method, path, token, body)
		if r.Status != status || r.ErrorCode() != code {
			t.Fatalf("%s %s: %d %s, want %d %s: %s", method, path, r.Status, r.ErrorCode(), status, code, r.Body)
		}
		return r.Body
	}
	var agr struct {
		AgreementID string `json:"agreement_id"`
		Status      string `json:"status"`
	}
	r := cl.Send("POST", base+"/agreements", tok, map[string]string{"bank_code": "ICBC", "account_name": f.Unit.Name, "account_no": f.AccountNo})
	if r.Status != 201 {
		t.Fatalf("agreement %d %s", r.Status, r.Body)
	}
	r.Decode(t, &agr)
	expect("POST", base+"/agreements", tok, map[string]string{"bank_code": "ICBC", "account_name": f.Unit.Name, "account_no": "12"}, 400, "INVALID_ARGUMENT")
	expect("GET", base+"/agreements", tok, nil, 200, "")
	expect("POST", base+"/payments", tok, map[string]string{"declaration_id": f.Decl.ID, "method": "cash"}, 400, "INVALID_ARGUMENT")
	expect("POST", base+"/payments", tok, map[string]string{"declaration_id": f.Decl.ID, "method": "tripartite", "agreement_id": "ta_nope"}, 422, "AGREEMENT_NOT_VERIFIED")
	expect("POST", base+"/payments", tok, map[string]string{"declaration_id": "ud_nope", "method": "pos"}, 404, "NOT_FOUND")

	// 银行端凭证: number, PDF, sandbox counter.
	var p struct {
		OrderNo   string `json:"order_no"`
		VoucherNo string `json:"voucher_no"`
		PDFURL    string `json:"pdf_url"`
		Status    string `json:"status"`
	}
	r = cl.Send("POST", base+"/payments", tok, map[string]string{"declaration_id": f.Decl.ID, "method": "bank_voucher"})
	if r.Status != 201 {
		t.Fatalf("voucher %d %s", r.Status, r.Body)
	}
	r.Decode(t, &p)
	expect("POST", base+"/payments", tok, map[string]string{"declaration_id": f.Decl.ID, "method": "bank_voucher"}, 200, "")
	expect("POST", base+"/payments", tok, map[string]string{"declaration_id": f.Decl.ID, "method": "pos"}, 409, "DECLARATION_NOT_PAYABLE")
	pdf := cl.Send("GET", p.PDFURL, tok, nil)
	if pdf.Status != 200 || pdf.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("voucher pdf %d", pdf.Status)
	}
	expect("GET", base+"/payments/U_nope/voucher.pdf", tok, nil, 404, "NOT_FOUND")
	// The unit pays the voucher at a partner bank's counter, signed.
	bank := sandboxBank(t, env, cl)
	signed := func(path, body string, status int) []byte {
		t.Helper()
		r, err := bank.Do(context.Background(), "POST", path, []byte(body))
		if err != nil || r.Status != status {
			t.Fatalf("POST %s: %v %+v, want %d", path, err, r, status)
		}
		return r.Body
	}
	signed("/partner/v1/payables/query", `{"voucher_no":"BV_nope"}`, 404)
	signed("/partner/v1/payables/query", `{"voucher_no":"`+p.VoucherNo+`"}`, 200)
	var co struct {
		OrderNo   string     `json:"order_no"`
		AmountFen models.Fen `json:"amount_fen"`
	}
	if err := json.Unmarshal(signed("/partner/v1/orders", `{"voucher_no":"`+p.VoucherNo+`","partner_txn_id":"V-1","terminal_id":"T-1","channel":"bank_counter"}`, 201), &co); err != nil || co.OrderNo != p.OrderNo {
		t.Fatalf("the voucher's counter order %+v %v, want %s", co, err, p.OrderNo)
	}
	signed("/partner/v1/orders/"+co.OrderNo+"/confirm", fmt.Sprintf(`{"partner_txn_id":"V-1-P","paid_fen":%d,"paid_at":%q}`, co.AmountFen, env.Clock.Now().Format(time.RFC3339)), 200)
	expect("GET", base+"/payments/"+p.OrderNo, tok, nil, 200, "")
	expect("GET", base+"/payments", tok, nil, 200, "")
	expect("GET", base+"/payments/U_nope", tok, nil, 404, "NOT_FOUND")
	expect("POST", base+"/payments", tok, map[string]string{"declaration_id": f.Decl.ID, "method": "pos"}, 409, "DECLARATION_NOT_PAYABLE")

	// The legal representative is told in-app.
	var msgs struct {
		Items []struct {
			Kind string `json:"kind"`
		}
	}
	if st := cl.DoJSON("GET", "/api/v1/me/messages", tok, nil, &msgs); st != 200 || len(msgs.Items) != 1 || msgs.Items[0].Kind != "unit_payment" {
		t.Fatalf("messages %d %+v", st, msgs)
	}
	// The unit's order is not the representative's own payment.
	var mine struct{ Items []any }
	if st := cl.DoJSON("GET", "/api/v1/payments", tok, nil, &mine); st != 200 || len(mine.Items) != 0 {
		t.Fatalf("the representative's own payments show %d items", len(mine.Items))
	}
	expect("GET", "/api/v1/payments/"+p.OrderNo, tok, nil, 404, "NOT_FOUND")

	// The employees see the months their unit paid, credited and booked.
	env.Clock.Advance(10 * time.Second)
	env.Svc.WorkOnce(context.Background())
	env.Svc.WorkOnce(context.Background())
	emp := servicetest.Person(t, "刘建华")
	etok := loginAs(t, cl, "emp-3", emp.Name, emp.IDNumber)
	var recs struct {
		Items []struct {
			Status    string `json:"status"`
			PayerKind string `json:"payer_kind"`
			Scheme    string `json:"scheme"`
		}
	}
	if st := cl.DoJSON("GET", "/api/v1/records", etok, nil, &recs); st != 200 || len(recs.Items) != 1 || recs.Items[0].Status != "booked" ||
		recs.Items[0].PayerKind != "unit" || recs.Items[0].Scheme != string(models.SchemeEnterprisePension) {
		t.Fatalf("employee records %d %+v", st, recs)
	}

	// The bank's notify route: a stranger's POST is refused and settles nothing.
	r = cl.Send("POST", "/api/v1/notify/bank-debit", "", map[string]string{"notice_id": "N1", "debit_no": "TD1", "state": "SUCCESS"})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("forged notice %d %s", r.Status, r.Body)
	}

	// POS at the hall.
	toks := hallTokens(t, env, cl)
	expect("POST", "/api/v1/staff/unit-payments/U_nope/pos-confirm", toks["tax1"], map[string]any{"pos_txn_id": "POS1", "paid_fen": 1}, 404, "NOT_FOUND")
	expect("POST", "/api/v1/staff/unit-payments/"+p.OrderNo+"/pos-confirm", toks["si1"], map[string]any{"pos_txn_id": "POS1", "paid_fen": 1}, 403, "FORBIDDEN")
	expect("POST", "/api/v1/staff/unit-payments/"+p.OrderNo+"/pos-confirm", tok, map[string]any{"pos_txn_id": "POS1", "paid_fen": 1}, 401, "UNAUTHENTICATED")
	expect("POST", "/api/v1/staff/unit-payments/"+p.OrderNo+"/pos-confirm", toks["tax1"], map[string]any{"pos_txn_id": "", "paid_fen": 1}, 400, "INVALID_ARGUMENT")
	expect("POST", "/api/v1/staff/unit-payments/"+p.OrderNo+"/pos-confirm", toks["tax1"], map[string]any{"pos_txn_id": "POS1", "paid_fen": 1}, 404, "NOT_FOUND")

	// Two more months: one paid at the POS, one by 三方协议.
	for _, tc := range []struct{ period, method string }{{"202608", "pos"}, {"202609", "tripartite"}} {
		declID := cloneDeclaration(t, env, f, tc.period)
		var q struct {
			OrderNo   string `json:"order_no"`
			AmountFen int64  `json:"amount_fen"`
			Status    string `json:"status"`
		}
		r := cl.Send("POST", base+"/payments", tok, map[string]string{"declaration_id": declID, "method": tc.method, "agreement_id": agr.AgreementID})
		if r.Status != 201 {
			t.Fatalf("%s: %d %s", tc.method, r.Status, r.Body)
		}
		r.Decode(t, &q)
		if tc.method == "pos" {
			path := "/api/v1/staff/unit-payments/" + q.OrderNo + "/pos-confirm"
			expect("POST", path, toks["tax1"], map[string]any{"pos_txn_id": "POS1", "paid_fen": q.AmountFen + 1}, 422, "PAID_AMOUNT_MISMATCH")
			expect("POST", path, toks["tax1"], map[string]any{"pos_txn_id": "POS1", "paid_fen": q.AmountFen}, 200, "")
			expect("POST", path, toks["tax1"], map[string]any{"pos_txn_id": "POS2", "paid_fen": q.AmountFen}, 409, "ORDER_NOT_PAYABLE")
		} else if q.Status != "paid" {
			t.Fatalf("tripartite order %+v", q)
		}
	}
}

// unitWithVoucherOrder is a unit with a verified agreement and an open
// voucher order, for the stranger walker.
func unitWithVoucherOrder(t *testing.T, env *servicetest.Env) (*servicetest.UnitFixture, string, string) {
	t.Helper()
	ctx := context.Background()
	f := servicetest.NewUnitFixture(t, env)
	a, err := env.Svc.AddTripartiteAgreement(ctx, f.Rep.UserID, f.UnitID, unitpay.AgreementInput{BankCode: "ICBC", AccountName: f.Unit.Name, AccountNo: f.AccountNo})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	return f, p.OrderNo, a.AgreementID
}

// unitPOSOrder is a unit order waiting for the hall's POS, for the role
// walker.
func unitPOSOrder(t *testing.T, env *servicetest.Env) unitpay.Payment {
	t.Helper()
	f := servicetest.NewUnitFixture(t, env)
	p, _, err := env.Svc.CreateUnitPayment(context.Background(), f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodPOS})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cloneDeclaration confirms another month of the fixture's declaration,
// straight into the tables.
func cloneDeclaration(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture, period string) string {
	t.Helper()
	d := f.Decl
	d.ID, d.Period = f.Decl.ID+period, period
	if err := env.DB.Gorm.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	for _, l := range f.Lines {
		l.ID, l.DeclarationID = l.ID+period, d.ID
		if err := env.DB.Gorm.Create(&l).Error; err != nil {
			t.Fatal(err)
		}
	}
	return d.ID
}
