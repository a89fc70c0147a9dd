package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Client sends requests to a handler in process (through
// httptest.NewRecorder) or to a server by URL, and checks every response
// against the contract. Requests that cannot be built or sent fail the
// test at once; contract mismatches are reported with t.Errorf and the
// response is returned anyway, so a table test can go on.
type Client struct {
	t        testing.TB
	contract *Contract
	handler  http.Handler
	baseURL  string
	http     *http.Client
	header   http.Header
}

// Client returns a client that serves each request with h in process.
func (c *Contract) Client(t testing.TB, h http.Handler) *Client {
	return &Client{t: t, contract: c, handler: h, header: http.Header{}}
}

// ServerClient returns a client that sends requests over the network to
// baseURL (e.g. an httptest.Server's URL); hc nil means a client with a
// 30-second timeout.
func (c *Contract) ServerClient(t testing.TB, baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{t: t, contract: c, baseURL: strings.TrimSuffix(baseURL, "/"), http: hc, header: http.Header{}}
}

// WithHeader returns a copy of the client that sends the header (e.g.
// "X-Forwarded-For") with every request, in addition to its own.
func (cl *Client) WithHeader(key, value string) *Client {
	c := *cl
	c.header = cl.header.Clone()
	c.header.Set(key, value)
	return &c
}

// Response is one checked response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the JSON body into out, failing the test if it cannot.
func (r *Response) Decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("apitest: decode %d response: %v\nbody: %s", r.Status, err, r.Body)
	}
}

// ErrorCode returns the error.code of an error body, or "".
func (r *Response) ErrorCode() string { return ErrorCode(r.Body) }

// ErrorCode returns the error.code of an API error body, or "".
func ErrorCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// Do sends a request and returns the status and body, after checking the
// response against the contract.
//
// token, when not empty, is sent as "Authorization: Bearer <token>". body
// is nil for none; []byte, string and json.RawMessage are sent as they
// are; url.Values as a form; anything else as JSON. A body is sent as
// application/json (application/x-www-form-urlencoded for url.Values)
// unless headers set Content-Type. headers are name/value pairs:
//
//	cl.Do("POST", "/api/v1/payments", tok, in, "Idempotency-Key", "k1")
func (cl *Client) Do(method, path, token string, body any, headers ...string) (status int, respBody []byte) {
	cl.t.Helper()
	r := cl.Send(method, path, token, body, headers...)
	return r.Status, r.Body
}

// DoJSON is Do that also decodes the response body into out (unless out
// is nil or the body is empty) and returns the status.
func (cl *Client) DoJSON(method, path, token string, body any, out any, headers ...string) int {
	cl.t.Helper()
	r := cl.Send(method, path, token, body, headers...)
	if out != nil && len(r.Body) > 0 {
		r.Decode(cl.t, out)
	}
	return r.Status
}

// Send is Do returning the whole response (status, headers, body).
func (cl *Client) Send(method, path, token string, body any, headers ...string) *Response {
	cl.t.Helper()
	req, resp := cl.roundTrip(method, path, token, body, headers)
	cl.contract.Check(cl.t, req, resp.Status, resp.Header, resp.Body)
	return resp
}

// SendUnchecked sends a request without checking the response against
// the contract: only for probing what the contract does not describe,
// such as unknown paths or methods.
func (cl *Client) SendUnchecked(method, path, token string, body any, headers ...string) *Response {
	cl.t.Helper()
	_, resp := cl.roundTrip(method, path, token, body, headers)
	return resp
}

// roundTrip sends one request. The returned request is the one as sent
// (method, path and query), for Check.
func (cl *Client) roundTrip(method, path, token string, body any, headers []string) (*http.Request, *Response) {
	cl.t.Helper()
	if len(headers)%2 != 0 {
		cl.t.Fatalf("apitest: headers must be name/value pairs, got %q", headers)
	}
	raw, contentType := encodeBody(cl.t, body)
	target := path
	if cl.handler == nil {
		target = cl.baseURL + path
	}
	var req *http.Request
	if cl.handler != nil {
		req = httptest.NewRequest(method, target, bytes.NewReader(raw))
		if raw == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		}
	} else {
		var rd io.Reader
		if raw != nil {
			rd = bytes.NewReader(raw)
		}
		var err error
		if req, err = http.NewRequest(method, target, rd); err != nil {
			cl.t.Fatalf("apitest: %s %s: %v", method, path, err)
		}
	}
	for k, vs := range cl.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}

	if cl.handler != nil {
		rec := httptest.NewRecorder()
		cl.handler.ServeHTTP(rec, req)
		res := rec.Result()
		b, _ := io.ReadAll(res.Body)
		return req, &Response{Status: res.StatusCode, Header: res.Header, Body: b}
	}
	res, err := cl.http.Do(req)
	if err != nil {
		cl.t.Fatalf("apitest: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		cl.t.Fatalf("apitest: %s %s: read body: %v", method, path, err)
	}
	return req, &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// encodeBody renders a request body and its default content type.
func encodeBody(t testing.TB, body any) ([]byte, string) {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil, ""
	case []byte:
		return b, "application/json"
	case json.RawMessage:
		return b, "application/json"
	case string:
		return []byte(b), "application/json"
	case url.Values:
		return []byte(b.Encode()), "application/x-www-form-urlencoded"
	}
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("apitest: encode request body: %v", err)
	}
	return raw, "application/json"
}

// URL is the base URL of the server the client talks to ("" for an
// in-process handler), for tests that need a second kind of client, such
// as a partner's signing one.
func (c *Client) URL() string { return c.baseURL }
