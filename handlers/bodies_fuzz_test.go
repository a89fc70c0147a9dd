package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/store/storetest"
	"github.com/pquerna/otp/totp"
)

// bodyRoute is a route that takes a JSON body, with a path to reach it and
// the token that gets past its authentication to the decoder.
type bodyRoute struct {
	method, pattern, path, token string
}

// bodyRig is a sandbox server with a bound citizen and a hall admin, and
// every route of its router that takes a JSON body.
type bodyRig struct {
	h      http.Handler
	routes []bodyRoute
}

func newBodyRig(t testing.TB) *bodyRig {
	t.Helper()
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{})
	// Partner routes are walked as an authenticated partner, so their
	// bodies are decoded.
	s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true,
		Log: slog.New(slog.DiscardHandler), PartnerAuth: partnerStandIn("sandbox-bank")})
	me := servicetest.Person(t, "张三明")
	sess := env.LoginVerified(t, "bodies", me.Name, me.IDNumber)
	// Unit routes check who acts for the unit before they read a body (a
	// stranger learns nothing from how a body is refused), so they are
	// walked on a unit the caller acts for.
	unit, err := env.Svc.BindUnit(context.Background(), sess.UserID, units.BindInput{USCC: "91150100MA0LB00013", Name: "内蒙古联办示范科技有限公司"})
	if err != nil {
		t.Fatal(err)
	}
	// The same sandbox subject is the same, now bound, user.
	citizenToken := tokenOf(t, s, "/api/v1/sessions/sandbox", map[string]string{"subject": "bodies"})
	if err := env.Svc.SeedStaffAccount(context.Background(), "admin9", models.RoleAdmin, hallPassword, hallTOTP); err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(hallTOTP, env.Clock.Now())
	staffToken := tokenOf(t, s, "/api/v1/staff/sessions", map[string]string{"username": "admin9", "password": hallPassword, "totp": code})

	rig := &bodyRig{h: s}
	doc := apitest.Load(t).Doc()
	for _, r := range s.Engine().Routes() {
		// A route takes a body when its contract operation has one; the
		// contract test keeps router and contract the same.
		item := doc.Paths.Value(apitest.OpenAPIPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil || item.GetOperation(r.Method).RequestBody == nil {
			continue
		}
		if r.Method == http.MethodPost && r.Path == "/api/v1/units/:unit_id/employees" {
			// A roster: a JSON array (or a multipart file) of up to 2 MiB,
			// the one body that is not an object (API.md);
			// TestRosterBodyDecodesStrictly holds it to the same rules.
			continue
		}
		if rb := item.GetOperation(r.Method).RequestBody.Value; rb != nil && rb.Content.Get("application/json") == nil {
			continue // multipart uploads read their own body (handlers/units createUpload)
		}
		if strings.HasPrefix(r.Path, "/api/v1/notify/") {
			// Providers' own formats and answers, not JSON decoding:
			// TestStrangersNotificationsAreCountedNotPaged covers them.
			continue
		}
		br := bodyRoute{method: r.Method, pattern: r.Path}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			switch {
			case p == ":unit_id":
				parts[i] = unit.UnitID
			case strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*"):
				parts[i] = p[1:] + "_0"
			}
		}
		br.path = strings.Join(parts, "/")
		switch {
		case r.Path == "/api/v1/staff/sessions", strings.HasPrefix(r.Path, "/api/v1/sessions/"), strings.HasPrefix(r.Path, "/sandbox/"):
		case strings.HasPrefix(r.Path, "/api/v1/staff/"):
			br.token = staffToken
		default:
			br.token = citizenToken
		}
		rig.routes = append(rig.routes, br)
	}
	sort.Slice(rig.routes, func(i, j int) bool {
		return rig.routes[i].pattern+rig.routes[i].method < rig.routes[j].pattern+rig.routes[j].method
	})
	return rig
}

func tokenOf(t testing.TB, h http.Handler, path string, body any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b)))
	var res struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Token == "" {
		t.Fatalf("login at %s: %d %s", path, rec.Code, rec.Body)
	}
	return res.Token
}

