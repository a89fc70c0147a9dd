// Package servicetest builds a complete workflow layer for tests: a real
// database (see storetest), a real or embedded Redis, the embedded policy
// catalog, a manual clock, and the sandbox channels. Only the outside
// world (payment providers, registries, the treasury) is faked.
//
// It also holds the journeys and checks the area packages' tests share
// (a payer's first year, a paid and credited contribution, the hall's
// signed-in staff, the channel rig with its faults, the money invariants),
// so each area's tests live in the area's own package.
package servicetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/lianban/lianban/catalog"
	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/channels/mengsuban"
	"github.com/lianban/lianban/channels/mengsuban/oidcfake"
	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/channels/taxapp"
	"github.com/lianban/lianban/channels/taxapp/taxappfake"
	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/blob"
	"github.com/lianban/lianban/store/storetest"
)

// Start is the fixed start of every test clock: 2026-11-20 10:00 Beijing,
// inside the 2026 flexible-worker year and the 2027 resident medical
// collection window.
func Start() time.Time { return time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) }

// Env is a wired workflow layer.
type Env struct {
	Svc     *service.Service
	DB      *store.DB
	Redis   *store.Redis
	Clock   *models.ManualClock
	Sandbox *sandbox.Pay
	Wechat  *wechatfake.Server // set when Config.Wechat
	Alipay  *alipayfake.Server // set when Config.Alipay
	// Bank is the fake partner bank: refunds to accounts and units'
	// 三方协议 debits.
	Bank *bankfake.Server
	// TaxApp and OIDC are the login fakes (Config.Logins).
	TaxApp  *taxappfake.Server
	OIDC    *oidcfake.Server
	Catalog *catalog.Catalog
	Deps    service.Deps
	Opt     service.Options
}

// Config adjusts an Env before the service is built.
type Config struct {
	// PublicURL is where the sandbox provider delivers notifications.
	PublicURL string
	// Start is the test clock's start (default Start()).
	Start time.Time
	// Wechat and Alipay wire those channels against their fakes (with a
	// fake's WeChatPay-style timestamps on the wall clock, since the SDKs
	// check them against it). NotifyRetry is given to both fakes: nil for
	// their defaults, an empty slice to deliver nothing by themselves.
	Wechat, Alipay bool
	NotifyRetry    []time.Duration
	// AlipayCertMode runs Alipay in public-key-certificate mode (the fake
	// with its test CA, the client with its certificates).
	AlipayCertMode bool
	// WechatManualRefunds leaves WeChat refunds PROCESSING until the test
	// ends them (wechatfake.Options.ManualRefunds).
	WechatManualRefunds bool
	// WallClock says Start is the wall clock: the flexible schemes'
	// collection windows of its year are then the whole year, so a test of
	// the channels passes on any date (models.PolicyBook.WithFlexibleWindowsOpen).
	WallClock bool
	// Mutate may change deps and options (add channels, shorten delays).
	Mutate func(*service.Deps, *service.Options)
	// Redis is the Redis to use (storetest.ForEachRedis hands one out);
	// nil is storetest's default target.
	Redis *store.Redis
	// Logins wires the 税务 APP login against a taxappfake on a loopback
	// port (ES256, on the test clock) and 蒙速办 against an oidcfake whose
	// issuer is PublicURL + /sandbox/oidc (the router must mount
	// Env.OIDC there), with MengsubanRedirect allowed.
	Logins bool
}

// MengsubanRedirect is the 蒙速办 redirect URI an Env with Logins allows.
const MengsubanRedirect = "https://h5.lianban.invalid/mengsuban/callback"

// WechatWebRedirect is the H5 page an Env with Wechat lets 微信城市服务's
// web OAuth send people back to.
const WechatWebRedirect = "https://h5.lianban.invalid/h5/"

