package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/partners"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// newSignedCounterEnv is the production router (the real signature check,
// no stand-in) with a bank seeded, and a client that signs as it. The
// bank's id is fresh each time, since a real Redis keeps its counters
// across runs.
func newSignedCounterEnv(t *testing.T, db *store.DB, mutate func(*service.Deps, *service.Options)) (*servicetest.Env, *apitest.Client, *partner.Client) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Mutate: mutate})
	h = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	id := "bank-" + partner.NewNonce()[:12]
	if err := env.Svc.SeedPartner(context.Background(), partners.PartnerInput{PartnerID: id, Name: "联办示范银行",
		Channels: []string{"bank_counter"}}, id+"-key-1", bankKey); err != nil {
		t.Fatal(err)
	}
	pc := &partner.Client{BaseURL: srv.URL, PartnerID: id, Key: []byte(bankKey), HTTP: srv.Client(), Clock: env.Clock}
	return env, apitest.Load(t).ServerClient(t, srv.URL, srv.Client()), pc
}

// TestVoucherLookupsSpendThePartnersBudget: a 银行端凭证 number is a bearer
// reference (BV + the second it was issued + six random digits, so about
// a million guesses per issuing second), and a look-up answers with the
// unit, the amount and the order. A partner, or whoever holds a leaked
// key, must not be able to sweep the number space: every voucher look-up,
// through the query or through opening an order on it, spends the
// partner's hourly budget, misses are audited, and past the budget even a
// right number is refused until the hour has passed.
func TestVoucherLookupsSpendThePartnersBudget(t *testing.T) {
	for _, target := range storetest.Targets() {
		t.Run(target.Name, func(t *testing.T) {
			db := target.Open(t)
			env, _, bank := newSignedCounterEnv(t, db, func(_ *service.Deps, o *service.Options) { o.PartnerIdentityChecks = 3 })
			ctx := context.Background()
			f := servicetest.NewUnitFixture(t, env)
			up, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
			if err != nil {
				t.Fatal(err)
			}
			guess := up.VoucherNo[:len(up.VoucherNo)-6]
			for i, g := range []string{"000001", "000002"} {
				if r := do(t, bank, "POST", "/partner/v1/payables/query", `{"voucher_no":"`+guess+g+`"}`); r.Status != 404 {
					t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
				}
			}
			if r := do(t, bank, "POST", "/partner/v1/orders", `{"voucher_no":"`+guess+`000003","partner_txn_id":"G-3","terminal_id":"T1","channel":"bank_counter"}`); r.Status != 404 {
				t.Fatalf("guess through an order: %d %s", r.Status, r.Body)
			}
			r := do(t, bank, "POST", "/partner/v1/payables/query", `{"voucher_no":"`+up.VoucherNo+`"}`)
			if r.Status != 429 || apitest.ErrorCode(r.Body) != "RATE_LIMITED" {
				t.Fatalf("fourth look-up in the hour: %d %s, want 429 RATE_LIMITED", r.Status, r.Body)
			}
			r = do(t, bank, "POST", "/partner/v1/orders", `{"voucher_no":"`+up.VoucherNo+`","partner_txn_id":"G-5","terminal_id":"T1","channel":"bank_counter"}`)
			if r.Status != 429 {
				t.Fatalf("order on a voucher past the budget: %d %s", r.Status, r.Body)
			}
			var misses int64
			db.Gorm.Model(&store.AuditRow{}).Where("staff_id = ? AND target_kind = ? AND outcome <> ?", "partner:"+bank.PartnerID, "voucher", "ok").Count(&misses)
			if misses < 3 {
				t.Fatalf("%d refused voucher look-ups audited, want at least 3", misses)
			}
			// The window passing (Redis keeps it on the wall clock) lets the
			// partner look again.
			if err := env.Redis.Client.Del(ctx, "lb:rl:voucher:partner:"+bank.PartnerID).Err(); err != nil {
				t.Fatal(err)
			}
			if r := do(t, bank, "POST", "/partner/v1/payables/query", `{"voucher_no":"`+up.VoucherNo+`"}`); r.Status != 200 {
				t.Fatalf("next window: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestEveryHallIdentityCheckIsAudited: a clerk's name + ID number check
// spends the clerk's budget whichever hall route makes it, and a refused
// one is in the audit log from either: the payment route must not be a
// look-up that leaves no trace.
func TestEveryHallIdentityCheckIsAudited(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	me := servicetest.Person(t, "张三明")
	toks := hallTokens(t, env, cl)
	wrong := map[string]any{"name": "李四", "id_number": me.IDNumber, "payable_id": "en_x-2026", "option_code": "x",
		"period_from": "202601", "period_to": "202601", "consent": map[string]string{"payer_name": "李秀英", "relation": "family", "method": "signature"}}
	for _, path := range []string{"/api/v1/staff/hall/people/lookup", "/api/v1/staff/hall/payments"} {
		if r := cl.Send("POST", path, toks["tax1"], wrong); r.Status != 422 || r.ErrorCode() != "IDENTITY_MISMATCH" {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	for _, action := range []string{"hall.lookup", "hall.payment"} {
		var n int64
		env.DB.Gorm.Model(&store.AuditRow{}).Where("username = ? AND action = ? AND outcome = ?", "tax1", action, "failed").Count(&n)
		if n != 1 {
			t.Fatalf("%s: %d failed checks audited, want 1", action, n)
		}
	}
}

// TestStrangersCannotGrowThePartnerCallRecordWithoutBound: partner_calls
// is append-only (no purge can shrink it on PostgreSQL or MariaDB), so a
// stranger's unsigned requests, which cost nothing to send, must not each
// add a row for ever. Refusals from one address are recorded up to a
// budget a minute; past it they are still refused and counted in
// /metrics, and a signed partner's calls are always recorded.
func TestStrangersCannotGrowThePartnerCallRecordWithoutBound(t *testing.T) {
	p := newPartnerEnv(t, storetest.Targets()[0].Open(t), nil)
	// A real Redis is shared by the package's tests: start from no
	// refusals and leave none behind for the next test's exact counts.
	reset := func() {
		for _, k := range []string{"lb:rl:partner-refused:127.0.0.1", "lb:rl:partner-refused:::1"} {
			p.env.Redis.Client.Del(context.Background(), k) // one key a command: a cluster keeps them apart
		}
	}
	reset()
	t.Cleanup(reset)
	before := p.failures(t)[partners.ReasonBadSignature]
	forger := p.client(bankID, "not-the-key")
	const flood = httpx.MaxRefusedCallRecords + 30
	for i := 0; i < flood; i++ {
		wantRefused(t, "forged", do(t, forger, "POST", "/partner/v1/echo/x", `{}`))
	}
	if got := p.failures(t)[partners.ReasonBadSignature] - before; got != flood {
		t.Fatalf("%d forged requests counted in /metrics, want %d", got, flood)
	}
	if r := do(t, p.client(bankID, bankKey), "POST", "/partner/v1/echo/x", `{}`); r.Status != 200 {
		t.Fatalf("the real partner: %d %s", r.Status, r.Body)
	}
	var refused, ok int64
	p.env.DB.Gorm.Model(&store.PartnerCallRow{}).Where("outcome = ?", partners.CallRefused).Count(&refused)
	p.env.DB.Gorm.Model(&store.PartnerCallRow{}).Where("outcome = ?", partners.CallOK).Count(&ok)
	if refused != httpx.MaxRefusedCallRecords || ok != 1 {
		t.Fatalf("%d refused and %d ok calls recorded, want %d and 1", refused, ok, httpx.MaxRefusedCallRecords)
	}
}
