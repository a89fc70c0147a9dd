package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/partners"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"github.com/redis/go-redis/v9"
)

const (
	bankID  = "sandbox-bank"
	bankKey = "sandbox-partner-key"
)

// partnerEnv is a server whose /partner/v1 has one echo route behind the
// real authentication, since the counter routes are not this test's.
type partnerEnv struct {
	env *servicetest.Env
	srv *httptest.Server
	cl  *apitest.Client
	s   *handlers.Server
}

// echo is what the test route answers: who the middleware says called and
// the body the handler got.
type echo struct {
	PartnerID string   `json:"partner_id"`
	KeyID     string   `json:"key_id"`
	Channels  []string `json:"channels"`
	Body      string   `json:"body"`
	Path      string   `json:"path"`
}

func newPartnerEnv(t *testing.T, db *store.DB, mutate func(*service.Deps, *service.Options)) *partnerEnv {
	t.Helper()
	return newPartnerEnvOn(t, db, nil, mutate)
}

// newPartnerEnvOn is newPartnerEnv on the Redis rdb (nil: the default).
func newPartnerEnvOn(t *testing.T, db *store.DB, rdb *store.Redis, mutate func(*service.Deps, *service.Options)) *partnerEnv {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	env := servicetest.New(t, db, servicetest.Config{PublicURL: srv.URL, Mutate: mutate, Redis: rdb})
	s := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	g := s.Engine().Group("/partner/v1", s.PartnerAuthenticated())
	answer := func(c *gin.Context) {
		a, ok := httpx.PartnerActor(c)
		if !ok {
			c.JSON(500, gin.H{"error": "no partner on an authenticated request"})
			return
		}
		b, _ := io.ReadAll(c.Request.Body)
		status := 200
		if c.Query("fail") != "" {
			status = 422
		}
		c.JSON(status, echo{PartnerID: a.PartnerID, KeyID: a.KeyID, Channels: a.Channels, Body: string(b), Path: c.Request.URL.Path})
	}
	g.POST("/echo/:id", answer)
	g.GET("/echo/:id", answer)
	g.PUT("/echo/:id", answer)
	h = s
	ctx := context.Background()
	if err := env.Svc.SeedPartner(ctx, partners.PartnerInput{PartnerID: bankID, Name: "联办示范银行",
		Channels: []string{"yunongtong", "bank_counter", "yun_pos"}}, "sandbox-bank-key-1", bankKey); err != nil {
		t.Fatal(err)
	}
	return &partnerEnv{env: env, srv: srv, s: s, cl: apitest.Load(t).ServerClient(t, srv.URL, srv.Client())}
}

// client signs as the partner with key, on the server's clock.
func (p *partnerEnv) client(id, key string) *partner.Client {
	return &partner.Client{BaseURL: p.srv.URL, PartnerID: id, Key: []byte(key), HTTP: p.srv.Client(), Clock: p.env.Clock}
}