// New builds an Env on db.
func New(t testing.TB, db *store.DB, cfg Config) *Env {
	t.Helper()
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	pii, err := models.NewPIICipher(key)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Start.IsZero() {
		cfg.Start = Start()
	}
	clock := models.NewManualClock(cfg.Start)
	rdb := cfg.Redis
	if rdb == nil {
		rdb = storetest.Redis(t)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:1"
	}
	sbx := sandbox.NewPay(cfg.PublicURL+"/sandbox/pay/", cfg.PublicURL+"/api/v1/notify/sandbox", clock, &http.Client{Timeout: 10 * time.Second})
	st := sandbox.Settlement{CreditDelay: 2 * time.Second, BookDelay: 4 * time.Second, Clock: clock}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("LIANBAN_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// A clock on the wall clock may be past the years the policy file
	// covers; such a run gets the last year carried forward, provisional,
	// so no test depends on the calendar.
	year := cfg.Start.In(models.Beijing).Year()
	policy := cat.Policy.CarriedForwardTo(year + 1)
	if cfg.WallClock {
		policy = policy.WithFlexibleWindowsOpen(year)
	}
	agency := sandbox.NewAgency(policy, sandbox.DemoPeople())
	deps := service.Deps{DB: db, Redis: rdb, PII: pii, Policy: policy, Clock: clock, Log: log,
		Identity: sandbox.NewRegistry(sandbox.DemoPeople()), Treasury: st, Agency: st,
		Contributions: agency, MedicalAssessor: agency, CivilAffairs: agency,
		Logins:   map[string]models.LoginChannel{},
		Payments: map[string]models.PaymentChannel{models.ChannelSandbox: sbx},
		Cashiers: map[string]service.Cashier{models.ChannelSandbox: sbx}}
	renderer, err := certificate.NewRenderer(cfg.PublicURL + "/api/v1/certificates/verify")
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	signer, err := certificate.NewEd25519Signer(seed, "test-key")
	if err != nil {
		t.Fatal(err)
	}
	verifySecret := make([]byte, 32)
	_, _ = rand.Read(verifySecret)
	deps.Certificates = service.CertificateDeps{Renderer: renderer, Signer: signer, VerifySecret: verifySecret}
	env := &Env{}
	if cfg.Wechat {
		fake := wechatfake.New(wechatfake.Options{Clock: models.SystemClock{}, NotifyRetry: cfg.NotifyRetry, ManualRefunds: cfg.WechatManualRefunds})
		fake.Start()
		t.Cleanup(fake.Close)
		wc := fake.ClientConfig(cfg.PublicURL + "/api/v1/notify/wechatpay")
		wc.Templates = wechatfake.DefaultTemplates()
		mp := wechat.NewMiniProgram(wc, rdb.Client, nil)
		pay, err := wechat.NewPay(context.Background(), wc, nil, models.SystemClock{})
		if err != nil {
			t.Fatal(err)
		}
		deps.Logins[models.ChannelWechat] = mp
		oa := wc
		oa.OARedirectURIs = []string{WechatWebRedirect}
		deps.Logins[models.ChannelWechatWeb] = wechat.NewOfficialAccount(oa, nil)
		deps.Payments[models.ChannelWechat] = pay
		deps.Messengers = map[string]models.MessageSender{models.ChannelWechat: mp}
		env.Wechat = fake
	}
	if cfg.Alipay {
		fake := alipayfake.New(alipayfake.Options{Clock: models.SystemClock{}, NotifyRetry: cfg.NotifyRetry, CertMode: cfg.AlipayCertMode})
		fake.Start()
		t.Cleanup(fake.Close)
		c, err := alipay.New(fake.ClientConfig(cfg.PublicURL+"/api/v1/notify/alipay"), nil, models.SystemClock{})
		if err != nil {
			t.Fatal(err)
		}
		deps.Logins[models.ChannelAlipay] = c
		deps.Logins[models.ChannelAlipayWeb] = c.WebLogin()
		deps.Payments[models.ChannelAlipay] = c
		env.Alipay = fake
	}
	if cfg.Logins {
		wireLogins(t, env, &deps, clock, cfg.PublicURL)
	}
	opt := service.Defaults()
	opt.Sandbox = true
	opt.PublicBaseURL = cfg.PublicURL
	opt.LoginRateLimit = 100000
	opt.OrderRateLimit = 100000
	opt.BindRateLimit = 100000
	opt.IdentityChecksPerUser = 100000
	opt.IdentityChecksPerAddress = 100000
	env.Bank = bankfake.NewForTest(t, clock)
	deps.Bank = env.Bank.Client()
	deps.Tripartite = env.Bank.Client()
	deps.UnitRegistry = sandbox.NewUnitRegistry(sandbox.DemoUnits(), sandbox.DemoPeople())
	blobs, err := blob.NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deps.Blobs = blobs
	if cfg.Mutate != nil {
		cfg.Mutate(&deps, &opt)
	}
	svc := service.New(deps, opt)
	for _, p := range sandbox.DemoPeople() {
		for kind, unit := range p.UnitInsured {
			if err := svc.SeedUnitInsurance(context.Background(), p.Name, p.IDNumber, kind, unit); err != nil {
				t.Fatal(err)
			}
		}
	}
	env.Svc, env.DB, env.Redis, env.Clock, env.Sandbox, env.Catalog, env.Deps, env.Opt = svc, db, rdb, clock, sbx, cat, deps, opt
	return env
}

// Person is a demo person by name.
func Person(t testing.TB, name string) sandbox.DemoPerson {
	for _, p := range sandbox.DemoPeople() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no demo person %s", name)
	return sandbox.DemoPerson{}
}

// LoginVerified logs a sandbox user in and binds them to a person. It
// returns the session as the app's next request finds it, carrying the
// verified user and person (RequestContext puts them where a request's
// middleware does).
func (e *Env) LoginVerified(t testing.TB, subject, name, idNumber string) people.Session {
	t.Helper()
	ctx := context.Background()
	res, err := e.Svc.LoginSandbox(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.Svc.Authenticate(ctx, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.VerifyIdentity(ctx, sess.UserID, people.IdentityInput{Name: name, IDNumber: idNumber}); err != nil {
		t.Fatal(err)
	}
	if sess, err = e.Svc.Authenticate(ctx, res.Token); err != nil {
		t.Fatal(err)
	}
	return sess
}

// RequestContext is ctx as an authenticated request hands it to the
// services (handlers/httpx Authenticated): with the session's verified
// user and person, which the services then read from the session instead
// of the database.
func RequestContext(ctx context.Context, sess people.Session) context.Context {
	return kernel.WithVerified(ctx, sess.Verified)
}

// PDFText extracts a PDF's text with pdftotext. CI installs poppler-utils
// (make deps) and must fail without it; elsewhere the test skips and says
// why.
func PDFText(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext not found: install poppler-utils")
		}
		t.Skip("pdftotext not found: install poppler-utils (make deps) to run this test")
	}
	file := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// wireLogins puts the 税务 APP and 蒙速办 logins on their fakes. The demo
// people sign in at the 蒙速办 fake as msb-demo-1, msb-demo-2, … (in
// sandbox.DemoPeople order).
func wireLogins(t testing.TB, env *Env, deps *service.Deps, clock models.Clock, publicURL string) {
	t.Helper()
	tf, err := taxappfake.New(taxappfake.Options{Clock: clock, Alg: jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	tf.Start()
	t.Cleanup(tf.Close)
	v, err := taxapp.New(taxapp.Config{JWKSURL: tf.JWKSURL(), Issuer: tf.Issuer(), Audience: tf.Audience()}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	var people []oidcfake.Person
	for i, p := range sandbox.DemoPeople() {
		people = append(people, oidcfake.Person{Subject: fmt.Sprintf("msb-demo-%d", i+1), Name: p.Name, IDNumber: p.IDNumber})
	}
	// The H5's own return path too, as the sandbox server registers it
	// (web.MengsubanCallback), for the browser tests.
	client := oidcfake.Client{ID: "lianban-test", Secret: "test-secret", RedirectURIs: []string{MengsubanRedirect, publicURL + "/h5/mengsuban/callback"}}
	of, err := oidcfake.New(oidcfake.Options{Issuer: publicURL + "/sandbox/oidc", Clients: []oidcfake.Client{client}, People: people, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := mengsuban.New(mengsuban.Config{Issuer: of.Issuer(), ClientID: client.ID, ClientSecret: client.Secret,
		RedirectURIs: client.RedirectURIs}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	deps.Logins[models.ChannelTaxApp] = v
	deps.Logins[models.ChannelMengsuban] = mc
	env.TaxApp, env.OIDC = tf, of
}
