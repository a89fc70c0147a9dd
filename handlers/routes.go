package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/handlers/anomalies"
	"github.com/lianban/lianban/handlers/certs"
	"github.com/lianban/lianban/handlers/contrib"
	"github.com/lianban/lianban/handlers/hall"
	"github.com/lianban/lianban/handlers/httpx"
	"github.com/lianban/lianban/handlers/partner"
	"github.com/lianban/lianban/handlers/partneradmin"
	"github.com/lianban/lianban/handlers/people"
	"github.com/lianban/lianban/handlers/refunds"
	"github.com/lianban/lianban/handlers/units"
	"github.com/lianban/lianban/locale"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config wires the HTTP layer.
type Config struct {
	Service  *service.Service
	Services []models.Service
	Policy   *models.PolicyBook
	Log      *slog.Logger
	// Ready reports whether the database and Redis answer, for /readyz.
	Ready func(ctx context.Context) error
	// Sandbox exposes loginSandbox and the sandbox cashier.
	Sandbox bool
	// PartnerAuth replaces the signature check of /partner/v1 requests,
	// for tests only: handler tests that are about the counter routes, not
	// about signatures, stand in for it with a middleware that calls
	// httpx.WithPartner. Nil (every deployment) is the real check,
	// Kit.PartnerAuthenticated.
	PartnerAuth gin.HandlerFunc
	// TrustedProxies are the addresses (CIDRs or IPs) of the load
	// balancers whose X-Forwarded-For may name the client. Empty trusts
	// none: the client is the connection's peer, so a caller cannot dodge
	// the per-client rate limits by forging the header.
	TrustedProxies []string
	// SandboxTaxApp mints 税务 APP tokens (sandboxTaxAppToken) and
	// SandboxOIDC is 蒙速办's fake OpenID provider, mounted at
	// /sandbox/oidc: both in sandbox mode only, each 404 when nil (the
	// channel is configured for real).
	SandboxTaxApp TaxAppMinter
	SandboxOIDC   http.Handler
	// Locale is the message catalogs of the pages and the API's errors;
	// nil loads the embedded ones.
	Locale *locale.Catalog
	// Collectors are more metrics for /metrics, such as the database
	// pool's, which the soak run watches for leaks.
	Collectors []prometheus.Collector
}

// TaxAppMinter mints a tax APP identity token for a person, as the APP's
// identity service would after the person signs in there.
type TaxAppMinter interface {
	MintToken(subject, name, idNumber string) (token string, expiresAt time.Time, err error)
}

// SandboxOIDCPrefix is where the sandbox serves 蒙速办's fake provider; its
// issuer is the public URL plus this.
const SandboxOIDCPrefix = "/sandbox/oidc"

// SandboxHeader is on every response of a server in sandbox mode.
const SandboxHeader = "X-Lianban-Sandbox"

// Server is the HTTP API.
type Server struct {
	*httpx.Kit
	services []models.Service
	policy   *models.PolicyBook
	ready    func(ctx context.Context) error
	sandbox  bool
	engine   *gin.Engine
}

// New builds the router. Every route of miniprogram-api.yaml is registered
// here or by the Register of its area.
func New(cfg Config) *Server {
	gin.SetMode(gin.ReleaseMode)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cfg.Collectors...)
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cat := cfg.Locale
	if cat == nil {
		var err error
		if cat, err = locale.Load(); err != nil {
			panic(err) // the catalogs are embedded: a broken one fails every test
		}
	}
	s := &Server{Kit: &httpx.Kit{Svc: cfg.Service, Log: log, Metrics: httpx.NewMetrics(reg), Locale: cat}, services: cfg.Services,
		policy: cfg.Policy, ready: cfg.Ready, sandbox: cfg.Sandbox}
	if s.services == nil {
		s.services = []models.Service{}
	}
	r := gin.New()
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		s.Log.Error("invalid trusted proxies; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.HandleMethodNotAllowed = true
	// A trailing-slash redirect would answer without the API's error body
	// and request id; an unknown path is simply 404.
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	if s.sandbox {
		// A sandbox says so on every response, errors and 404s included,
		// so a client or monitor pointed at the wrong server notices.
		r.Use(func(c *gin.Context) { c.Header(SandboxHeader, "true"); c.Next() })
	}
	r.Use(httpx.WithRequestID(), s.observe(), s.recoverer())
	r.NoRoute(func(c *gin.Context) { s.Fail(c, models.ErrNotFound) })
	r.NoMethod(func(c *gin.Context) {
		s.Fail(c, models.ErrMethodNotAllowed)
	})

	r.GET("/healthz", s.getHealth)
	r.GET("/readyz", s.getReady)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	if s.sandbox {
		r.POST("/sandbox/pay/:order_no", s.sandboxPay)
		r.GET("/sandbox/pay/:order_no", s.sandboxCashierPage)
		s.sandboxLogins(r, cfg.SandboxTaxApp, cfg.SandboxOIDC)
	}

	v1 := r.Group("/api/v1")
	v1.GET("/services", s.listServices)
	v1.GET("/policy", s.getPolicy)
	// Outside the login group: reading which logins exist is not a login
	// attempt, and must not spend an address's login budget.
	v1.GET("/sessions/methods", s.listLoginMethods)

	// Logins are guessable, so their limit holds while Redis is down.
	login := v1.Group("/sessions", s.Limit("login", cfg.Service.Options().LoginRateLimit, time.Minute, kernel.CountInDB))
	// A citizen's session; the routes of the hall (/staff) have their own
	// authentication: a staff session (password + TOTP, 30 minutes
	// sliding) from loginStaff. A citizen's token is refused there, and a
	// staff token is refused by the citizen routes: the two live under
	// different keys. What each role may do is decided by the workflow
	// layer, which audits every refusal.
	auth := v1.Group("", s.Authenticated())
	staff := v1.Group("/staff", httpx.NoStore())
	staffAuth := staff.Group("", s.StaffAuthenticated())

	people.Register(s.Kit, login, auth, s.sandbox)
	contrib.Register(s.Kit, v1, auth)
	certs.Register(s.Kit, v1, auth)
	refunds.Register(s.Kit, auth, staffAuth)
	hall.Register(s.Kit, staff, staffAuth)
	anomalies.Register(s.Kit, staffAuth, reg)
	units.Register(s.Kit, v1, auth, staffAuth)
	partneradmin.Register(s.Kit, staffAuth)

	// The counter API (banks, 云POS, 裕农通, the hall's POS): partners
	// sign every request (service/partners); no session of a person or of
	// staff opens it, and no signature opens /api/v1. Answers are never
	// cached.
	partnerAuth := cfg.PartnerAuth
	if partnerAuth == nil {
		partnerAuth = s.PartnerAuthenticated()
	}
	partner.Register(s.Kit, r.Group("/partner/v1", httpx.NoStore(), partnerAuth), staffAuth)

	// The pages: the citizen H5 and the hall staff console.
	web.Register(r, web.Config{Locale: s.Locale, Sandbox: s.sandbox})

	s.engine = r
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine exposes the router so later features can register their routes.
func (s *Server) Engine() *gin.Engine { return s.engine }
