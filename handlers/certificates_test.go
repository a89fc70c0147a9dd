package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// certRig serves the API in process. Requests come from a client address
// of the test's own (RemoteAddr, which no proxy header can override), so
// the per-address verification limits of one test, kept in a shared
// Redis, never touch another's; the keys are removed at the end. A real
// listener is there only for the sandbox provider's notifications.
type certRig struct {
	env      *servicetest.Env
	server   *handlers.Server
	contract *apitest.Contract
	ip       string
	cl       *apitest.Client
}

func newCertRig(t *testing.T, db *store.DB) *certRig { return newCertRigOn(t, db, nil) }

// newCertRigOn is newCertRig on a Redis of the test's choosing
// (storetest.ForEachRedis), nil for the default.
func newCertRigOn(t *testing.T, db *store.DB, rdb *store.Redis) *certRig {
	t.Helper()
	var s *handlers.Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Redis: rdb})
	s = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	r := &certRig{env: env, server: s, contract: apitest.Load(t)}
	r.ip = r.newIP(t)
	r.cl = r.from(t, r.ip)
	return r
}

// newIP draws a client address in 10.0.0.0/8 and forgets its limits when
// the test ends.
func (r *certRig) newIP(t *testing.T) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ip := fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
	t.Cleanup(func() {
		for _, k := range []string{"lb:rl:cert-verify:" + ip, "lb:rl:cert-verify-day:" + ip} {
			r.env.Redis.Client.Del(context.Background(), k) // one key a command: a cluster keeps them apart
		}
	})
	return ip
}

// from is a contract-checking client whose requests come from ip.
func (r *certRig) from(t *testing.T, ip string) *apitest.Client {
	return r.contract.Client(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.RemoteAddr = ip + ":40000"
		r.server.ServeHTTP(w, req)
	}))
}

// login logs a sandbox user in and binds them to a person.
func (r *certRig) login(t *testing.T, subject, name, idNumber string) string {
	t.Helper()
	var res struct{ Token string }
	if st := r.cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": subject}, &res); st != 201 {
		t.Fatalf("login %d", st)
	}
	if st, b := r.cl.Do("POST", "/api/v1/me/identity", res.Token, map[string]string{"name": name, "id_number": idNumber}); st != 200 {
		t.Fatalf("identity %d %s", st, b)
	}
	return res.Token
}

// pay enrols the caller as a flexible worker and pays November and
// December 2026 at the lowest grade through the sandbox cashier.
func (r *certRig) pay(t *testing.T, tok string) string {
	t.Helper()
	orderNo, _ := r.openOrder(t, tok)
	if st, b := r.cl.Do("POST", "/sandbox/pay/"+orderNo, "", map[string]string{"result": "success"}); st != 200 {
		t.Fatalf("cashier %d %s", st, b)
	}
	return orderNo
}

// openOrder enrols the caller as a flexible worker, declares what is
// payable at the lowest grade and opens a sandbox order for it, unpaid;
// it returns the order and the months it covers.
func (r *certRig) openOrder(t *testing.T, tok string) (orderNo string, months int) {
	t.Helper()
	cl := r.cl
	if st, b := cl.Do("POST", "/api/v1/enrolments", tok, map[string]string{"person": "self", "scheme": "flexible_pension", "region_code": "150100"}); st != 201 {
		t.Fatalf("enrol %d %s", st, b)
	}
	var pb struct {
		Items []struct {
			PayableID string `json:"payable_id"`
		}
	}
	cl.DoJSON("POST", "/api/v1/payables/query", tok, map[string]string{"person": "self"}, &pb)
	var d struct {
		DeclarationID string `json:"declaration_id"`
		Months        int    `json:"months"`
	}
	if st := cl.DoJSON("POST", "/api/v1/declarations", tok, map[string]string{"payable_id": pb.Items[0].PayableID, "option_code": "grade_60"}, &d); st != 201 {
		t.Fatalf("declare %d", st)
	}
	var p struct {
		OrderNo string `json:"order_no"`
	}
	if st := cl.DoJSON("POST", "/api/v1/payments", tok, map[string]string{"declaration_id": d.DeclarationID, "channel": "sandbox"}, &p); st != 201 {
		t.Fatalf("pay %d", st)
	}
	return p.OrderNo, d.Months
}

