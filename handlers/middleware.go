package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/prometheus/client_golang/prometheus"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keySession
	keyToken
)

func requestID(c *gin.Context) string {
	id, _ := c.Request.Context().Value(keyRequestID).(string)
	return id
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// withRequestID gives every request an id (the caller's X-Request-Id when
// it is sane), echoes it in the response and puts it in the context.
func withRequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Header("X-Request-Id", id)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), keyRequestID, id))
		c.Next()
	}
}

// quietFailureKey marks a request whose 5xx answer is the protocol's way
// of refusing a caller's bad input, so it is logged at WARN, not ERROR.
const quietFailureKey = "lianban.quiet_failure"

// metrics counts requests and observes latencies by route template and
// status, never by raw path (ids would explode the label set).
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// notifications counts channel notifications by result (processed,
	// rejected, retry): rejected ones are strangers' noise, alerted on by
	// rate if at all, never by log level.
	notifications *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lianban_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lianban_http_request_duration_seconds",
			Help: "HTTP request latency by route and status.", Buckets: prometheus.DefBuckets}, []string{"method", "route", "status"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lianban_notifications_total",
			Help: "Payment channel notifications by channel and result (processed, rejected, retry)."}, []string{"channel", "result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.notifications)
	return m
}

// observe logs each request as one JSON line and records metrics. Paths
// are logged as route templates plus the id-free query keys: ids and
// personal data stay out of logs.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(c.Writer.Status())
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(c.Request.Method, route, status).Inc()
		s.metrics.latency.WithLabelValues(c.Request.Method, route, status).Observe(d.Seconds())
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
			if c.GetBool(quietFailureKey) {
				// The 5xx is the answer a protocol wants for someone
				// else's mistake (a rejected notification), not ours.
				level = slog.LevelWarn
			}
		}
		if route == "/healthz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		s.log.Log(c.Request.Context(), level, "http", "request_id", requestID(c), "method", c.Request.Method,
			"route", route, "status", c.Writer.Status(), "duration_ms", d.Milliseconds(), "bytes", c.Writer.Size())
	}
}

// recoverer turns a panic into a 500 with the API's error body.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.log.ErrorContext(c.Request.Context(), "panic", "request_id", requestID(c), "panic", r)
				s.fail(c, models.ErrInternal)
			}
		}()
		c.Next()
	}
}

// authenticated requires a live bearer session.
func (s *Server) authenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			s.fail(c, models.ErrUnauthenticated)
			return
		}
		sess, err := s.svc.Authenticate(c.Request.Context(), token)
		if err != nil {
			s.fail(c, err)
			return
		}
		ctx := context.WithValue(c.Request.Context(), keySession, sess)
		ctx = context.WithValue(ctx, keyToken, token)
		// Budgets kept per client address (name/ID checks) are spent in
		// the workflows; they learn the address here.
		ctx = kernel.WithClientAddr(ctx, c.ClientIP())
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// bearerToken reads an "Authorization: Bearer <token>" header. The scheme
// is case-insensitive and may be followed by more than one space (RFC 7235
// §2.1); the token itself is one token68, so anything with white space in
// it is no token.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

func session(c *gin.Context) people.Session {
	s, _ := c.Request.Context().Value(keySession).(people.Session)
	return s
}

func userID(c *gin.Context) string { return session(c).UserID }

// sessionToken is the bearer token of the citizen session.
func sessionToken(c *gin.Context) string {
	token, _ := c.Request.Context().Value(keyToken).(string)
	return token
}

// limit applies a rate limit keyed by the client address; outage says
// what it does while Redis is down (kernel.Outage).
func (s *Server) limit(name string, n int, window time.Duration, outage kernel.Outage) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := s.svc.RateLimit(c.Request.Context(), name+":"+c.ClientIP(), n, window, outage); err != nil {
			s.fail(c, err)
			return
		}
		c.Next()
	}
}