func (r *bodyRig) send(route bodyRoute, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(route.method, route.path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if route.token != "" {
		req.Header.Set("Authorization", "Bearer "+route.token)
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	return rec
}

// oneObject reports whether body is exactly one JSON object, white space
// around it allowed: the only bodies any route may accept.
func oneObject(body []byte) bool {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

// checkBody is the property every route holds for every body: no 5xx, and
// nothing but one JSON object is ever accepted. An empty body may be
// accepted only where the request struct is optional (sandbox pay's result,
// a staff step's note), which the routes test by Content-Length.
func checkBody(t *testing.T, route bodyRoute, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %s with %.80q: %d %s", route.method, route.pattern, body, rec.Code, rec.Body)
	}
	if rec.Code < 300 && len(body) > 0 && !oneObject(body) {
		t.Fatalf("%s %s accepted %.80q: %d %s", route.method, route.pattern, body, rec.Code, rec.Body)
	}
	if len(body) > 64<<10 && rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%s %s with a %d-byte body: %d, want 413", route.method, route.pattern, len(body), rec.Code)
	}
}

// seedBodies are the bodies every route is walked with: the shapes of
// trailing data, wrong top-level types, broken and hostile JSON.
var seedBodies = []string{
	`{}`,
	`{} `,
	`{}x`,
	`{}{}`,
	`{} {"a":1}`,
	`{}]`,
	`{}` + "\x00",
	`{"scheme":"flexible_pension","region_code":"150100"}garbage`,
	`{"person":{"name":"李秀英","id_number":"150102196205122220"}} ,`,
	`null`,
	`[]`,
	`[{}]`,
	`"self"`,
	`123`,
	`true`,
	`{`,
	`{"a":`,
	`{"a":1,}`,
	`{"person":[]}`,
	`{"person":{"name":1}}`,
	`{"periods":"202611","refund_fen":"1"}`,
	`{"refund_fen":1e400}`,
	`{"refund_fen":-9223372036854775809}`,
	`{"name":"\ud800"}`,
	"{\"name\":\"\xff\xfe\"}",
	strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000),
	`{"a":"` + strings.Repeat("x", 1000) + `"}` + "\n\n\n",
}

// TestEveryBodyRouteDecodesStrictly walks every route of the router that
// takes a body with the seed corpus: none answers 5xx, none accepts text
// after the object, each refuses trailing data as 400 INVALID_ARGUMENT
// (so the strict decoder, not some later check, said no), and each
// answers a body over the limit with 413 and the API's error body.
func TestEveryBodyRouteDecodesStrictly(t *testing.T) {
	rig := newBodyRig(t)
	if len(rig.routes) < 20 {
		t.Fatalf("only %d body routes found: %v", len(rig.routes), rig.routes)
	}
	tooBig := []byte(`{"a":"` + strings.Repeat("x", 64<<10) + `"}`)
	for _, route := range rig.routes {
		for _, b := range seedBodies {
			checkBody(t, route, []byte(b), rig.send(route, []byte(b)))
		}
		for _, trailing := range []string{`{}x`, `{}{}`, `{} {"a":1}`, `{}]`} {
			rec := rig.send(route, []byte(trailing))
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"INVALID_ARGUMENT"`) {
				t.Errorf("%s %s with %q: %d %s, want 400 INVALID_ARGUMENT", route.method, route.pattern, trailing, rec.Code, rec.Body)
			}
		}
		rec := rig.send(route, tooBig)
		var e struct {
			Error struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if rec.Code != http.StatusRequestEntityTooLarge || json.Unmarshal(rec.Body.Bytes(), &e) != nil ||
			e.Error.Code != "BODY_TOO_LARGE" || e.Error.RequestID == "" {
			t.Errorf("%s %s with %d bytes: %d %.200s, want 413 BODY_TOO_LARGE", route.method, route.pattern, len(tooBig), rec.Code, rec.Body)
		}
	}
}

// FuzzJSONBodies throws arbitrary bodies at every route that takes one:
// no 5xx, and nothing but exactly one JSON object is ever accepted.
// `go test` runs the seed corpus; `go test -fuzz=FuzzJSONBodies ./handlers/`
// explores further.
func FuzzJSONBodies(f *testing.F) {
	rig := newBodyRig(f)
	for i := range rig.routes {
		for _, b := range seedBodies {
			f.Add(uint8(i), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := rig.routes[int(route)%len(rig.routes)]
		checkBody(t, r, body, rig.send(r, body))
	})
}