type certBody struct {
	CertificateNo    string `json:"certificate_no"`
	VerifyCode       string `json:"verify_code"`
	Kind             string `json:"kind"`
	PDFURL           string `json:"pdf_url"`
	ReissueOf        string `json:"reissue_of"`
	TotalFen         int64  `json:"total_fen"`
	PersonNameMasked string `json:"person_name_masked"`
}

type verifyBody struct {
	Result           string `json:"result"`
	CertificateNo    string `json:"certificate_no"`
	Kind             string `json:"kind"`
	TotalFen         int64  `json:"total_fen"`
	LineCount        int    `json:"line_count"`
	PersonNameMasked string `json:"person_name_masked"`
	PersonIDMasked   string `json:"person_id_number_masked"`
	ReissueOf        string `json:"reissue_of"`
}

func verifyPath(no, code string) string {
	return "/api/v1/certificates/verify?" + url.Values{"no": {no}, "code": {code}}.Encode()
}

func TestAVoucherIsIssuedDownloadedAndVerifiedOverHTTP(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		r := newCertRig(t, db)
		cl := r.cl
		me := servicetest.Person(t, "张三明")
		tok := r.login(t, "zhang", me.Name, me.IDNumber)
		order := r.pay(t, tok)

		// 完税证明 waits for the treasury and says until when.
		tax := map[string]any{"kind": "tax_payment_certificate", "person": "self", "scheme": "flexible_pension",
			"period_from": "202611", "period_to": "202612"}
		res := cl.Send("POST", "/api/v1/certificates", tok, tax)
		if res.Status != 422 || res.ErrorCode() != "CERTIFICATE_NOT_CREDITED" || !strings.Contains(string(res.Body), "2026年11月") {
			t.Fatalf("tax certificate before 入库: %d %s", res.Status, res.Body)
		}

		// The voucher, at once.
		res = cl.Send("POST", "/api/v1/certificates", tok, map[string]string{"kind": "payment_voucher", "order_no": order})
		if res.Status != 201 {
			t.Fatalf("issue voucher: %d %s", res.Status, res.Body)
		}
		var v certBody
		res.Decode(t, &v)
		if v.Kind != "payment_voucher" || v.TotalFen != 196280 || v.PersonNameMasked != "张*明" ||
			res.Header.Get("Location") != "/api/v1/certificates/"+v.CertificateNo+"/pdf" {
			t.Fatalf("voucher %s, Location %q", res.Body, res.Header.Get("Location"))
		}

		// The PDF, as an attachment, reads back with its number and code;
		// the printed code verifies.
		res = cl.Send("GET", "/api/v1/certificates/"+v.CertificateNo+"/pdf", tok, nil)
		if res.Status != 200 || res.Header.Get("Content-Type") != "application/pdf" ||
			res.Header.Get("Content-Disposition") != `attachment; filename="`+v.CertificateNo+`.pdf"` || !bytes.HasPrefix(res.Body, []byte("%PDF-")) {
			t.Fatalf("download: %d %v", res.Status, res.Header)
		}
		text := servicetest.PDFText(t, res.Body)
		if !strings.Contains(text, v.CertificateNo) {
			t.Fatalf("the PDF lacks its number:\n%s", text)
		}
		m := regexp.MustCompile(`验证码：([0-9A-Z]{8})`).FindStringSubmatch(text)
		if m == nil || m[1] != v.VerifyCode {
			t.Fatalf("printed code %v, issued %s", m, v.VerifyCode)
		}
		var got verifyBody
		if st := r.from(t, r.newIP(t)).DoJSON("GET", verifyPath(v.CertificateNo, m[1]), "", nil, &got); st != 200 ||
			got.Result != "valid" || got.CertificateNo != v.CertificateNo || got.TotalFen != 196280 || got.LineCount != 2 ||
			got.PersonNameMasked != "张*明" || got.PersonIDMasked != "150102********1237" {
			t.Fatalf("verify the printed code: %d %+v", st, got)
		}

		// A wrong code and a number never issued get the same answer.
		wrong := cl.Send("GET", verifyPath(v.CertificateNo, "ZZZZZZZZ"), "", nil)
		never := cl.Send("GET", verifyPath("LBV20261120000000000001", v.VerifyCode), "", nil)
		tampered := cl.Send("GET", verifyPath(v.CertificateNo[:10]+"9"+v.CertificateNo[11:], v.VerifyCode), "", nil)
		for _, x := range []*apitest.Response{never, tampered} {
			if x.Status != wrong.Status || !bytes.Equal(x.Body, wrong.Body) {
				t.Fatalf("distinguishable: %d %s vs %d %s", wrong.Status, wrong.Body, x.Status, x.Body)
			}
		}
		if wrong.Status != 200 || string(wrong.Body) != `{"result":"unknown"}` {
			t.Fatalf("unknown: %d %s", wrong.Status, wrong.Body)
		}
		// A person scanning the QR code in a browser gets the same answer as
		// a page.
		page := r.from(t, r.newIP(t)).Send("GET", verifyPath(v.CertificateNo, m[1]), "", nil, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(page.Body), "有效") || !strings.Contains(string(page.Body), v.CertificateNo) ||
			!strings.Contains(string(page.Body), "1962.80") || strings.Contains(string(page.Body), "150102199003071237") {
			t.Fatalf("verification page: %d %s", page.Status, page.Body)
		}
		if wp := r.from(t, r.newIP(t)).Send("GET", verifyPath(v.CertificateNo, "ZZZZZZZZ"), "", nil, "Accept", "text/html"); !strings.Contains(string(wp.Body), "无法核验") ||
			strings.Contains(string(wp.Body), v.CertificateNo) {
			t.Fatalf("a wrong code's page says more than unknown: %s", wp.Body)
		}
		if res := cl.Send("GET", "/api/v1/certificates/verify?no="+v.CertificateNo, "", nil); res.Status != 400 {
			t.Fatalf("verify without a code: %d", res.Status)
		}

		// After 入库, the tax certificate; the list has both, newest first.
		r.env.Clock.Advance(3 * time.Second)
		r.env.Svc.WorkOnce(context.Background())
		var tc certBody
		if st := cl.DoJSON("POST", "/api/v1/certificates", tok, tax, &tc); st != 201 || !strings.HasPrefix(tc.CertificateNo, "LBT") {
			t.Fatalf("tax certificate after 入库: %d %+v", st, tc)
		}
		var list struct {
			Items         []certBody `json:"items"`
			NextPageToken string     `json:"next_page_token"`
		}
		if st := cl.DoJSON("GET", "/api/v1/certificates?page_size=1", tok, nil, &list); st != 200 || len(list.Items) != 1 ||
			list.Items[0].CertificateNo != tc.CertificateNo || list.NextPageToken == "" {
			t.Fatalf("list page 1: %d %+v", st, list)
		}
		if st := cl.DoJSON("GET", "/api/v1/certificates?page_size=1&page_token="+list.NextPageToken, tok, nil, &list); st != 200 ||
			len(list.Items) != 1 || list.Items[0].CertificateNo != v.CertificateNo || list.NextPageToken != "" {
			t.Fatalf("list page 2: %d %+v", st, list)
		}

		// A re-issue (补开) references the original; both verify.
		var re certBody
		if st := cl.DoJSON("POST", "/api/v1/certificates", tok, map[string]string{"kind": "payment_voucher", "reissue_of": v.CertificateNo}, &re); st != 201 ||
			re.ReissueOf != v.CertificateNo || re.CertificateNo == v.CertificateNo {
			t.Fatalf("re-issue: %d %+v", st, re)
		}
		for _, c := range []certBody{v, re} {
			if cl.DoJSON("GET", verifyPath(c.CertificateNo, c.VerifyCode), "", nil, &got); got.Result != "valid" || got.ReissueOf != c.ReissueOf {
				t.Errorf("verify %s: %+v", c.CertificateNo, got)
			}
		}

		// Nothing of it reaches a stranger, or anyone without a session.
		stranger := servicetest.Person(t, "赵海峰")
		stok := r.login(t, "stranger", stranger.Name, stranger.IDNumber)
		for _, x := range []struct {
			name, method, path string
			body               any
		}{
			{"issue the owner's voucher", "POST", "/api/v1/certificates", map[string]string{"kind": "payment_voucher", "order_no": order}},
			{"re-issue the owner's voucher", "POST", "/api/v1/certificates", map[string]string{"kind": "payment_voucher", "reissue_of": v.CertificateNo}},
			{"download the owner's voucher", "GET", "/api/v1/certificates/" + v.CertificateNo + "/pdf", nil},
			{"download a malformed number", "GET", "/api/v1/certificates/..%2f..%2fetc/pdf", nil},
		} {
			if res := cl.Send(x.method, x.path, stok, x.body); res.Status != 404 || res.ErrorCode() != "NOT_FOUND" {
				t.Errorf("%s as a stranger: %d %s", x.name, res.Status, res.Body)
			}
		}
		if st := cl.DoJSON("GET", "/api/v1/certificates", stok, nil, &list); st != 200 || len(list.Items) != 0 {
			t.Errorf("a stranger lists %d certificates", len(list.Items))
		}
		for _, path := range []string{"/api/v1/certificates", "/api/v1/certificates/" + v.CertificateNo + "/pdf"} {
			if res := cl.Send("GET", path, "", nil); res.Status != 401 {
				t.Errorf("GET %s without a session: %d", path, res.Status)
			}
		}
		for _, path := range []string{"/api/v1/certificates", verifyPath(v.CertificateNo, v.VerifyCode)} {
			_, body := cl.Do("GET", path, tok, nil)
			if bytes.Contains(body, []byte(me.IDNumber)) || bytes.Contains(body, []byte(me.Name)) {
				t.Errorf("GET %s reveals full personal data: %s", path, body)
			}
		}
	})
}