func do(t *testing.T, c *partner.Client, method, path string, body string) *partner.Response {
	t.Helper()
	r, err := c.Do(context.Background(), method, path, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantRefused(t *testing.T, what string, r *partner.Response) {
	t.Helper()
	if r.Status != 401 || apitest.ErrorCode(r.Body) != "PARTNER_AUTH_FAILED" {
		t.Fatalf("%s: %d %s, want 401 PARTNER_AUTH_FAILED", what, r.Status, r.Body)
	}
	// One answer for every reason: the caller learns nothing of which.
	var e struct {
		Error struct {
			Reason string `json:"reason"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	if e.Error.Reason != "" {
		t.Fatalf("%s: the refusal tells a reason %q", what, e.Error.Reason)
	}
}

// raw sends a hand-made request (a signature made for something else).
func (p *partnerEnv) raw(t *testing.T, req *http.Request) *partner.Response {
	t.Helper()
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &partner.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// failures reads lianban_partner_auth_failures_total by reason off /metrics.
func (p *partnerEnv) failures(t *testing.T) map[string]int {
	t.Helper()
	resp, err := p.srv.Client().Get(p.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]int{}
	re := regexp.MustCompile(`(?m)^lianban_partner_auth_failures_total\{reason="([a-z_]+)"\} (\d+)$`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// TestOnlyASignedFreshRequestOfAnActivePartnerGetsThrough walks every way
// a partner request can fail through the real router, middleware and
// database: each is 401 PARTNER_AUTH_FAILED without a reason, counted
// under its reason in /metrics, and recorded with the partner it claimed.
func TestOnlyASignedFreshRequestOfAnActivePartnerGetsThrough(t *testing.T) {
	storetest.SQLiteOnEachRedis(t, func(t *testing.T, db *store.DB, rdb *store.Redis) {
		testOnlyASignedFreshRequestOfAnActivePartnerGetsThrough(t, newPartnerEnvOn(t, db, rdb, nil))
	})
}

func testOnlyASignedFreshRequestOfAnActivePartnerGetsThrough(t *testing.T, p *partnerEnv) {
	bank := p.client(bankID, bankKey)
	for r, n := range p.failures(t) {
		if n != 0 {
			t.Fatalf("%s starts at %d", r, n)
		}
	}
	if len(p.failures(t)) != len(partners.Reasons) {
		t.Fatalf("metrics export %v, want every reason from the start", p.failures(t))
	}

	// A good request passes, with its body intact for the handler.
	body := `{"id_number":"150102198001011234","name":"张三"}`
	r := do(t, bank, "POST", "/partner/v1/echo/a?x=1&y=%E4%B8%AD", body)
	if r.Status != 200 {
		t.Fatalf("a good request: %d %s", r.Status, r.Body)
	}
	var e echo
	_ = json.Unmarshal(r.Body, &e)
	if e.PartnerID != bankID || e.KeyID != "sandbox-bank-key-1" || e.Body != body ||
		strings.Join(e.Channels, ",") != "bank_counter,yun_pos,yunongtong" {
		t.Fatalf("the handler saw %+v", e)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id on a partner answer")
	}
	// A GET without a body and a PUT of a CSV pass too.
	if r := do(t, bank, "GET", "/partner/v1/echo/b", ""); r.Status != 200 {
		t.Fatalf("a GET: %d %s", r.Status, r.Body)
	}
	csv := "partner_txn_id,order_no,amount_fen\nT1,LB1,12345\n"
	if r, err := bank.DoContent(context.Background(), "PUT", "/partner/v1/echo/c", "text/csv", []byte(csv)); err != nil || r.Status != 200 ||
		!strings.Contains(string(r.Body), "T1,LB1,12345") {
		t.Fatalf("a CSV: %v %+v", err, r)
	}

	wantRefused(t, "wrong key", do(t, p.client(bankID, "not-the-key"), "POST", "/partner/v1/echo/a", body))

	now := p.env.Clock.Now().Unix()
	signed := func(method, signedPath, sentPath, signedBody, sentBody string) *http.Request {
		req, _ := http.NewRequest(method, p.srv.URL+signedPath, strings.NewReader(signedBody))
		partner.SignRequest(req, bankID, []byte(bankKey), now, partner.NewNonce(), []byte(signedBody))
		out, _ := http.NewRequest(method, p.srv.URL+sentPath, strings.NewReader(sentBody))
		out.Header = req.Header
		return out
	}
	wantRefused(t, "body changed", p.raw(t, signed("POST", "/partner/v1/echo/a", "/partner/v1/echo/a", body, strings.Replace(body, "张三", "李四", 1))))
	wantRefused(t, "path changed", p.raw(t, signed("POST", "/partner/v1/echo/a", "/partner/v1/echo/b", body, body)))
	wantRefused(t, "query changed", p.raw(t, signed("POST", "/partner/v1/echo/a?amount=1", "/partner/v1/echo/a?amount=100", body, body)))
	wantRefused(t, "query added", p.raw(t, signed("POST", "/partner/v1/echo/a", "/partner/v1/echo/a?fail=1", body, body)))
	getSig := signed("GET", "/partner/v1/echo/a", "/partner/v1/echo/a", "", "")
	postReq, _ := http.NewRequest("POST", p.srv.URL+"/partner/v1/echo/a", nil)
	postReq.Header = getSig.Header
	wantRefused(t, "a GET's signature on a POST", p.raw(t, postReq))

	// A replay of the same nonce is refused, even with a fresh signature.
	nonce := partner.NewNonce()
	replayer := p.client(bankID, bankKey)
	replayer.Nonce = func() string { return nonce }
	if r := do(t, replayer, "POST", "/partner/v1/echo/a", body); r.Status != 200 {
		t.Fatalf("first use of a nonce: %d %s", r.Status, r.Body)
	}
	wantRefused(t, "replayed nonce", do(t, replayer, "POST", "/partner/v1/echo/a", body))
	wantRefused(t, "replayed nonce on another route", do(t, replayer, "GET", "/partner/v1/echo/z", ""))
	// Ten copies at once: none gets through.
	nonce = partner.NewNonce()
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := replayer.Do(context.Background(), "POST", "/partner/v1/echo/a", []byte(body))
			if err == nil && r.Status == 200 {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if passed != 1 {
		t.Fatalf("%d of 10 concurrent requests with one nonce passed, want 1", passed)
	}

	// The clock window: ±300 s passes, a second more does not.
	skewed := func(d time.Duration) *partner.Client {
		c := p.client(bankID, bankKey)
		c.Clock = models.NewManualClock(p.env.Clock.Now().Add(d))
		return c
	}
	for _, d := range []time.Duration{-300 * time.Second, 300 * time.Second} {
		if r := do(t, skewed(d), "POST", "/partner/v1/echo/a", body); r.Status != 200 {
			t.Fatalf("a timestamp %v off: %d %s", d, r.Status, r.Body)
		}
	}
	wantRefused(t, "stale timestamp", do(t, skewed(-301*time.Second), "POST", "/partner/v1/echo/a", body))
	wantRefused(t, "future timestamp", do(t, skewed(301*time.Second), "POST", "/partner/v1/echo/a", body))

	wantRefused(t, "unknown partner", do(t, p.client("no-such-bank", bankKey), "POST", "/partner/v1/echo/a", body))

	// Malformed: headers missing or ill-formed, a bearer token.
	noSig := signed("POST", "/partner/v1/echo/a", "/partner/v1/echo/a", body, body)
	noSig.Header.Del(partner.HeaderSignature)
	wantRefused(t, "no signature", p.raw(t, noSig))
	badTS := signed("POST", "/partner/v1/echo/a", "/partner/v1/echo/a", body, body)
	badTS.Header.Set(partner.HeaderTimestamp, "yesterday")
	wantRefused(t, "timestamp not a number", p.raw(t, badTS))
	shortNonce := p.client(bankID, bankKey)
	shortNonce.Nonce = func() string { return "abc" }
	wantRefused(t, "nonce too short", do(t, shortNonce, "POST", "/partner/v1/echo/a", body))

	// A person's or a staff member's session opens nothing here, alone or
	// beside a good signature; a partner's signature opens nothing on
	// /api/v1.
	toks := hallTokens(t, p.env, p.cl)
	citizen := loginAs(t, p.cl, "partner-test", servicetest.Person(t, "张三明").Name, servicetest.Person(t, "张三明").IDNumber)
	for who, tok := range map[string]string{"citizen": citizen, "staff": toks["admin1"]} {
		req, _ := http.NewRequest("POST", p.srv.URL+"/partner/v1/echo/a", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		wantRefused(t, who+" token alone", p.raw(t, req))
		both := signed("POST", "/partner/v1/echo/a", "/partner/v1/echo/a", body, body)
		both.Header.Set("Authorization", "Bearer "+tok)
		wantRefused(t, who+" token beside a good signature", p.raw(t, both))
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/staff/me", "/api/v1/staff/partners"} {
		if r := do(t, bank, "GET", path, ""); r.Status != 401 {
			t.Fatalf("a partner's signature on %s: %d %s", path, r.Status, r.Body)
		}
	}

	// A disabled partner is refused; enabled again, it passes.
	admin := adminActor("padmin")
	if _, err := p.env.Svc.SetPartnerStatus(context.Background(), admin, bankID, false); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, "disabled partner", do(t, bank, "POST", "/partner/v1/echo/a", body))
	if _, err := p.env.Svc.SetPartnerStatus(context.Background(), admin, bankID, true); err != nil {
		t.Fatal(err)
	}
	if r := do(t, bank, "POST", "/partner/v1/echo/a", body); r.Status != 200 {
		t.Fatalf("enabled again: %d %s", r.Status, r.Body)
	}

	// Over 10 MiB is 413, before anything is buffered past the limit.
	big := bytes.Repeat([]byte("a"), httpx.MaxPartnerBody+1)
	if r, err := bank.DoContent(context.Background(), "PUT", "/partner/v1/echo/c", "text/csv", big); err != nil || r.Status != 413 {
		t.Fatalf("an 11 MB body: %v %+v", err, r.Status)
	}

	want := map[string]int{
		partners.ReasonBadSignature:   6, // wrong key, body, path, query, query added, a GET's signature on a POST
		partners.ReasonReplayedNonce:  11,
		partners.ReasonStaleTimestamp: 2,
		partners.ReasonUnknownPartner: 1,
		partners.ReasonMalformed:      7, // no signature, bad timestamp, short nonce, 2 tokens alone, 2 tokens beside
		partners.ReasonDisabled:       1,
	}
	got := p.failures(t)
	for r, n := range want {
		if got[r] != n {
			t.Errorf("lianban_partner_auth_failures_total{reason=%q} = %d, want %d (all: %v)", r, got[r], n, got)
		}
	}

	// Every call is on record: passed ones with their key and status,
	// refused ones with the partner they claimed and why.
	var calls []store.PartnerCallRow
	if err := p.env.DB.Gorm.Order("id").Find(&calls).Error; err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, c := range calls {
		count[c.Outcome]++
		if c.RequestID == "" || c.PeerIP == "" || c.Method == "" || !strings.HasPrefix(c.Path, "/partner/v1/") {
			t.Fatalf("a call recorded without where or what: %+v", c)
		}
	}
	refused := 0
	for _, n := range want {
		refused += n
	}
	if count[partners.CallRefused] != refused+1 { // + the 413
		t.Errorf("%d refused calls recorded, want %d", count[partners.CallRefused], refused+1)
	}
	passedCalls := 3 + 1 + 1 + 2 + 1 // good ones, first nonce use, one of ten, window edges, enabled again
	if count[partners.CallOK] != passedCalls {
		t.Errorf("%d ok calls recorded, want %d", count[partners.CallOK], passedCalls)
	}
	first := calls[0]
	if !first.Authenticated || first.PartnerID != bankID || first.KeyID != "sandbox-bank-key-1" || first.Status != 200 || first.Path != "/partner/v1/echo/a" ||
		first.Route != "/partner/v1/echo/:id" {
		t.Errorf("the first call's record: %+v", first)
	}
	var unknown store.PartnerCallRow
	if err := p.env.DB.Gorm.Where("reason = ?", partners.ReasonUnknownPartner).Take(&unknown).Error; err != nil {
		t.Fatal(err)
	}
	if unknown.PartnerID != "no-such-bank" || unknown.Authenticated || unknown.Status != 401 {
		t.Errorf("the unknown partner's record: %+v", unknown)
	}
	// An error answer of an authenticated call is recorded as such.
	if r := do(t, bank, "POST", "/partner/v1/echo/a?fail=1", body); r.Status != 422 {
		t.Fatalf("a failing handler: %d", r.Status)
	}
	var last store.PartnerCallRow
	if err := p.env.DB.Gorm.Order("id DESC").Take(&last).Error; err != nil {
		t.Fatal(err)
	}
	if last.Outcome != partners.CallError || last.Status != 422 || !last.Authenticated {
		t.Errorf("a 422 answer's record: %+v", last)
	}
}

// breakableRedis is a Redis the test can take down and bring back with its
// data, as an outage of a real one does.
func breakableRedis(t *testing.T) (*miniredis.Miniredis, func(*service.Deps, *service.Options)) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	return m, func(d *service.Deps, _ *service.Options) { d.Redis = &store.Redis{Client: c} }
}

// TestANonceUsedWhileRedisIsDownStaysUsedWhenItComesBack: the database is
// the record of used nonces, so a replay is refused with Redis up, down,
// back again, and back having lost its keys; and the worker purges the
// records once their requests could no longer pass the clock window.
func TestANonceUsedWhileRedisIsDownStaysUsedWhenItComesBack(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		m, mutate := breakableRedis(t)
		p := newPartnerEnv(t, db, mutate)
		fixed := func(n string) *partner.Client {
			c := p.client(bankID, bankKey)
			c.Nonce = func() string { return n }
			return c
		}
		ok := func(what string, c *partner.Client) {
			t.Helper()
			if r := do(t, c, "POST", "/partner/v1/echo/a", "{}"); r.Status != 200 {
				t.Fatalf("%s: %d %s", what, r.Status, r.Body)
			}
		}
		up := fixed(partner.NewNonce())
		ok("nonce used while Redis is up", up)
		wantRefused(t, "replay while Redis is up", do(t, up, "POST", "/partner/v1/echo/a", "{}"))

		m.Close()
		down := fixed(partner.NewNonce())
		ok("nonce used while Redis is down", down)
		wantRefused(t, "replay while Redis is down", do(t, down, "POST", "/partner/v1/echo/a", "{}"))
		wantRefused(t, "replay of an up-time nonce while Redis is down", do(t, up, "POST", "/partner/v1/echo/a", "{}"))

		if err := m.Restart(); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, "replay of a down-time nonce after Redis is back", do(t, down, "POST", "/partner/v1/echo/a", "{}"))
		m.FlushAll()
		wantRefused(t, "replay after Redis came back empty", do(t, up, "POST", "/partner/v1/echo/a", "{}"))
		ok("a fresh nonce after Redis is back", p.client(bankID, bankKey))

		if n := p.failures(t)[partners.ReasonReplayedNonce]; n != 5 {
			t.Fatalf("replays counted: %d, want 5", n)
		}
		var rows int64
		db.Gorm.Model(&store.PartnerNonceRow{}).Count(&rows)
		if rows != 3 {
			t.Fatalf("%d nonce rows, want 3", rows)
		}
		// Once a nonce's first request can no longer pass the clock window,
		// the nonce may serve again (its record not purged yet), once.
		past := partners.ClockWindow + 2*time.Minute
		p.env.Clock.Advance(past)
		m.FastForward(past)
		ok("a nonce reused after its first request's window", up)
		wantRefused(t, "a replay of the reuse", do(t, up, "POST", "/partner/v1/echo/a", "{}"))
		// The worker purges the records past their window: all but the
		// reused one.
		p.env.Svc.WorkOnce(context.Background())
		db.Gorm.Model(&store.PartnerNonceRow{}).Count(&rows)
		if rows != 1 {
			t.Fatalf("%d nonce rows after the purge, want 1", rows)
		}
		p.env.Clock.Advance(past)
		p.env.Svc.WorkOnce(context.Background())
		db.Gorm.Model(&store.PartnerNonceRow{}).Count(&rows)
		if rows != 0 {
			t.Fatalf("%d nonce rows after the second purge, want 0", rows)
		}
	})
}

// TestAdminsManagePartnersAndKeys: only an admin creates, lists, rotates,
// retires, disables and enables (others get 403, audited); a secret is
// shown once and stored sealed; during a rotation both live keys sign, a
// third key retires the oldest, and a retired key signs nothing.
func TestAdminsManagePartnersAndKeys(t *testing.T) {
	p := newPartnerEnv(t, storetest.Targets()[0].Open(t), nil)
	toks := hallTokens(t, p.env, p.cl)
	admin := toks["admin1"]
	expect := func(r *apitest.Response, status int, code string) {
		t.Helper()
		if r.Status != status || r.ErrorCode() != code {
			t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.ErrorCode(), status, code, r.Body)
		}
	}
	var created partners.CreatedPartner
	r := p.cl.Send("POST", "/api/v1/staff/partners", admin, map[string]any{"partner_id": "ynt-bank", "name": "裕农通示范银行",
		"channels": []string{"yunongtong", "bank_counter", "yunongtong"}})
	expect(r, 201, "")
	r.Decode(t, &created)
	if created.Secret == "" || created.KeyID == "" || created.Partner.Status != "active" ||
		strings.Join(created.Partner.Channels, ",") != "bank_counter,yunongtong" || len(created.Partner.Keys) != 1 {
		t.Fatalf("created: %+v", created)
	}
	secrets := []string{created.Secret}
	expect(p.cl.Send("POST", "/api/v1/staff/partners", admin, map[string]any{"partner_id": "ynt-bank", "name": "x", "channels": []string{"yun_pos"}}), 409, "PARTNER_EXISTS")
	expect(p.cl.Send("POST", "/api/v1/staff/partners", admin, map[string]any{"partner_id": "Bad Id", "name": "x", "channels": []string{"yun_pos"}}), 400, "INVALID_ARGUMENT")
	expect(p.cl.Send("POST", "/api/v1/staff/partners", admin, map[string]any{"partner_id": "other", "name": "x", "channels": []string{"wechat"}}), 400, "INVALID_ARGUMENT")
	expect(p.cl.Send("POST", "/api/v1/staff/partners", admin, map[string]any{"partner_id": "other", "name": "x", "channels": []string{}}), 400, "INVALID_ARGUMENT")

	k1 := p.client("ynt-bank", created.Secret)
	if r := do(t, k1, "POST", "/partner/v1/echo/a", "{}"); r.Status != 200 {
		t.Fatalf("the first key: %d %s", r.Status, r.Body)
	}

	// Rotation: both keys sign until the old one is retired.
	var k2 partners.NewKey
	r = p.cl.Send("POST", "/api/v1/staff/partners/ynt-bank/keys", admin, nil)
	expect(r, 201, "")
	r.Decode(t, &k2)
	secrets = append(secrets, k2.Secret)
	if len(k2.Retired) != 0 || k2.Secret == created.Secret {
		t.Fatalf("second key: %+v", k2)
	}
	for i, c := range []*partner.Client{k1, p.client("ynt-bank", k2.Secret)} {
		r := do(t, c, "POST", "/partner/v1/echo/a", "{}")
		var e echo
		_ = json.Unmarshal(r.Body, &e)
		if r.Status != 200 || e.KeyID != []string{created.KeyID, k2.KeyID}[i] {
			t.Fatalf("key %d during the rotation: %d %s", i+1, r.Status, r.Body)
		}
	}
	// A third key retires the oldest: at most two are live.
	var k3 partners.NewKey
	r = p.cl.Send("POST", "/api/v1/staff/partners/ynt-bank/keys", admin, nil)
	expect(r, 201, "")
	r.Decode(t, &k3)
	secrets = append(secrets, k3.Secret)
	if len(k3.Retired) != 1 || k3.Retired[0] != created.KeyID {
		t.Fatalf("third key retired %v, want the first", k3.Retired)
	}
	wantRefused(t, "a retired key", do(t, k1, "POST", "/partner/v1/echo/a", "{}"))
	for _, s := range []string{k2.Secret, k3.Secret} {
		if r := do(t, p.client("ynt-bank", s), "POST", "/partner/v1/echo/a", "{}"); r.Status != 200 {
			t.Fatalf("a live key: %d %s", r.Status, r.Body)
		}
	}
	// Explicit retirement; the last live key stays.
	expect(p.cl.Send("DELETE", "/api/v1/staff/partners/ynt-bank/keys/"+k2.KeyID, admin, nil), 200, "")
	wantRefused(t, "an explicitly retired key", do(t, p.client("ynt-bank", k2.Secret), "POST", "/partner/v1/echo/a", "{}"))
	expect(p.cl.Send("DELETE", "/api/v1/staff/partners/ynt-bank/keys/"+k2.KeyID, admin, nil), 200, "")
	expect(p.cl.Send("DELETE", "/api/v1/staff/partners/ynt-bank/keys/"+k3.KeyID, admin, nil), 409, "PARTNER_LAST_KEY")
	expect(p.cl.Send("DELETE", "/api/v1/staff/partners/ynt-bank/keys/pk_nope", admin, nil), 404, "NOT_FOUND")
	expect(p.cl.Send("DELETE", "/api/v1/staff/partners/"+bankID+"/keys/"+k3.KeyID, admin, nil), 404, "NOT_FOUND")
	expect(p.cl.Send("POST", "/api/v1/staff/partners/nobody/keys", admin, nil), 404, "NOT_FOUND")
	expect(p.cl.Send("POST", "/api/v1/staff/partners/nobody/disable", admin, nil), 404, "NOT_FOUND")

	// Disable and enable.
	var pv partners.Partner
	r = p.cl.Send("POST", "/api/v1/staff/partners/ynt-bank/disable", admin, nil)
	expect(r, 200, "")
	r.Decode(t, &pv)
	if pv.Status != "disabled" || pv.DisabledAt == nil {
		t.Fatalf("disabled: %+v", pv)
	}
	wantRefused(t, "a disabled partner's live key", do(t, p.client("ynt-bank", k3.Secret), "POST", "/partner/v1/echo/a", "{}"))
	expect(p.cl.Send("POST", "/api/v1/staff/partners/ynt-bank/enable", admin, nil), 200, "")
	if r := do(t, p.client("ynt-bank", k3.Secret), "POST", "/partner/v1/echo/a", "{}"); r.Status != 200 {
		t.Fatalf("enabled again: %d %s", r.Status, r.Body)
	}

	// The list shows keys by id and state, never a secret.
	r = p.cl.Send("GET", "/api/v1/staff/partners", admin, nil)
	expect(r, 200, "")
	var list struct {
		Items []partners.Partner `json:"items"`
	}
	r.Decode(t, &list)
	if len(list.Items) != 2 || list.Items[1].PartnerID != "ynt-bank" || len(list.Items[1].Keys) != 3 {
		t.Fatalf("list: %s", r.Body)
	}
	live := 0
	for _, k := range list.Items[1].Keys {
		if k.Status == "live" {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live keys listed, want 1", live)
	}
	r = p.cl.Send("GET", "/api/v1/staff/partners?page_size=1", admin, nil)
	var page struct {
		Items []partners.Partner `json:"items"`
		Next  string             `json:"next_page_token"`
	}
	r.Decode(t, &page)
	if len(page.Items) != 1 || page.Next != bankID {
		t.Fatalf("first page: %s", r.Body)
	}
	for _, s := range append(secrets, bankKey) {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Fatal("a secret in the list")
		}
	}

	// Only an admin: every other role is refused, and the refusal audited.
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/staff/partners"}, {"POST", "/api/v1/staff/partners"}, {"POST", "/api/v1/staff/partners/ynt-bank/keys"},
		{"DELETE", "/api/v1/staff/partners/ynt-bank/keys/" + k3.KeyID}, {"POST", "/api/v1/staff/partners/ynt-bank/disable"},
		{"POST", "/api/v1/staff/partners/ynt-bank/enable"},
	}
	for _, who := range []string{"tax1", "si1", "mi1", "auditor1"} {
		for _, rt := range routes {
			var b any
			if rt.method == "POST" && rt.path == "/api/v1/staff/partners" {
				b = map[string]any{"partner_id": "sneaky", "name": "x", "channels": []string{"yun_pos"}}
			}
			expect(p.cl.Send(rt.method, rt.path, toks[who], b), 403, "FORBIDDEN")
		}
	}
	for _, rt := range routes {
		expect(p.cl.Send(rt.method, rt.path, "", nil), 401, "UNAUTHENTICATED")
	}
	var denied int64
	p.env.DB.Gorm.Model(&store.AuditRow{}).Where("action LIKE ? AND outcome = ?", "partner.%", "denied").Count(&denied)
	if denied != 4*int64(len(routes)) {
		t.Fatalf("%d denied partner actions audited, want %d", denied, 4*len(routes))
	}
	var done []store.AuditRow
	p.env.DB.Gorm.Where("action LIKE ? AND outcome = ? AND username = ?", "partner.%", "ok", "admin1").Order("id").Find(&done)
	var actions []string
	for _, a := range done {
		actions = append(actions, a.Action)
	}
	wantActions := "partner.create partner.rotate_key partner.rotate_key partner.retire_key partner.disable partner.enable partner.list partner.list"
	if strings.Join(actions, " ") != wantActions {
		t.Fatalf("audited admin actions:\n got %s\nwant %s", strings.Join(actions, " "), wantActions)
	}

	// Secrets are sealed at rest and in no audit entry.
	var keys []store.PartnerKeyRow
	p.env.DB.Gorm.Find(&keys)
	if len(keys) != 4 {
		t.Fatalf("%d keys stored", len(keys))
	}
	var all []store.AuditRow
	p.env.DB.Gorm.Find(&all)
	for _, s := range append(secrets, bankKey) {
		for _, k := range keys {
			if strings.Contains(k.SecretSealed, s) {
				t.Fatal("a key's secret is stored in the clear")
			}
		}
		for _, a := range all {
			if strings.Contains(a.Detail, s) {
				t.Fatalf("a secret in the audit log: %+v", a)
			}
		}
	}
	var raw string
	p.env.DB.Gorm.Raw("SELECT secret_sealed FROM partner_keys WHERE id = ?", k3.KeyID).Scan(&raw)
	if raw == "" || strings.Contains(raw, k3.Secret) {
		t.Fatalf("the column holds %q", raw)
	}
	if opened, err := p.env.Deps.PII.Open(raw); err != nil || opened != k3.Secret {
		t.Fatalf("the sealed secret does not open to the key: %v", err)
	}
}

// TestConcurrentRotationsNeverLeaveThreeLiveKeys: rotations of one partner
// at the same moment either act on the live keys one after the other or
// are told to retry; never more than two keys are live.
func TestConcurrentRotationsNeverLeaveThreeLiveKeys(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.New(t, db, servicetest.Config{})
		ctx := context.Background()
		admin := adminActor("radmin")
		if _, err := env.Svc.CreatePartner(ctx, admin, partners.PartnerInput{PartnerID: "rot-bank", Name: "轮换银行", Channels: []string{"bank_counter"}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = env.Svc.RotatePartnerKey(ctx, admin, "rot-bank")
			}(i)
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if e, isE := models.AsError(err); !isE || e.Code != "REQUEST_IN_PROGRESS" {
				t.Fatalf("a concurrent rotation failed otherwise: %v", err)
			}
		}
		var live, all int64
		db.Gorm.Model(&store.PartnerKeyRow{}).Where("partner_id = ? AND status = ?", "rot-bank", partners.KeyLive).Count(&live)
		db.Gorm.Model(&store.PartnerKeyRow{}).Where("partner_id = ?", "rot-bank").Count(&all)
		if ok == 0 || live != 2 || all != int64(ok)+1 {
			t.Fatalf("%d rotations succeeded, %d keys, %d live; want ≥1, %d, 2", ok, all, live, ok+1)
		}
	})
}

// adminActor is an admin as the workflows see one, for steps a test takes
// outside HTTP.
func adminActor(name string) kernel.StaffActor {
	return kernel.StaffActor{StaffID: "st_" + name, Username: name, Role: models.RoleAdmin,
		RequestMeta: kernel.RequestMeta{ClientIP: "10.0.0.1", PeerIP: "127.0.0.1", RequestID: "test-" + name}}
}

// TestOnlyTheReconciliationFileMayBeLargerThanAJSONBody: the middleware
// reads a partner's whole body before it checks the signature, so the
// bound is what anyone can make the server hold. Every partner route
// takes a small JSON body except the day's reconciliation file, which
// alone may be up to MaxPartnerBody (it used to be 10 MiB on all of
// them).
func TestOnlyTheReconciliationFileMayBeLargerThanAJSONBody(t *testing.T) {
	p := newPartnerEnv(t, storetest.Targets()[0].Open(t), nil)
	bank := p.client(bankID, bankKey)
	ctx := context.Background()
	overJSON := bytes.Repeat([]byte(" "), 64<<10+1)
	for _, route := range []string{"/partner/v1/echo/a", "/partner/v1/orders", "/partner/v1/payables/query"} {
		r, err := bank.DoContent(ctx, "POST", route, "application/json", overJSON)
		if err != nil || r.Status != 413 || apitest.ErrorCode(r.Body) != "BODY_TOO_LARGE" {
			t.Fatalf("a signed 64 KiB + 1 body to %s: %v %d %s", route, err, r.Status, r.Body)
		}
	}
	// A megabyte of a day's file gets through to the file's own checks
	// (these lines are not a reconciliation file's).
	day := p.env.Clock.Now().In(models.Beijing).Format("2006-01-02")
	file := counters.ReconHeader + "\n" + strings.Repeat("not,a,line,of,the,file\n", (1<<20)/23)
	r, err := bank.DoContent(ctx, "PUT", "/partner/v1/reconciliation/"+day, "text/csv", []byte(file))
	if err != nil || r.Status != 400 || apitest.ErrorCode(r.Body) != "INVALID_ARGUMENT" {
		t.Fatalf("a signed 1 MiB reconciliation file: %v %d %.200s", err, r.Status, r.Body)
	}
	big := bytes.Repeat([]byte("a"), httpx.MaxPartnerBody+1)
	if r, err := bank.DoContent(ctx, "PUT", "/partner/v1/reconciliation/"+day, "text/csv", big); err != nil || r.Status != 413 {
		t.Fatalf("a file over MaxPartnerBody: %v %d", err, r.Status)
	}
}
