package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/partners"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store/storetest"
)

// testPartners stand in for the partners the signature middleware finds.
var testPartners = map[string]kernel.PartnerActor{
	"sandbox-bank": {PartnerID: "sandbox-bank", Name: "联办示范银行", KeyID: "k1",
		Channels: []string{counters.ChannelBankCounter, counters.ChannelYunPOS, counters.ChannelYunongtong}},
	"sandbox-hall": {PartnerID: "sandbox-hall", Name: counters.HallName, KeyID: "k1", Channels: []string{counters.ChannelHallPOS}},
	"other-bank":   {PartnerID: "other-bank", Name: "其他银行", KeyID: "k1", Channels: []string{counters.ChannelBankCounter}},
}

// newCounterEnv is newHTTPEnv with a stand-in for the partner
// authentication middleware: X-Partner-Id names the partner, unsigned.
func newCounterEnv(t *testing.T) (*servicetest.Env, *apitest.Client) {
	t.Helper()
	db := storetest.Targets()[0].Open(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL})
	h = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true,
		PartnerAuth: partnerStandIn("")})
	return env, apitest.Load(t).ServerClient(t, srv.URL, srv.Client())
}

// partnerStandIn stands in for the signature middleware: X-Partner-Id
// (or, without it, fallback) names one of testPartners, unsigned. An
// unknown partner goes on with none, and the handlers refuse it.
func partnerStandIn(fallback string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Partner-Id")
		if id == "" {
			id = fallback
		}
		if a, ok := testPartners[id]; ok {
			httpx.WithPartner(c, a)
		}
		c.Next()
	}
}

func TestPartnerAPIIsRefusedWithoutItsMiddleware(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	r := cl.Send("POST", "/partner/v1/orders", "", map[string]string{"partner_txn_id": "x"}, "X-Partner-Id", "sandbox-bank")
	if r.Status != 401 || r.ErrorCode() != "PARTNER_AUTH_FAILED" {
		t.Fatalf("no middleware: %d %s", r.Status, r.Body)
	}
}

