package partner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// maxResponse bounds what the client reads of an answer.
const maxResponse = 32 << 20

// Client signs requests as a partner terminal does: a fresh nonce and the
// clock's timestamp on every call. It is safe for concurrent use.
type Client struct {
	// BaseURL is prefixed to paths that are not absolute URLs
	// (e.g. http://127.0.0.1:8080).
	BaseURL   string
	PartnerID string
	Key       []byte
	// HTTP defaults to a client with a 30-second timeout.
	HTTP *http.Client
	// Clock gives the X-Timestamp; the system clock when nil. Tests pass
	// the server's manual clock (or one set off it, to be stale).
	Clock models.Clock
	// Nonce makes each X-Nonce; 128 random bits in hex when nil. Tests
	// set it to replay one.
	Nonce func() string
	// Method is the signature method: "" signs with HMAC-SHA256 and sends
	// no X-Signature-Method; MethodHMACSM3 signs with HMAC-SM3 and says so.
	Method string
}

// Response is an answer as received.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// NewNonce returns 128 random bits in hex.
func NewNonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// Do sends a signed request; a non-empty body goes as application/json.
// path is a path with its query (joined to BaseURL) or an absolute URL.
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (*Response, error) {
	ct := ""
	if len(body) > 0 {
		ct = "application/json"
	}
	return c.DoContent(ctx, method, path, ct, body)
}

// DoContent is Do with a content type of the caller's (text/csv for a
// reconciliation file).
func (c *Client) DoContent(ctx context.Context, method, path, contentType string, body []byte) (*Response, error) {
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = strings.TrimRight(c.BaseURL, "/") + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	clock := c.Clock
	if clock == nil {
		clock = models.SystemClock{}
	}
	nonce := NewNonce()
	if c.Nonce != nil {
		nonce = c.Nonce()
	}
	if err := SignRequestWith(req, c.Method, c.PartnerID, c.Key, clock.Now().Unix(), nonce, body); err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// SignRequest puts the four signature headers on req, signing the request
// URI Go will send (path and raw query) with body.
func SignRequest(req *http.Request, partnerID string, key []byte, timestamp int64, nonce string, body []byte) {
	req.Header.Set(HeaderPartnerID, partnerID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, Sign(key, req.Method, req.URL.RequestURI(), timestamp, nonce, body))
}

// SignRequestWith is SignRequest with a signature method ("" is
// SignRequest's HMAC-SHA256, without the method header).
func SignRequestWith(req *http.Request, method, partnerID string, key []byte, timestamp int64, nonce string, body []byte) error {
	h := MethodHash(method)
	if h == nil {
		return fmt.Errorf("partner: unknown signature method %q", method)
	}
	SignRequest(req, partnerID, key, timestamp, nonce, body)
	if method != "" {
		req.Header.Set(HeaderSignatureMethod, method)
		req.Header.Set(HeaderSignature, SignWith(h, key, req.Method, req.URL.RequestURI(), timestamp, nonce, body))
	}
	return nil
}
