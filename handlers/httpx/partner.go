package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/channels/partner"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/partners"
)

// partnerKey carries the partner actor of a /partner/v1 request; a type of
// its own, so neither a citizen's nor a staff session can be mistaken for
// it.
type partnerKey struct{}

// WithPartner puts the authenticated partner on the request. Only the
// partner authentication middleware (and tests standing in for it) call
// it.
func WithPartner(c *gin.Context, a kernel.PartnerActor) {
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), partnerKey{}, a))
}

// PartnerActor is the partner the authentication middleware found; ok is
// false on a request that did not pass it.
func PartnerActor(c *gin.Context) (kernel.PartnerActor, bool) {
	a, ok := c.Request.Context().Value(partnerKey{}).(kernel.PartnerActor)
	return a, ok
}

// MaxPartnerBody bounds the body of a /partner/v1 route that takes a file
// (SetPartnerBodyLimit): a day's reconciliation CSV of a busy bank is far
// below it. The whole body is read before the signature is checked (the
// signature covers it), so the bound is also what one stranger's request
// to that route can make the server hold; the other partner routes take
// JSON and keep maxBodyBytes.
const MaxPartnerBody = 10 << 20

// MaxRefusedCallRecords is how many refused /partner/v1 requests from one
// client address are recorded in partner_calls a minute. The table is
// append-only, so without a bound every unsigned request a stranger
// sends for free would be a row kept for ever; past it a refusal is
// still answered, logged and counted in /metrics, and a signed partner's
// calls are always recorded.
const MaxRefusedCallRecords = 120

// PartnerAuthenticated admits only requests signed by an active partner
// (service/partners.AuthenticatePartner): it reads the body (413 over the
// route's limit, SetPartnerBodyLimit), checks the signature, clock window and nonce, hands
// the body back to the handler and puts the partner on the request
// (PartnerActor). Every call is recorded after the handler has answered,
// with its status; a refused one with the partner id it claimed and the
// reason (up to MaxRefusedCallRecords a minute from one address), which
// goes to the log and lianban_partner_auth_failures_total but never to
// the caller. A bearer token is refused outright: partners
// sign, people and staff hold sessions, and a request carrying both is
// nobody's request.
func (s *Kit) PartnerAuthenticated() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Request.Header
		claimed := h.Get(partner.HeaderPartnerID)
		call := partners.Call{PartnerID: claimed, Method: c.Request.Method, Route: c.FullPath(), Path: c.Request.URL.Path, Meta: RequestMeta(c)}
		refuse := func(err error) {
			var af *partners.AuthFailure
			if errors.As(err, &af) {
				call.Reason = af.Reason
				s.Metrics.PartnerAuthFailures.WithLabelValues(af.Reason).Inc()
				s.Log.WarnContext(c.Request.Context(), "partner request refused", "request_id", RequestID(c),
					"partner_id", kernel.Truncate(claimed, 64), "reason", af.Reason, "route", call.Route)
			} else if e, ok := models.AsError(err); ok {
				call.Reason = strings.ToLower(e.Code)
			}
			s.Fail(c, err)
			call.Status = c.Writer.Status()
			// LetThrough: a Redis outage records every refusal, as before.
			if s.Svc.RateLimit(c.Request.Context(), "partner-refused:"+c.ClientIP(), MaxRefusedCallRecords, time.Minute, kernel.LetThrough) != nil {
				return
			}
			s.recordPartnerCall(c, call)
		}
		if h.Get("Authorization") != "" || claimed == "" || h.Get(partner.HeaderTimestamp) == "" ||
			h.Get(partner.HeaderNonce) == "" || h.Get(partner.HeaderSignature) == "" {
			// Refused before the body is read: without the headers no
			// signature can hold, so nobody can make us buffer for nothing.
			refuse(&partners.AuthFailure{Reason: partners.ReasonMalformed})
			return
		}
		body, err := readBodyUpTo(c, s.partnerBodyLimit(c))
		if err != nil {
			refuse(err)
			return
		}
		// The signature covers the request URI exactly as sent (path and
		// raw query), which is what the client signed.
		uri := c.Request.RequestURI
		if uri == "" {
			uri = c.Request.URL.RequestURI()
		}
		a, err := s.Svc.AuthenticatePartnerWith(c.Request.Context(), h.Get(partner.HeaderSignatureMethod), claimed, h.Get(partner.HeaderTimestamp), h.Get(partner.HeaderNonce),
			h.Get(partner.HeaderSignature), c.Request.Method, uri, body, call.Meta)
		if err != nil {
			refuse(err)
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Request.ContentLength = int64(len(body))
		WithPartner(c, a)
		c.Next()
		call.Authenticated, call.PartnerID, call.KeyID, call.Status = true, a.PartnerID, a.KeyID, c.Writer.Status()
		s.recordPartnerCall(c, call)
	}
}

// recordPartnerCall writes a call's record even when the caller has gone
// (the context is not cancelled with the request). The answer is already
// sent, so a failure can only be logged.
func (s *Kit) recordPartnerCall(c *gin.Context, call partners.Call) {
	if err := s.Svc.RecordPartnerCall(context.WithoutCancel(c.Request.Context()), call); err != nil {
		s.Log.ErrorContext(c.Request.Context(), "partner call not recorded", "request_id", RequestID(c), "partner_id",
			kernel.Truncate(call.PartnerID, 64), "status", call.Status, "err", err)
	}
}
