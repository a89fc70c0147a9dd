package handlers

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
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
	// TrustedProxies are the addresses (CIDRs or IPs) of the load
	// balancers whose X-Forwarded-For may name the client. Empty trusts
	// none: the client is the connection's peer, so a caller cannot dodge
	// the per-client rate limits by forging the header.
	TrustedProxies []string
}

// SandboxHeader is on every response of a server in sandbox mode.
const SandboxHeader = "X-Lianban-Sandbox"

// Server is the HTTP API.
type Server struct {
	svc      *service.Service
	services []models.Service
	policy   *models.PolicyBook
	log      *slog.Logger
	ready    func(ctx context.Context) error
	sandbox  bool
	metrics  *metrics
	registry *prometheus.Registry
	engine   *gin.Engine
	// verifyPage renders certificate verification for browsers.
	verifyPage *template.Template
}

// New builds the router. Every route of miniprogram-api.yaml is here.
func New(cfg Config) *Server {
	gin.SetMode(gin.ReleaseMode)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &Server{svc: cfg.Service, services: cfg.Services, policy: cfg.Policy, log: cfg.Log, ready: cfg.Ready,
		sandbox: cfg.Sandbox, metrics: newMetrics(reg), registry: reg, verifyPage: newVerifyPage()}
	if s.services == nil {
		s.services = []models.Service{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	r := gin.New()
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		s.log.Error("invalid trusted proxies; trusting none", "err", err)
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
	r.Use(withRequestID(), s.observe(), s.recoverer())
	r.NoRoute(func(c *gin.Context) { s.fail(c, models.ErrNotFound) })
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, &models.Error{Kind: models.KindMethodNotAllowed, Code: "METHOD_NOT_ALLOWED", Message: "不支持该请求方法"})
	})

	r.GET("/healthz", s.getHealth)
	r.GET("/readyz", s.getReady)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	if s.sandbox {
		r.POST("/sandbox/pay/:order_no", s.sandboxPay)
		r.GET("/sandbox/pay/:order_no", s.sandboxCashierPage)
	}

	v1 := r.Group("/api/v1")
	v1.GET("/services", s.listServices)
	v1.GET("/policy", s.getPolicy)

	// Logins are guessable, so their limit holds while Redis is down.
	login := v1.Group("/sessions", s.limit("login", cfg.Service.Options().LoginRateLimit, time.Minute, kernel.CountInDB))
	// A citizen's session; the routes of the hall (/staff) have their own
	// authentication: a staff session (password + TOTP, 30 minutes
	// sliding) from loginStaff. A citizen's token is refused there, and a
	// staff token is refused by the citizen routes: the two live under
	// different keys. What each role may do is decided by the workflow
	// layer, which audits every refusal.
	auth := v1.Group("", s.authenticated())
	staff := v1.Group("/staff", noStore())
	staffAuth := staff.Group("", s.staffAuthenticated())

	s.peopleRoutes(login, auth)
	s.contribRoutes(v1, auth)
	s.certificateRoutes(v1, auth)
	s.refundRoutes(auth, staffAuth)
	s.staffRoutes(staff, staffAuth)
	s.anomalyRoutes(staffAuth, reg)

	s.engine = r
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine exposes the router so later features can register their routes.
func (s *Server) Engine() *gin.Engine { return s.engine }