// TestAThousandWrongGuessesAreCutOffEarly runs the real limiter (Redis
// named by LIANBAN_TEST_REDIS, else embedded).
func TestAThousandWrongGuessesAreCutOffEarly(t *testing.T) {
	r := newCertRig(t, storetest.Targets()[0].Open(t))
	me := servicetest.Person(t, "张三明")
	tok := r.login(t, "zhang", me.Name, me.IDNumber)
	var v certBody
	if st := r.cl.DoJSON("POST", "/api/v1/certificates", tok, map[string]string{"kind": "payment_voucher", "order_no": r.pay(t, tok)}, &v); st != 201 {
		t.Fatalf("issue %d", st)
	}

	guesser := r.from(t, r.ip)
	first429 := -1
	limited := 0
	for i := range 1000 {
		res := guesser.Send("GET", verifyPath(v.CertificateNo, fmt.Sprintf("G%07d", i)), "", nil)
		switch {
		case res.Status == 429 && res.ErrorCode() == "RATE_LIMITED":
			limited++
			if first429 < 0 {
				first429 = i
			}
		case res.Status == 200 && first429 < 0:
		default:
			t.Fatalf("guess %d: %d %s", i, res.Status, res.Body)
		}
	}
	// 20 a minute: the 21st guess is refused, and (unless the run took a
	// whole minute) every one after it.
	if first429 != 20 || limited < 950 {
		t.Fatalf("first refusal at guess %d, %d of 1000 refused", first429, limited)
	}
	// The right code does not get through from there either…
	if res := guesser.Send("GET", verifyPath(v.CertificateNo, v.VerifyCode), "", nil); res.Status != 429 {
		t.Fatalf("right code from the limited client: %d", res.Status)
	}
	// …but does from anyone else.
	var got verifyBody
	if st := r.from(t, r.newIP(t)).DoJSON("GET", verifyPath(v.CertificateNo, v.VerifyCode), "", nil, &got); st != 200 || got.Result != "valid" {
		t.Fatalf("another client: %d %+v", st, got)
	}
	// A client that used up its day is refused however slowly it asks.
	day := r.newIP(t)
	if err := r.env.Redis.Client.Set(context.Background(), "lb:rl:cert-verify-day:"+day, 1000, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if res := r.from(t, day).Send("GET", verifyPath(v.CertificateNo, v.VerifyCode), "", nil); res.Status != 429 {
		t.Fatalf("after the daily cap: %d", res.Status)
	}
}
