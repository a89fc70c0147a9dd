package handlers_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/guomi"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/rekey"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestTheServiceWorksUnderTheGuomiOption runs the service as
// LIANBAN_CRYPTO=sm wires it, on a database that already holds a person
// written under the international suite and the key of before: identity
// binding, lookups, a certificate issued (SM2) and verified, and a
// counter request signed with HMAC-SM3, all over HTTP; then rekey moves
// the old person over and they are still found.
func TestTheServiceWorksUnderTheGuomiOption(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		legacyKey, newKey, seed := make([]byte, 32), make([]byte, 32), make([]byte, 32)
		for _, b := range [][]byte{legacyKey, newKey, seed} {
			_, _ = rand.Read(b)
		}
		legacy, err := models.NewPIICipher(legacyKey)
		if err != nil {
			t.Fatal(err)
		}
		sm, err := models.NewPIIKeyring(models.PIIKeyring{Keys: []models.PIIKey{{ID: models.LegacyPIIKeyID, Secret: legacyKey}, {ID: "k2", Secret: newKey}},
			Suite: guomi.SM4Suite(), Previous: []models.PIISuite{models.AESSuite()}})
		if err != nil {
			t.Fatal(err)
		}
		// 李秀英 was registered before the option, under AES and the old key.
		mom := servicetest.Person(t, "李秀英")
		parsed, _ := models.ParseIDNumber(mom.IDNumber)
		oldRow, err := kernel.New(kernel.Deps{PII: legacy}, kernel.Defaults()).NewPersonRow(mom.Name, parsed)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Create(&oldRow).Error; err != nil {
			t.Fatal(err)
		}

		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		ed, _ := certificate.NewEd25519Signer(seed, "ed25519-old")
		sm2, err := guomi.NewSM2Signer(seed)
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := certificate.NewKeyring(ed, sm2)
		env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Mutate: func(d *service.Deps, o *service.Options) {
			d.PII = sm
			d.Certificates.Signer = signer
			o.CryptoSM = true
		}})
		s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
		h = s
		cl := apitest.Load(t).ServerClient(t, srv.URL, srv.Client())

		// Binding an identity writes the person under SM4 and the SM3 index.
		me := servicetest.Person(t, "张三明")
		tok := loginAs(t, cl, "zhang-sm", me.Name, me.IDNumber)
		var row store.PersonRow
		if err := db.Gorm.Where("id_index = ?", sm.BlindIndex("id_number", me.IDNumber)).Take(&row).Error; err != nil {
			t.Fatalf("the new person is not under the SM3 index: %v", err)
		}
		if !strings.HasPrefix(row.IDSealed, "v2.sm4.k2:") || !strings.HasPrefix(row.NameSealed, "v2.sm4.k2:") {
			t.Fatalf("sealed %q %q", row.IDSealed[:12], row.NameSealed[:12])
		}
		// The old person binds to their old row: found by the old index.
		loginAs(t, cl, "li-sm", mom.Name, mom.IDNumber)
		var n int64
		db.Gorm.Model(&store.PersonRow{}).Where("id_index IN ?", sm.BlindIndexes("id_number", mom.IDNumber)).Count(&n)
		if n != 1 {
			t.Fatalf("%d rows for the old person: the lookup missed the old index", n)
		}

		// A certificate is signed with SM2 and verifies.
		order := (&certRig{cl: cl}).pay(t, tok)
		res := cl.Send("POST", "/api/v1/certificates", tok, map[string]string{"kind": "payment_voucher", "order_no": order})
		if res.Status != 201 {
			t.Fatalf("issue: %d %s", res.Status, res.Body)
		}
		var v certBody
		res.Decode(t, &v)
		var cert store.CertificateRow
		if err := db.Gorm.Select(store.CertificateColumnsWithoutPDF()).Where("certificate_no = ?", v.CertificateNo).Take(&cert).Error; err != nil {
			t.Fatal(err)
		}
		if cert.Algorithm != guomi.AlgorithmSM2 || cert.KeyID != sm2.KeyID() || !sm2.Verify(cert.Canonical, cert.Signature) {
			t.Fatalf("certificate signed %s %s", cert.Algorithm, cert.KeyID)
		}
		var got verifyBody
		if st := cl.DoJSON("GET", verifyPath(v.CertificateNo, v.VerifyCode), "", nil, &got); st != 200 || got.Result != "valid" || got.PersonNameMasked != "张*明" {
			t.Fatalf("verify: %d %+v", st, got)
		}

		// A bank counter signs with HMAC-SM3 and finds both people.
		bank := sandboxBank(t, env, cl)
		bank.Method = partner.MethodHMACSM3
		query := func(c *partner.Client, p who) (int, string) {
			t.Helper()
			body, _ := json.Marshal(map[string]string{"name": p.Name, "id_number": p.IDNumber})
			r, err := c.Do(ctx, "POST", "/partner/v1/payables/query", body)
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error struct{ Code string } }
			_ = json.Unmarshal(r.Body, &e)
			return r.Status, e.Error.Code
		}
		if st, code := query(bank, who{me.Name, me.IDNumber}); st != 200 {
			t.Fatalf("HMAC-SM3 query: %d %s", st, code)
		}
		// The old person is found under the old index and their AES name
		// opens: the right name is not enrolled, a wrong one a mismatch.
		oldPerson := func(when string) {
			t.Helper()
			if st, code := query(bank, who{mom.Name, mom.IDNumber}); st != 422 || code != "NOT_ENROLLED" {
				t.Fatalf("%s: the old person: %d %s", when, st, code)
			}
			if st, code := query(bank, who{"李秀花", mom.IDNumber}); st != 422 || code != "IDENTITY_MISMATCH" {
				t.Fatalf("%s: the old person under another name: %d %s", when, st, code)
			}
		}
		oldPerson("before rekey")
		// The default HMAC-SHA256 still works; HMAC-SM3 without saying so
		// does not.
		sha := *bank
		sha.Method = ""
		if st, _ := query(&sha, who{me.Name, me.IDNumber}); st != 200 {
			t.Fatalf("HMAC-SHA256 query: %d", st)
		}
		unsaid := *bank
		unsaid.HTTP = &http.Client{Transport: dropHeader{partner.HeaderSignatureMethod}}
		if st, _ := query(&unsaid, who{me.Name, me.IDNumber}); st != 401 {
			t.Fatalf("an HMAC-SM3 signature without X-Signature-Method: %d", st)
		}

		// rekey moves the old person to SM4 under k2; they are still found.
		if _, err := (&rekey.Rekeyer{DB: db, PII: sm}).Run(ctx); err != nil {
			t.Fatal(err)
		}
		var after store.PersonRow
		if err := db.Gorm.Where("id = ?", oldRow.ID).Take(&after).Error; err != nil {
			t.Fatal(err)
		}
		if !sm.IsCurrent(after.IDSealed) || after.IDIndex != sm.BlindIndex("id_number", mom.IDNumber) || after.IDIndex == oldRow.IDIndex {
			t.Fatalf("the old person was not rekeyed: %s", after.IDSealed[:12])
		}
		oldPerson("after rekey")
		db.Gorm.Model(&store.PersonRow{}).Where("id_index IN ?", sm.BlindIndexes("id_number", mom.IDNumber)).Count(&n)
		if n != 1 {
			t.Fatalf("%d rows for the old person", n)
		}
		if st := cl.DoJSON("GET", verifyPath(v.CertificateNo, v.VerifyCode), "", nil, &got); st != 200 || got.Result != "valid" {
			t.Fatalf("verify after rekey: %d %+v", st, got)
		}
	})
}

