package handlers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/lianban/lianban/channels/mengsuban/oidcfake"
	"github.com/lianban/lianban/channels/taxapp/taxappfake"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"golang.org/x/oauth2"
)

// loginRig is the router over real HTTP with the 税务 APP and 蒙速办 logins
// on their fakes; its client does not follow redirects, so the OIDC
// fake's 302 is seen (and checked against the contract) as it is.
type loginRig struct {
	env *servicetest.Env
	srv *httptest.Server
	cl  *apitest.Client
}

func newLoginRig(t *testing.T) *loginRig {
	t.Helper()
	return newLoginRigOn(t, storetest.Targets()[0].Open(t), nil)
}

// newLoginRigOn is newLoginRig on db and the Redis rdb (nil: the default).
func newLoginRigOn(t *testing.T, db *store.DB, rdb *store.Redis) *loginRig {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Logins: true, Redis: rdb})
	h = handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true,
		SandboxTaxApp: env.TaxApp, SandboxOIDC: env.OIDC})
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &loginRig{env: env, srv: srv, cl: apitest.Load(t).ServerClient(t, srv.URL, hc)}
}

type loginUser struct {
	Token string
	User  struct {
		UserID           string `json:"user_id"`
		Channel          string
		RealNameVerified bool   `json:"real_name_verified"`
		NameMasked       string `json:"name_masked"`
	}
}

func (r *loginRig) expect(t *testing.T, resp *apitest.Response, status int, code string) {
	t.Helper()
	if resp.Status != status || resp.ErrorCode() != code {
		t.Fatalf("got %d %s, want %d %s: %s", resp.Status, resp.ErrorCode(), status, code, resp.Body)
	}
}

