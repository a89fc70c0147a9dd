package handlers_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// TestBodiesAreExactlyOneBoundedJSONObject: text after the JSON body is
// refused both by the plain decoder and by the Idempotency-Key path, and
// a body over the limit is 413 with the API's error body.
func TestBodiesAreExactlyOneBoundedJSONObject(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "strict", me.Name, me.IDNumber)
	enrol := `{"scheme":"flexible_pension","region_code":"150100"}`
	for _, body := range []string{enrol + "x", enrol + " {}", enrol + enrol, enrol + "]", "null", "[]", `"self"`, ""} {
		r := cl.Send("POST", "/api/v1/enrolments", tok, body)
		if r.Status != http.StatusBadRequest || r.ErrorCode() != "INVALID_ARGUMENT" {
			t.Errorf("enrolment body %q: %d %s", body, r.Status, r.Body)
		}
		r = cl.Send("POST", "/api/v1/declarations", tok, `{"payable_id":"x","option_code":"y"}`+strings.TrimPrefix(body, enrol), "Idempotency-Key", "k-"+body)
		if body != "" && (r.Status != http.StatusBadRequest || r.ErrorCode() != "INVALID_ARGUMENT") {
			t.Errorf("declaration with %q after it: %d %s", strings.TrimPrefix(body, enrol), r.Status, r.Body)
		}
	}
	// White space after the object is no trailing data.
	if r := cl.Send("POST", "/api/v1/enrolments", tok, enrol+" \r\n\t"); r.Status != http.StatusCreated {
		t.Errorf("trailing white space refused: %d %s", r.Status, r.Body)
	}
	big := `{"scheme":"flexible_pension","region_code":"150100","pad":"` + strings.Repeat("a", 64<<10) + `"}`
	for _, path := range []string{"/api/v1/enrolments", "/api/v1/declarations", "/api/v1/payables/query"} {
		r := cl.Send("POST", path, tok, big)
		if r.Status != http.StatusRequestEntityTooLarge || r.ErrorCode() != "BODY_TOO_LARGE" {
			t.Errorf("%s with a %d-byte body: %d %s", path, len(big), r.Status, r.Body)
		}
	}
	// Just under the limit is decoded as usual.
	fits := `{"pad":"` + strings.Repeat("a", 64<<10-len(`{"pad":""}`)) + `"}`
	if r := cl.Send("POST", "/api/v1/payables/query", tok, fits); r.Status != http.StatusOK {
		t.Errorf("a body of exactly 64 KiB: %d %.200s", r.Status, r.Body)
	}
}

// TestAMalformedPageTokenIsRefused: a page_token no list could have issued
// is 400, not an empty page or a database error.
func TestAMalformedPageTokenIsRefused(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "pages", me.Name, me.IDNumber)
	for _, path := range []string{"/api/v1/payments", "/api/v1/refunds", "/api/v1/me/messages", "/api/v1/certificates", "/api/v1/me/family", "/api/v1/records"} {
		for _, bad := range []string{"%27%3B--", "a%20b", "%00", strings.Repeat("a", 129), "%E5%BC%A0"} {
			r := cl.Send("GET", path+"?page_token="+bad, tok, nil)
			if r.Status != http.StatusBadRequest || r.ErrorCode() != "INVALID_ARGUMENT" {
				t.Errorf("%s?page_token=%.20s: %d %s", path, bad, r.Status, r.Body)
			}
		}
	}
	if r := cl.Send("GET", "/api/v1/payments?page_token=LB20261130120000123", tok, nil); r.Status != http.StatusOK {
		t.Errorf("a well-formed keyset token: %d %s", r.Status, r.Body)
	}
}

// TestTheBearerSchemeIsCaseInsensitive: RFC 7235 makes the auth scheme
// case-insensitive; the token is still exact.
func TestTheBearerSchemeIsCaseInsensitive(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	me := servicetest.Person(t, "张三明")
	tok := loginAs(t, cl, "bearer", me.Name, me.IDNumber)
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, "BEARER " + tok, "bEaReR  " + tok} {
		if r := cl.Send("GET", "/api/v1/me", "", nil, "Authorization", h); r.Status != http.StatusOK {
			t.Errorf("Authorization %.9q…: %d %s", h, r.Status, r.Body)
		}
	}
	for _, h := range []string{"Bearer", "Bearer ", "Bearer" + tok, "Basic " + tok, "Bearer " + strings.ToUpper(tok), "Bearer " + tok + " x", tok} {
		if r := cl.Send("GET", "/api/v1/me", "", nil, "Authorization", h); r.Status != http.StatusUnauthorized {
			t.Errorf("Authorization %.12q…: %d, want 401", h, r.Status)
		}
	}
}