// TestCountersOverHTTP walks the partner API and the hall's payment routes
// through their success and error paths; every response is checked
// against miniprogram-api.yaml.
func TestCountersOverHTTP(t *testing.T) {
	env, cl := newCounterEnv(t)
	ctx := context.Background()
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "zhang", me.Name, me.IDNumber)
	if st, b := cl.Do("POST", "/api/v1/enrolments", tok, map[string]string{"scheme": "flexible_pension", "region_code": "150100"}); st != 201 {
		t.Fatalf("enrol %d %s", st, b)
	}
	bank := []string{"X-Partner-Id", "sandbox-bank"}
	hallPOS := []string{"X-Partner-Id", "sandbox-hall"}
	otherBank := []string{"X-Partner-Id", "other-bank"}
	expect := func(method, path string, body any, hdr []string, status int, code string) *apitest.Response {
		t.Helper()
		r := cl.Send(method, path, "", body, hdr...)
		if r.Status != status || r.ErrorCode() != code {
			t.Fatalf("%s %s: %d %s, want %d %s: %s", method, path, r.Status, r.ErrorCode(), status, code, r.Body)
		}
		return r
	}
	expect("POST", "/partner/v1/payables/query", map[string]string{"name": me.Name, "id_number": me.IDNumber}, nil, 401, "PARTNER_AUTH_FAILED")
	expect("POST", "/partner/v1/payables/query", map[string]string{"name": me.Name, "id_number": "123"}, bank, 400, "ID_NUMBER_INVALID")
	expect("POST", "/partner/v1/payables/query", map[string]string{"name": "李四", "id_number": me.IDNumber}, bank, 422, "IDENTITY_MISMATCH")
	var q counters.QueryResult
	expect("POST", "/partner/v1/payables/query", map[string]string{"name": me.Name, "id_number": me.IDNumber}, bank, 200, "").Decode(t, &q)
	if q.Kind != "person" || len(q.Items) != 1 || q.PersonNameMasked == me.Name {
		t.Fatalf("query %+v", q)
	}
	pb := q.Items[0]
	order := map[string]string{"payable_id": pb.PayableID, "option_code": pb.Options[0].Code, "period_from": pb.UnpaidPeriods[0],
		"period_to": pb.UnpaidPeriods[0], "partner_txn_id": "B-0001", "terminal_id": "ICBC-HH-01", "channel": "bank_counter"}
	var o counters.Order
	expect("POST", "/partner/v1/orders", order, bank, 201, "").Decode(t, &o)
	expect("POST", "/partner/v1/orders", order, bank, 200, "")
	order["channel"] = "hall_pos"
	expect("POST", "/partner/v1/orders", order, bank, 403, "FORBIDDEN")
	order["channel"], order["period_to"] = "bank_counter", pb.UnpaidPeriods[1]
	expect("POST", "/partner/v1/orders", order, bank, 409, "PARTNER_TXN_REUSED")

	confirm := func(txn string, fen models.Fen) map[string]any {
		return map[string]any{"partner_txn_id": txn, "paid_fen": fen, "paid_at": env.Clock.Now().Format(time.RFC3339)}
	}
	path := "/partner/v1/orders/" + o.OrderNo
	expect("POST", path+"/confirm", confirm("C-0001", o.AmountFen), otherBank, 404, "NOT_FOUND")
	expect("POST", path+"/confirm", confirm("C-0001", o.AmountFen+1), bank, 422, "PAID_AMOUNT_MISMATCH")
	expect("POST", path+"/confirm", confirm("C-0001", o.AmountFen), bank, 200, "")
	expect("POST", path+"/confirm", confirm("C-0001", o.AmountFen), bank, 200, "")
	expect("POST", path+"/confirm", confirm("C-0002", o.AmountFen), bank, 409, "ORDER_NOT_PAYABLE")
	expect("POST", "/partner/v1/orders/LB_nope/confirm", confirm("C-0003", o.AmountFen), bank, 404, "NOT_FOUND")

	// The records say where the money was taken.
	var recs struct {
		Items []struct {
			OrderNo   string `json:"order_no"`
			PayerKind string `json:"payer_kind"`
			Counter   *struct {
				Channel     string `json:"channel"`
				PartnerName string `json:"partner_name"`
				TerminalID  string `json:"terminal_id"`
			} `json:"counter"`
		} `json:"items"`
	}
	if st := cl.DoJSON("GET", "/api/v1/records", tok, nil, &recs); st != 200 || len(recs.Items) != 1 || recs.Items[0].Counter == nil ||
		recs.Items[0].Counter.PartnerName != "联办示范银行" || recs.Items[0].Counter.TerminalID != "ICBC-HH-01" || recs.Items[0].PayerKind != "counter" {
		t.Fatalf("records %d %+v", st, recs)
	}

	// Reconciliation, then 冲正 the same day.
	day := env.Clock.Now().In(models.Beijing).Format("2006-01-02")
	file := counters.ReconHeader + "\n" + fmt.Sprintf("C-0001,%s,%d,paid,%s\n", o.OrderNo, o.AmountFen, env.Clock.Now().Format(time.RFC3339))
	var rc counters.Reconciliation
	expect("PUT", "/partner/v1/reconciliation/"+day, file, append(bank, "Content-Type", "text/csv"), 200, "").Decode(t, &rc)
	if rc.LineCount != 1 || len(rc.Mismatches) != 0 {
		t.Fatalf("reconciliation %+v", rc)
	}
	expect("GET", "/partner/v1/reconciliation/"+day, nil, bank, 200, "")
	expect("GET", "/partner/v1/reconciliation/"+day, nil, otherBank, 404, "NOT_FOUND")
	expect("GET", "/partner/v1/reconciliation/20261120", nil, bank, 400, "INVALID_ARGUMENT")
	expect("PUT", "/partner/v1/reconciliation/"+day, "x,y\n", append(bank, "Content-Type", "text/csv"), 400, "INVALID_ARGUMENT")
	expect("POST", path+"/reverse", map[string]string{"partner_txn_id": "R-0001"}, otherBank, 404, "NOT_FOUND")
	var rev counters.Order
	expect("POST", path+"/reverse", map[string]string{"partner_txn_id": "R-0001"}, bank, 200, "").Decode(t, &rev)
	if rev.Status != "reversed" {
		t.Fatalf("reverse %+v", rev)
	}
	expect("POST", path+"/reverse", map[string]string{"partner_txn_id": "R-0001"}, bank, 200, "")
	if st := cl.DoJSON("GET", "/api/v1/records", tok, nil, &recs); st != 200 || len(recs.Items) != 0 {
		t.Fatalf("records after reversal %d %+v", st, recs)
	}

	// The hall: the window looks up, declares and opens a POS payment;
	// the hall's POS confirms it; the records say 办税服务厅.
	toks := hallTokens(t, env, cl)
	lookup := map[string]string{"name": me.Name, "id_number": me.IDNumber}
	if r := cl.Send("POST", "/api/v1/staff/hall/people/lookup", toks["si1"], lookup); r.Status != 403 {
		t.Fatalf("si1 lookup %d %s", r.Status, r.Body)
	}
	var hp counters.HallPerson
	if r := cl.Send("POST", "/api/v1/staff/hall/people/lookup", toks["tax1"], lookup); r.Status != 200 {
		t.Fatalf("lookup %d %s", r.Status, r.Body)
	} else {
		r.Decode(t, &hp)
	}
	pay := map[string]any{"name": me.Name, "id_number": me.IDNumber, "payable_id": hp.Items[0].PayableID, "option_code": hp.Items[0].Options[0].Code,
		"period_from": hp.Items[0].UnpaidPeriods[0], "period_to": hp.Items[0].UnpaidPeriods[0],
		"consent": map[string]string{"payer_name": "李秀英", "relation": "family", "method": "signature"}}
	if r := cl.Send("POST", "/api/v1/staff/hall/payments", toks["admin1"], pay); r.Status != 403 {
		t.Fatalf("admin pays %d %s", r.Status, r.Body)
	}
	pay["consent"] = map[string]string{"payer_name": "李秀英", "relation": "neighbour", "method": "signature"}
	if r := cl.Send("POST", "/api/v1/staff/hall/payments", toks["tax1"], pay); r.Status != 400 {
		t.Fatalf("bad consent %d %s", r.Status, r.Body)
	}
	pay["consent"] = map[string]string{"payer_name": "李秀英", "relation": "family", "method": "signature"}
	var ho counters.Order
	if r := cl.Send("POST", "/api/v1/staff/hall/payments", toks["tax1"], pay); r.Status != 201 {
		t.Fatalf("hall payment %d %s", r.Status, r.Body)
	} else {
		r.Decode(t, &ho)
	}
	expect("POST", "/partner/v1/orders/"+ho.OrderNo+"/confirm", confirm("POS-1", ho.AmountFen), bank, 404, "NOT_FOUND")
	expect("POST", "/partner/v1/orders/"+ho.OrderNo+"/confirm", confirm("POS-1", ho.AmountFen), hallPOS, 200, "")
	if st := cl.DoJSON("GET", "/api/v1/records", tok, nil, &recs); st != 200 || len(recs.Items) != 1 || recs.Items[0].Counter == nil ||
		recs.Items[0].Counter.PartnerName != counters.HallName || recs.Items[0].Counter.Channel != "hall_pos" {
		t.Fatalf("hall records %d %+v", st, recs)
	}

	// A unit's 银行端凭证 at the bank's counter.
	f := servicetest.NewUnitFixture(t, env)
	up, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	expect("POST", "/partner/v1/payables/query", map[string]string{"voucher_no": "BV_nope"}, bank, 404, "NOT_FOUND")
	expect("POST", "/partner/v1/payables/query", map[string]string{"voucher_no": up.VoucherNo}, bank, 200, "").Decode(t, &q)
	if q.Voucher == nil || q.Voucher.AmountFen != up.AmountFen || q.Voucher.UnitNameMasked == f.Unit.Name || q.Voucher.Status != "payable" {
		t.Fatalf("voucher %+v", q.Voucher)
	}
	vo := map[string]string{"voucher_no": up.VoucherNo, "partner_txn_id": "V-0001", "terminal_id": "ICBC-HH-01", "channel": "bank_counter"}
	var uo counters.Order
	expect("POST", "/partner/v1/orders", vo, bank, 201, "").Decode(t, &uo)
	vo["partner_txn_id"] = "V-0002"
	expect("POST", "/partner/v1/orders", vo, otherBank, 409, "ORDER_NOT_PAYABLE")
	expect("POST", "/partner/v1/orders/"+uo.OrderNo+"/confirm", confirm("VC-1", uo.AmountFen), bank, 200, "")
	expect("POST", "/partner/v1/orders/"+uo.OrderNo+"/reverse", map[string]string{"partner_txn_id": "VR-1"}, bank, 409, "REVERSAL_NOT_ALLOWED")
}

// sandboxBank seeds the sandbox bank of API.md on env and returns a client
// that signs as it, on the server's clock, through the real signature
// middleware.
func sandboxBank(t *testing.T, env *servicetest.Env, cl *apitest.Client) *partner.Client {
	t.Helper()
	if err := env.Svc.SeedPartner(context.Background(), partners.PartnerInput{PartnerID: "sandbox-bank", Name: "联办示范银行",
		Channels: []string{"bank_counter", "yun_pos", "yunongtong"}}, "sandbox-bank-key-1", "sandbox-partner-key"); err != nil {
		t.Fatal(err)
	}
	return &partner.Client{BaseURL: cl.URL(), PartnerID: "sandbox-bank", Key: []byte("sandbox-partner-key"), Clock: env.Clock}
}