// who is a name and ID number to look up.
type who struct{ Name, IDNumber string }

// dropHeader removes a header from every request it carries.
type dropHeader struct{ name string }

func (d dropHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del(d.name)
	return http.DefaultTransport.RoundTrip(r)
}

// Without the option the method header is ignored, as it always was:
// HMAC-SHA256 passes whatever it says, HMAC-SM3 does not; with it, an
// unknown method is refused as malformed.
func TestTheSignatureMethodHeaderCountsOnlyUnderTheGuomiOption(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	p := newPartnerEnv(t, db, nil)
	sha := p.client(bankID, bankKey)
	if r := do(t, sha, "POST", "/partner/v1/echo/1", `{}`); r.Status != 200 {
		t.Fatalf("HMAC-SHA256: %d %s", r.Status, r.Body)
	}
	sm3 := p.client(bankID, bankKey)
	sm3.Method = partner.MethodHMACSM3
	wantRefused(t, "HMAC-SM3 without the option", do(t, sm3, "POST", "/partner/v1/echo/1", `{}`))
	said := p.client(bankID, bankKey)
	said.HTTP = &http.Client{Transport: setHeader{partner.HeaderSignatureMethod, "HMAC-MD5"}}
	if r := do(t, said, "POST", "/partner/v1/echo/1", `{}`); r.Status != 200 {
		t.Fatalf("an HMAC-SHA256 request with a method header, without the option: %d", r.Status)
	}

	g := newPartnerEnv(t, storetest.Targets()[0].Open(t), func(_ *service.Deps, o *service.Options) { o.CryptoSM = true })
	sm3 = g.client(bankID, bankKey)
	sm3.Method = partner.MethodHMACSM3
	if r := do(t, sm3, "POST", "/partner/v1/echo/1", `{"x":1}`); r.Status != 200 {
		t.Fatalf("HMAC-SM3 with the option: %d %s", r.Status, r.Body)
	}
	said = g.client(bankID, bankKey)
	said.HTTP = &http.Client{Transport: setHeader{partner.HeaderSignatureMethod, "HMAC-MD5"}}
	wantRefused(t, "an unknown method", do(t, said, "POST", "/partner/v1/echo/2", `{}`))
	if got := g.failures(t)["malformed"]; got != 1 {
		t.Fatalf("malformed refusals: %d", got)
	}
}

// setHeader sets a header on every request it carries.
type setHeader struct{ name, value string }

func (s setHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(s.name, s.value)
	return http.DefaultTransport.RoundTrip(r)
}
