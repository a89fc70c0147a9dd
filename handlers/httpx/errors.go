package httpx

import (
	"database/sql/driver"
	"errors"
	"net"
	"net/http"
	"syscall"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/locale"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/units/roster"
)

// statusOf is the one place a domain error becomes an HTTP status.
var statusOf = map[models.Kind]int{
	models.KindInternal:         http.StatusInternalServerError,
	models.KindInvalid:          http.StatusBadRequest,
	models.KindUnauthenticated:  http.StatusUnauthorized,
	models.KindForbidden:        http.StatusForbidden,
	models.KindNotFound:         http.StatusNotFound,
	models.KindConflict:         http.StatusConflict,
	models.KindUnprocessable:    http.StatusUnprocessableEntity,
	models.KindRateLimited:      http.StatusTooManyRequests,
	models.KindUnavailable:      http.StatusServiceUnavailable,
	models.KindMethodNotAllowed: http.StatusMethodNotAllowed,
	models.KindTooLarge:         http.StatusRequestEntityTooLarge,
	models.KindUnsupportedType:  http.StatusUnsupportedMediaType,
}

// errorBody is the API's error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"request_id"`
	// Problems are every bad row of a roster (ROSTER_INVALID), told at
	// once (一次性告知).
	Problems []roster.Problem `json:"problems,omitempty"`
}

// errorResponse maps err to its status and body. Reasons are shown only
// for refusals meant for people; internal and unavailable errors carry
// detail for the log, never for the client.
func errorResponse(err error, requestID string) (int, errorBody) {
	e, ok := models.AsError(err)
	if !ok {
		e = models.ErrInternal
		if unreachable(err) {
			e = models.ErrUnavailable
		}
	}
	status := statusOf[e.Kind]
	body := errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, RequestID: requestID}}
	if e.Kind != models.KindInternal && e.Kind != models.KindUnavailable {
		body.Error.Reason = e.Reason
	}
	if inv := (*roster.Invalid)(nil); errors.As(err, &inv) {
		body.Error.Problems = inv.Problems
	}
	return status, body
}

// localize words body's message in lang from the catalog (the Chinese of
// the error table when the catalog lacks the code). A reason is words
// built where the refusal happened, in Chinese, and stays so: only the
// fixed reasons some sentinels carry (error.<CODE>.reason) are worded in
// lang. Telling a Mongolian reader why in Chinese beats not telling them.
func (s *Kit) localize(body *errorBody, lang locale.Lang) {
	d := &body.Error
	id := "error." + d.Code
	d.Message = s.Locale.Message(lang, id, d.Message)
	if d.Reason != "" && d.Reason == s.Locale.Message(locale.Chinese, id+".reason", "") {
		d.Reason = s.Locale.Message(lang, id+".reason", d.Reason)
	}
}

// errorLang is the language of an error answer: the request's
// Accept-Language (the pages send their own), Chinese by default. It
// marks the response as varying by that header and says its language.
func errorLang(c *gin.Context) locale.Lang {
	lang := locale.Match("", c.GetHeader("Accept-Language"))
	c.Header("Content-Language", string(lang))
	c.Writer.Header().Add("Vary", "Accept-Language")
	return lang
}

// unreachable reports whether err is a dependency (the database, Redis,
// a channel) that could not be reached or dropped the connection: the
// client is told 503, "try again", not 500, which reads as a bug. The
// fault suite saw every request answer 500 while PostgreSQL was away.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, driver.ErrBadConn)
}

// Fail renders err, with its message in the caller's language, and logs
// what the client is not told.
func (s *Kit) Fail(c *gin.Context, err error) {
	rid := RequestID(c)
	status, body := errorResponse(err, rid)
	s.localize(&body, errorLang(c))
	if status >= 500 {
		s.Log.ErrorContext(c.Request.Context(), "request failed", "request_id", rid, "route", c.FullPath(), "status", status, "err", err)
	} else if e, ok := models.AsError(err); ok && e.Kind == models.KindInternal {
		s.Log.ErrorContext(c.Request.Context(), "request failed", "request_id", rid, "err", err)
	}
	c.AbortWithStatusJSON(status, body)
}
