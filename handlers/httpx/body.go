package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/models"
)

// maxBodyBytes bounds every JSON request body. The largest form of the API
// is well under a kilobyte; 64 KiB leaves room to grow without letting a
// stranger make the server buffer megabytes per request.
const maxBodyBytes = 64 << 10

// errBodyNotJSON is the one answer for a body that is not exactly one JSON
// object of the right shape.
var errBodyNotJSON = models.ErrInvalid.WithReason("请求体不是有效的 JSON 或字段类型不正确")

// readBody reads the whole request body, refusing one over maxBodyBytes
// with 413 BODY_TOO_LARGE before reading it all.
func readBody(c *gin.Context) ([]byte, error) { return readBodyUpTo(c, maxBodyBytes) }

// readBodyUpTo is readBody with another limit, for the few routes whose
// bodies are lists (a unit's roster).
func readBodyUpTo(c *gin.Context, maxBodyBytes int64) ([]byte, error) {
	if c.Request.ContentLength > maxBodyBytes {
		return nil, models.ErrBodyTooLarge
	}
	if c.Request.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, models.ErrBodyTooLarge
	case err != nil:
		return nil, models.ErrInvalid.WithReason("请求体读取失败")
	}
	return b, nil
}

// decodeBody decodes body into v strictly: it must be exactly one JSON
// object, with nothing but white space after it. A lenient decoder that
// stops at the first value lets "{…}garbage" or two concatenated objects
// through, and a proxy or log that reads the body differently from us is
// how smuggled fields start. Errors a field's UnmarshalJSON returns as a
// *models.Error keep their code.
func decodeBody(body []byte, v any) error {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return errBodyNotJSON
	}
	// json.Unmarshal, unlike json.Decoder.Decode, checks the whole input
	// is one value before decoding any of it.
	if err := json.Unmarshal(body, v); err != nil {
		if e, ok := models.AsError(err); ok {
			return e
		}
		return errBodyNotJSON
	}
	return nil
}

// BindJSON reads and strictly decodes the body into an explicit request
// struct; on failure it has answered and returns false. Every route that
// takes a JSON body comes through here or through idempotent.
func (s *Kit) BindJSON(c *gin.Context, v any) bool {
	body, err := readBody(c)
	if err == nil {
		err = decodeBody(body, v)
	}
	if err != nil {
		s.Fail(c, err)
		return false
	}
	return true
}

// errPageToken answers a page_token this server could not have issued.
var errPageToken = models.ErrInvalid.WithReason("page_token 无效")

// validPageToken reports whether tok has the shape of a token a keyset
// list issues: the last key of a page (order, refund and receipt numbers,
// object ids, staff usernames) or base64url of one, so at most 128 of
// [A-Za-z0-9_.-]. Anything else is malformed and refused as 400 before it
// reaches a query, rather than silently matching nothing.
func validPageToken(tok string) bool {
	if len(tok) > 128 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		b := tok[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '-') {
			return false
		}
	}
	return true
}

// BindJSONArray reads a body of up to limit bytes that must be exactly one
// JSON array, strictly decoded into v (a slice); on failure it has
// answered and returns false.
func (s *Kit) BindJSONArray(c *gin.Context, v any, limit int64) bool {
	body, err := readBodyUpTo(c, limit)
	if err == nil {
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '[' {
			err = models.ErrInvalid.WithReason("请求体应为 JSON 数组")
		} else if json.Unmarshal(body, v) != nil {
			err = errBodyNotJSON
		}
	}
	if err != nil {
		s.Fail(c, err)
		return false
	}
	return true
}

// PeekBody reads a request body of a known length within the body limit
// and puts it back, so the handler reads it again as if untouched; ok is
// false (and nothing is read) for a body of unknown or too large a length.
// It is for deciding what to prefetch (SetPrefetch) from a small body.
func PeekBody(c *gin.Context) (body []byte, ok bool) {
	r := c.Request
	if r.Body == nil || r.ContentLength < 0 || r.ContentLength > maxBodyBytes {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
	r.Body = peekedBody{Reader: io.MultiReader(bytes.NewReader(b), r.Body), Closer: r.Body}
	return b, err == nil
}

type peekedBody struct {
	io.Reader
	io.Closer
}
