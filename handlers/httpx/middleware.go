package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/partners"
	"github.com/lianban/lianban/service/people"
	"github.com/prometheus/client_golang/prometheus"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keySession
	keyToken
)

// RequestID is the request's id (WithRequestID).
func RequestID(c *gin.Context) string {
	id, _ := c.Request.Context().Value(keyRequestID).(string)
	return id
}

// ValidRequestID reports whether s may be echoed as an id: [A-Za-z0-9_-],
// at most 64 characters.
func ValidRequestID(s string) bool {
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

// WithRequestID gives every request an id (the caller's X-Request-Id when
// it is sane), echoes it in the response and puts it in the context.
func WithRequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !ValidRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Header("X-Request-Id", id)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), keyRequestID, id))
		c.Next()
	}
}

// QuietFailureKey marks a request whose 5xx answer is the protocol's way
// of refusing a caller's bad input, so it is logged at WARN, not ERROR.
const QuietFailureKey = "lianban.quiet_failure"

// Metrics counts requests and observes latencies by route template and
// status, never by raw path (ids would explode the label set).
type Metrics struct {
	Requests *prometheus.CounterVec
	Latency  *prometheus.HistogramVec
	// notifications counts channel notifications by result (processed,
	// rejected, retry): rejected ones are strangers' noise, alerted on by
	// rate if at all, never by log level.
	Notifications *prometheus.CounterVec
	// LoginRefused counts refused logins by channel and reason (forged,
	// expired, wrong issuer or audience, replayed state, …: the reasons
	// of models.LoginRefusal, and "identity" for a real name that
	// conflicts with the account or our records).
	LoginRefused *prometheus.CounterVec
	// PartnerAuthFailures counts refused /partner/v1 requests by reason
	// (partners.Reasons); the caller is told only PARTNER_AUTH_FAILED.
	PartnerAuthFailures *prometheus.CounterVec
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lianban_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"method", "route", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lianban_http_request_duration_seconds",
			Help: "HTTP request latency by route and status.", Buckets: prometheus.DefBuckets}, []string{"method", "route", "status"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lianban_notifications_total",
			Help: "Payment channel notifications by channel and result (processed, rejected, retry)."}, []string{"channel", "result"}),
		PartnerAuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lianban_partner_auth_failures_total",
			Help: "Refused partner API requests by reason (unknown_partner, disabled, bad_signature, stale_timestamp, replayed_nonce, malformed)."},
			[]string{"reason"}),
	}
	m.LoginRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lianban_login_refused_total",
		Help: "Refused logins by channel and reason."}, []string{"channel", "reason"})
	// Every reason is exported from the start, so a rate alert sees 0
	// before the first refusal rather than no series at all.
	for _, r := range partners.Reasons {
		m.PartnerAuthFailures.WithLabelValues(r)
	}
	reg.MustRegister(m.Requests, m.Latency, m.Notifications, m.LoginRefused, m.PartnerAuthFailures)
	return m
}

// Authenticated requires a live bearer session.
func (s *Kit) Authenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			s.Fail(c, models.ErrUnauthenticated)
			return
		}
		var keysFor func(string) []string
		if f := s.prefetch[c.FullPath()]; f != nil {
			keysFor = func(personID string) []string { return f(c, personID) }
		}
		sess, pre, err := s.Svc.AuthenticatePrefetching(c.Request.Context(), token, keysFor)
		if err != nil {
			s.Fail(c, err)
			return
		}
		ctx := context.WithValue(c.Request.Context(), keySession, sess)
		ctx = kernel.WithPrefetched(ctx, pre)
		ctx = kernel.WithVerified(ctx, sess.Verified)
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

// Session is the citizen session Authenticated found.
func Session(c *gin.Context) people.Session {
	s, _ := c.Request.Context().Value(keySession).(people.Session)
	return s
}

// UserID is the signed-in user's id.
func UserID(c *gin.Context) string { return Session(c).UserID }

// SessionToken is the bearer token of the citizen session.
func SessionToken(c *gin.Context) string {
	token, _ := c.Request.Context().Value(keyToken).(string)
	return token
}

// Limit applies a rate limit keyed by the client address; outage says
// what it does while Redis is down (kernel.Outage).
func (s *Kit) Limit(name string, n int, window time.Duration, outage kernel.Outage) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := s.Svc.RateLimit(c.Request.Context(), name+":"+c.ClientIP(), n, window, outage); err != nil {
			s.Fail(c, err)
			return
		}
		c.Next()
	}
}