// refused reads lianban_login_refused_total{channel,reason} from /metrics.
func (r *loginRig) refused(t *testing.T, channel, reason string) string {
	t.Helper()
	resp, err := http.Get(r.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	prefix := `lianban_login_refused_total{channel="` + channel + `",reason="` + reason + `"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "0"
}

func (r *loginRig) taxLogin(t *testing.T, token string) *apitest.Response {
	t.Helper()
	return r.cl.Send("POST", "/api/v1/sessions/taxapp", "", map[string]string{"token": token})
}

func (r *loginRig) mint(t *testing.T, subject, name, id string) string {
	t.Helper()
	var m struct{ Token string }
	resp := r.cl.Send("POST", "/sandbox/taxapp/token", "", map[string]string{"subject": subject, "name": name, "id_number": id})
	r.expect(t, resp, 201, "")
	resp.Decode(t, &m)
	return m.Token
}

func TestTaxAppLoginBindsTheRealNameAndRefusesBadTokens(t *testing.T) {
	r := newLoginRig(t)
	zhang, li := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")

	var u loginUser
	resp := r.taxLogin(t, r.mint(t, "app-zhang", zhang.Name, zhang.IDNumber))
	r.expect(t, resp, 201, "")
	resp.Decode(t, &u)
	if u.User.Channel != "taxapp" || !u.User.RealNameVerified || u.User.NameMasked != "张*明" {
		t.Fatalf("login: %s", resp.Body)
	}
	// The old field name still works, and a second login is the same account.
	var again loginUser
	resp = r.cl.Send("POST", "/api/v1/sessions/taxapp", "", map[string]string{"app_token": r.mint(t, "app-zhang", zhang.Name, zhang.IDNumber)})
	r.expect(t, resp, 201, "")
	resp.Decode(t, &again)
	if again.User.UserID != u.User.UserID {
		t.Fatal("a second login made another account")
	}
	// The same APP account claiming someone else: the binding stands.
	r.expect(t, r.taxLogin(t, r.mint(t, "app-zhang", li.Name, li.IDNumber)), 409, "IDENTITY_ALREADY_BOUND")
	// A name that is not the one on record for the ID number.
	r.expect(t, r.taxLogin(t, r.mint(t, "app-other", "张三", zhang.IDNumber)), 422, "IDENTITY_MISMATCH")
	// A malformed ID number in the claims.
	r.expect(t, r.taxLogin(t, r.mint(t, "app-bad", "王五", "150102199003071235")), 401, "LOGIN_FAILED")
	// No real name: an unverified account.
	resp = r.taxLogin(t, r.mint(t, "app-anon", "", ""))
	r.expect(t, resp, 201, "")
	var anon loginUser
	resp.Decode(t, &anon)
	if anon.User.RealNameVerified {
		t.Fatal("verified without a real name")
	}

	fake := r.env.TaxApp
	now := r.env.Clock.Now()
	mint := func(c taxappfake.Claims) string {
		tok, err := fake.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// The Env's fake signs ES256: a forger's own P-256 key under its kid.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, _ := taxappfake.SignWith(jose.ES256, fake.CurrentKID(), other, fake.Payload(taxappfake.Claims{Subject: "x"}))
	bad := map[string]string{
		"expired":       mint(taxappfake.Claims{Subject: "x", IssuedAt: now.Add(-time.Hour), Expiry: now.Add(-2 * time.Minute)}),
		"not_yet_valid": mint(taxappfake.Claims{Subject: "x", NotBefore: now.Add(5 * time.Minute)}),
		"issuer":        mint(taxappfake.Claims{Subject: "x", Issuer: "https://evil.invalid"}),
		"audience":      mint(taxappfake.Claims{Subject: "x", Audience: "not-lianban"}),
		"algorithm":     "eyJhbGciOiJub25lIiwia2lkIjoiayJ9." + strings.Split(mint(taxappfake.Claims{Subject: "x"}), ".")[1] + ".",
		"signature":     forged,
	}
	for reason, tok := range bad {
		r.expect(t, r.taxLogin(t, tok), 401, "LOGIN_FAILED")
		if got := r.refused(t, "taxapp", reason); got != "1" {
			t.Errorf("refusals for %s: %s", reason, got)
		}
	}
	if got := r.refused(t, "taxapp", "identity"); got != "2" {
		t.Errorf("identity refusals: %s", got)
	}

	// Rotation: the service signs with a new key and drops the old one.
	oldTok := mint(taxappfake.Claims{Subject: "app-zhang", Expiry: now.Add(time.Hour)})
	r.expect(t, r.taxLogin(t, oldTok), 201, "")
	oldKid := fake.CurrentKID()
	if _, err := fake.Rotate(); err != nil {
		t.Fatal(err)
	}
	fake.Retire(oldKid)
	r.env.Clock.Advance(time.Minute) // past the refetch floor
	r.expect(t, r.taxLogin(t, mint(taxappfake.Claims{Subject: "app-zhang"})), 201, "")
	r.expect(t, r.taxLogin(t, oldTok), 401, "LOGIN_FAILED")
	if got := r.refused(t, "taxapp", "unknown_kid"); got != "1" {
		t.Errorf("unknown kid refusals: %s", got)
	}
}

// mengsubanStart runs startMengsubanLogin and the provider's authorize
// for the person hint, returning the state and the code sent back.
func (r *loginRig) mengsubanStart(t *testing.T, verifier, hint string) (state, code string) {
	t.Helper()
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string
	}
	resp := r.cl.Send("POST", "/api/v1/sessions/mengsuban/authorize", "", map[string]string{
		"redirect_uri": servicetest.MengsubanRedirect, "code_challenge": oauth2.S256ChallengeFromVerifier(verifier)})
	r.expect(t, resp, 201, "")
	resp.Decode(t, &start)
	u, err := url.Parse(start.AuthorizationURL)
	if err != nil || !strings.HasPrefix(start.AuthorizationURL, r.srv.URL+"/sandbox/oidc/authorize?") {
		t.Fatalf("authorization_url %q", start.AuthorizationURL)
	}
	q := u.Query()
	if q.Get("state") != start.State || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization_url %q", start.AuthorizationURL)
	}
	// Without a person the provider shows whom to choose.
	if page := r.cl.Send("GET", u.Path+"?"+u.RawQuery, "", nil); page.Status != 200 || !strings.Contains(string(page.Body), "张三明") {
		t.Fatalf("chooser: %d %s", page.Status, page.Body)
	}
	q.Set("login_hint", hint)
	back := r.cl.Send("GET", u.Path+"?"+q.Encode(), "", nil)
	r.expect(t, back, 302, "")
	loc, err := url.Parse(back.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), servicetest.MengsubanRedirect+"?") || loc.Query().Get("state") != start.State {
		t.Fatalf("redirect %q", back.Header.Get("Location"))
	}
	return start.State, loc.Query().Get("code")
}

func (r *loginRig) mengsubanLogin(t *testing.T, code, verifier, state string) *apitest.Response {
	t.Helper()
	return r.cl.Send("POST", "/api/v1/sessions/mengsuban", "", map[string]string{"code": code,
		"redirect_uri": servicetest.MengsubanRedirect, "code_verifier": verifier, "state": state})
}

func TestMengsubanLoginEndToEndWithPKCE(t *testing.T) {
	r := newLoginRig(t)
	zhang := servicetest.Person(t, "张三明")
	v := oauth2.GenerateVerifier()
	state, code := r.mengsubanStart(t, v, zhang.IDNumber)
	resp := r.mengsubanLogin(t, code, v, state)
	r.expect(t, resp, 201, "")
	var u loginUser
	resp.Decode(t, &u)
	if u.User.Channel != "mengsuban" || !u.User.RealNameVerified || u.User.NameMasked != "张*明" {
		t.Fatalf("login: %s", resp.Body)
	}
	if me := r.cl.Send("GET", "/api/v1/me", u.Token, nil); me.Status != 200 {
		t.Fatalf("me: %d", me.Status)
	}
	// The state is used once.
	r.expect(t, r.mengsubanLogin(t, code, v, state), 401, "LOGIN_FAILED")
	// A state never issued.
	r.expect(t, r.mengsubanLogin(t, code, v, "forged-state"), 401, "LOGIN_FAILED")
	if got := r.refused(t, "mengsuban", "state"); got != "2" {
		t.Errorf("state refusals: %s", got)
	}

	// A code_verifier that is not the challenge's: refused, and the state
	// is spent, so the right verifier cannot be tried after it.
	v2 := oauth2.GenerateVerifier()
	state, code = r.mengsubanStart(t, v2, "msb-demo-2")
	r.expect(t, r.mengsubanLogin(t, code, oauth2.GenerateVerifier(), state), 401, "LOGIN_FAILED")
	r.expect(t, r.mengsubanLogin(t, code, v2, state), 401, "LOGIN_FAILED")
	if got := r.refused(t, "mengsuban", "pkce"); got != "1" {
		t.Errorf("pkce refusals: %s", got)
	}

	for reason, tamper := range map[string]func(*oidcfake.IDTokenClaims){
		"nonce":    func(c *oidcfake.IDTokenClaims) { c.Nonce = "not-the-one-issued" },
		"issuer":   func(c *oidcfake.IDTokenClaims) { c.Issuer = "https://evil.invalid/oidc" },
		"audience": func(c *oidcfake.IDTokenClaims) { c.Audience = "someone-else" },
		"expired":  func(c *oidcfake.IDTokenClaims) { c.Expiry = c.IssuedAt.Add(-time.Second) },
	} {
		r.env.OIDC.SetTamper(tamper)
		v := oauth2.GenerateVerifier()
		state, code := r.mengsubanStart(t, v, "msb-demo-1")
		r.expect(t, r.mengsubanLogin(t, code, v, state), 401, "LOGIN_FAILED")
		if got := r.refused(t, "mengsuban", reason); got != "1" {
			t.Errorf("%s refusals: %s", reason, got)
		}
	}
	r.env.OIDC.SetTamper(nil)

	// The redirect URI must be the one the state was issued for, and one
	// the configuration allows.
	v3 := oauth2.GenerateVerifier()
	state, code = r.mengsubanStart(t, v3, "msb-demo-1")
	resp = r.cl.Send("POST", "/api/v1/sessions/mengsuban", "", map[string]string{"code": code,
		"redirect_uri": servicetest.MengsubanRedirect + "?evil=1", "code_verifier": v3, "state": state})
	r.expect(t, resp, 401, "LOGIN_FAILED")
	r.expect(t, r.cl.Send("POST", "/api/v1/sessions/mengsuban/authorize", "", map[string]string{
		"redirect_uri": "https://evil.invalid/cb", "code_challenge": oauth2.S256ChallengeFromVerifier(v3)}), 400, "INVALID_ARGUMENT")
	// A state expires.
	v4 := oauth2.GenerateVerifier()
	state, code = r.mengsubanStart(t, v4, "msb-demo-1")
	if ttl := r.env.Redis.Client.TTL(t.Context(), stateKey(state)).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Errorf("state TTL %s", ttl)
	}
	r.expect(t, r.mengsubanLogin(t, code, v4, state), 201, "")
}

// stateKey mirrors service/people's Redis key of a pending authorization.
func stateKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return "lb:authz:" + hex.EncodeToString(h[:])
}

// TestMengsubanStateIsUsedOnceUnderConcurrency: ten tabs posting the same
// code and state at once get one session; the other nine are refused.
func TestMengsubanStateIsUsedOnceUnderConcurrency(t *testing.T) {
	storetest.SQLiteOnEachRedis(t, func(t *testing.T, db *store.DB, rdb *store.Redis) {
		testMengsubanStateIsUsedOnceUnderConcurrency(t, newLoginRigOn(t, db, rdb))
	})
}

func testMengsubanStateIsUsedOnceUnderConcurrency(t *testing.T, r *loginRig) {
	v := oauth2.GenerateVerifier()
	state, code := r.mengsubanStart(t, v, "msb-demo-1")
	body := `{"code":"` + code + `","redirect_uri":"` + servicetest.MengsubanRedirect + `","code_verifier":"` + v + `","state":"` + state + `"}`
	statuses := make(chan int, 10)
	for i := 0; i < 10; i++ {
		go func() {
			resp, err := http.Post(r.srv.URL+"/api/v1/sessions/mengsuban", "application/json", strings.NewReader(body))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	count := map[int]int{}
	for i := 0; i < 10; i++ {
		count[<-statuses]++
	}
	if count[201] != 1 || count[401] != 9 {
		t.Fatalf("statuses %v, want one 201 and nine 401", count)
	}
}

// A tax APP token is a bearer credential valid minutes: whoever sees it
// (a log, a Referer, a shared screen) must not log in with it after the
// person did, neither as it is nor with its ECDSA signature flipped to
// (r, n−s), which verifies too and makes another string.
func TestTaxAppTokenLogsInOnce(t *testing.T) {
	storetest.SQLiteOnEachRedis(t, func(t *testing.T, db *store.DB, rdb *store.Redis) {
		testTaxAppTokenLogsInOnce(t, newLoginRigOn(t, db, rdb))
	})
}

func testTaxAppTokenLogsInOnce(t *testing.T, r *loginRig) {
	zhang := servicetest.Person(t, "张三明")
	tok := r.mint(t, "app-zhang", zhang.Name, zhang.IDNumber)
	r.expect(t, r.taxLogin(t, tok), 201, "")
	r.expect(t, r.taxLogin(t, tok), 401, "LOGIN_FAILED")
	if got := r.refused(t, "taxapp", "replayed"); got != "1" {
		t.Errorf("replay refusals: %s", got)
	}

	// The Env's fake signs ES256; a token without jti, replayed with s
	// flipped (a subject of its own: the test Redis outlives the run).
	uniq := make([]byte, 8)
	_, _ = rand.Read(uniq)
	plain, err := r.env.TaxApp.Mint(taxappfake.Claims{Subject: "app-li-" + hex.EncodeToString(uniq), NoID: true})
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, r.taxLogin(t, plain), 201, "")
	i := strings.LastIndexByte(plain, '.')
	sig, err := base64.RawURLEncoding.DecodeString(plain[i+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("ES256 signature: %d bytes, %v", len(sig), err)
	}
	s := new(big.Int).Sub(elliptic.P256().Params().N, new(big.Int).SetBytes(sig[32:]))
	flipped := append(append([]byte(nil), sig[:32]...), s.FillBytes(make([]byte, 32))...)
	r.expect(t, r.taxLogin(t, plain[:i+1]+base64.RawURLEncoding.EncodeToString(flipped)), 401, "LOGIN_FAILED")
	if got := r.refused(t, "taxapp", "replayed"); got != "2" {
		t.Errorf("replay refusals after the flipped signature: %s", got)
	}
}

// Outside sandbox mode the login fakes are not served, even handed to the
// router: nobody can mint a tax APP token or sign in at the fake provider.
func TestLoginFakesAreNotServedOutsideSandbox(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: "http://127.0.0.1:1", Logins: true})
	h := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: false,
		SandboxTaxApp: env.TaxApp, SandboxOIDC: env.OIDC})
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/sandbox/taxapp/token", `{"subject":"x","name":"张三明","id_number":"150102199003071237"}`},
		{"GET", "/sandbox/oidc/.well-known/openid-configuration", ""},
		{"GET", "/sandbox/oidc/authorize?login_hint=x", ""},
		{"POST", "/sandbox/oidc/token", ""},
		{"GET", "/sandbox/oidc/jwks", ""},
		{"GET", "/sandbox/oidc/userinfo", ""},
		{"POST", "/api/v1/sessions/sandbox", `{"subject":"x"}`},
	} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s %s outside sandbox: %d %s", r.method, r.path, w.Code, w.Body)
		}
	}
}