// TestNamesWithHiddenCharactersAreNameInvalid: every route that takes a
// name refuses control characters, bidi overrides and invisible-only
// names as 400 NAME_INVALID before anything is looked up or stored.
func TestNamesWithHiddenCharactersAreNameInvalid(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	me := servicetest.Person(t, "张三明")
	mom := servicetest.Person(t, "李秀英")
	fresh := loginAs(t, cl, "fresh", me.Name, me.IDNumber)
	var unbound struct{ Token string }
	cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": "unbound"}, &unbound)
	for _, name := range []string{"李秀\u202e英", "李\x00秀英", "\u200b\u200b", "\u3164", "李\u200d秀英", "李秀\r英"} {
		inline := map[string]string{"name": name, "id_number": mom.IDNumber}
		for _, c := range []struct {
			path, tok string
			body      any
		}{
			{"/api/v1/me/identity", unbound.Token, inline},
			{"/api/v1/me/family", fresh, map[string]string{"name": name, "id_number": mom.IDNumber, "relation": "parent"}},
			{"/api/v1/payables/query", fresh, map[string]any{"person": inline}},
			{"/api/v1/enrolments", fresh, map[string]any{"person": inline, "scheme": "resident_pension", "region_code": "150100"}},
		} {
			r := cl.Send("POST", c.path, c.tok, c.body)
			if r.Status != http.StatusBadRequest || r.ErrorCode() != "NAME_INVALID" {
				t.Errorf("%s with name %q: %d %s", c.path, name, r.Status, r.Body)
			}
		}
	}
}

// TestThreeHundredNameGuessesAreCutOffOnEveryRoute is the attack:
// a bound user fires wrong names for a relative's ID number at every route
// that checks one. With the production budget only the first 19 are
// answered (the binding spent one), and the rest are 429 on all routes.
func TestThreeHundredNameGuessesAreCutOffOnEveryRoute(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) {
		d := service.Defaults()
		o.IdentityChecksPerUser, o.IdentityChecksPerAddress = d.IdentityChecksPerUser, d.IdentityChecksPerAddress
	}})
	s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ip := fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
	cl := apitest.Load(t).Client(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = ip + ":40000"
		s.ServeHTTP(w, r)
	}))
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	tok := loginAs(t, cl, "guesser", me.Name, me.IDNumber)
	counts := map[int]int{}
	for i := 0; i < 300; i++ {
		inline := map[string]string{"name": fmt.Sprintf("李%c英", '一'+rune(i)), "id_number": mom.IDNumber}
		var r *apitest.Response
		switch i % 3 {
		case 0:
			r = cl.Send("POST", "/api/v1/payables/query", tok, map[string]any{"person": inline})
		case 1:
			r = cl.Send("POST", "/api/v1/enrolments", tok, map[string]any{"person": inline, "scheme": "resident_pension", "region_code": "150100"})
		case 2:
			r = cl.Send("POST", "/api/v1/me/family", tok, map[string]string{"name": inline["name"], "id_number": mom.IDNumber, "relation": "parent"})
		}
		counts[r.Status]++
		if i >= 19 && (r.Status != http.StatusTooManyRequests || r.ErrorCode() != "RATE_LIMITED") {
			t.Fatalf("guess %d: %d %s, want 429 RATE_LIMITED", i+1, r.Status, r.Body)
		}
	}
	if counts[http.StatusUnprocessableEntity] != 19 || counts[http.StatusTooManyRequests] != 281 {
		t.Fatalf("answers by status: %v, want 19 × 422 and 281 × 429", counts)
	}
}

// TestASandboxSaysSoOnEveryResponse: the header is on every response of a
// sandbox server, errors included, and /healthz reports the mode; a
// production server sends neither and has no loginSandbox.
func TestASandboxSaysSoOnEveryResponse(t *testing.T) {
	env, cl, _ := newHTTPEnv(t)
	for _, c := range []struct{ method, path string }{{"GET", "/healthz"}, {"GET", "/api/v1/services"}, {"GET", "/api/v1/me"},
		{"GET", "/api/v1/nope"}, {"POST", "/api/v1/sessions/sandbox"}, {"POST", "/api/v1/notify/sandbox"}} {
		r := cl.SendUnchecked(c.method, c.path, "", nil)
		if r.Header.Get("X-Lianban-Sandbox") != "true" {
			t.Errorf("sandbox %s %s (%d) lacks X-Lianban-Sandbox: %v", c.method, c.path, r.Status, r.Header)
		}
	}
	var health struct{ Sandbox *bool }
	cl.Send("GET", "/healthz", "", nil).Decode(t, &health)
	if health.Sandbox == nil || !*health.Sandbox {
		t.Errorf("sandbox /healthz does not say sandbox: %v", health.Sandbox)
	}

	prod := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy})
	pcl := apitest.Load(t).Client(t, prod)
	for _, path := range []string{"/healthz", "/api/v1/services", "/api/v1/nope"} {
		if r := pcl.SendUnchecked("GET", path, "", nil); r.Header.Get("X-Lianban-Sandbox") != "" {
			t.Errorf("production %s says sandbox", path)
		}
	}
	pcl.Send("GET", "/healthz", "", nil).Decode(t, &health)
	if health.Sandbox == nil || *health.Sandbox {
		t.Errorf("production /healthz: sandbox %v, want false", health.Sandbox)
	}
	if r := pcl.SendUnchecked("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": "x"}); r.Status != http.StatusNotFound {
		t.Errorf("production loginSandbox: %d", r.Status)
	}
}
