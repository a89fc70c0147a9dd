package httpx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
)

// Idempotent runs a create operation under the request's Idempotency-Key:
// the same key and body get the first response again; the same key with
// another body is 409 IDEMPOTENCY_KEY_REUSED. in is filled from the body.
// Only outcomes a retry cannot change are remembered: success and the
// business refusals (invalid, conflict, unprocessable). Errors that time
// or another step can change (internal, unavailable, rate limited, not
// authenticated, identity not yet bound, not found) release the key, so a
// retry with it runs again.
func (s *Kit) Idempotent(c *gin.Context, op string, in any, run func() (int, any, error)) {
	body, err := readBody(c)
	if err == nil {
		err = decodeBody(body, in)
	}
	if err != nil {
		s.Fail(c, err)
		return
	}
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		status, v, err := run()
		s.Render(c, status, v, err)
		return
	}
	if len(key) > 191 {
		s.Fail(c, models.ErrInvalid.WithReason("Idempotency-Key 不能超过191个字符"))
		return
	}
	sum := sha256.Sum256(append([]byte(op+"\x00"), body...))
	hash := hex.EncodeToString(sum[:])
	ctx := c.Request.Context()
	replay, err := s.Svc.IdempotencyBegin(ctx, UserID(c), op, key, hash)
	if err != nil {
		s.Fail(c, err)
		return
	}
	if replay != nil {
		c.Header("Idempotent-Replayed", "true")
		c.Data(replay.Status, "application/json; charset=utf-8", s.relocalize(c, replay.Status, replay.Body))
		return
	}
	// From here on the client cannot cancel: a client that hangs up (a
	// phone losing signal) must not stop the operation half-way nor keep
	// its outcome from being stored, or the key stayed in progress and
	// every retry with it was refused. The retry gets the stored answer.
	ctx = context.WithoutCancel(ctx)
	c.Request = c.Request.WithContext(ctx)
	status, v, runErr := run()
	if runErr != nil {
		st, eb := errorResponse(runErr, RequestID(c))
		if final(runErr) {
			b, _ := json.Marshal(eb)
			s.Svc.IdempotencyFinish(ctx, UserID(c), op, key, st, b)
		} else {
			s.Svc.IdempotencyAbort(ctx, UserID(c), op, key)
		}
		s.Fail(c, runErr)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.Fail(c, err)
		return
	}
	s.Svc.IdempotencyFinish(ctx, UserID(c), op, key, status, b)
	c.Data(status, "application/json; charset=utf-8", b)
}

// relocalize words a stored error answer (kept in Chinese, the table's
// words) in the language of the retry asking for it, which may not be the
// first request's. Success bodies and what does not parse go out as kept.
func (s *Kit) relocalize(c *gin.Context, status int, stored []byte) []byte {
	if status < 400 {
		return stored
	}
	var body errorBody
	if json.Unmarshal(stored, &body) != nil || body.Error.Code == "" {
		return stored
	}
	s.localize(&body, errorLang(c))
	b, err := json.Marshal(body)
	if err != nil {
		return stored
	}
	return b
}

// Render writes v with status, or the error.
func (s *Kit) Render(c *gin.Context, status int, v any, err error) {
	if err != nil {
		s.Fail(c, err)
		return
	}
	if status == http.StatusNoContent {
		c.Status(status)
		return
	}
	c.JSON(status, v)
}

// final reports whether a failed request would fail the same way again.
func final(err error) bool {
	e, ok := models.AsError(err)
	if !ok {
		return false
	}
	// "Not credited yet" is a moment's answer: the same application with
	// the same key, once the treasury has credited (and it is asked again
	// on filing), must be filed, not refused from the stored answer.
	if errors.Is(err, models.ErrRefundNotCredited) {
		return false
	}
	switch e.Kind {
	case models.KindInvalid, models.KindConflict, models.KindUnprocessable:
		return true
	}
	return false
}
