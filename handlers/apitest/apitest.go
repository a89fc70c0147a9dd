// Package apitest holds HTTP tests to the API contract, miniprogram-api.yaml
// (embedded in the root package lianban). Load parses and validates the
// contract; Contract.Check validates one response against it (operation,
// status, content type, body schema, headers, X-Request-Id); Contract.Client
// is a small HTTP client for tests that checks every response it gets; and
// RoutesMatch proves the router and the contract list the same routes.
//
// A typical test:
//
//	c := apitest.Load(t)
//	cl := c.Client(t, server)
//	var login struct{ Token string `json:"token"` }
//	cl.DoJSON("POST", "/api/v1/sessions/sandbox", "", map[string]string{"subject": "alice"}, &login)
//	status, body := cl.Do("GET", "/api/v1/me", login.Token, nil)
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban"
)

// Contract is the parsed, validated API contract with a router over its
// paths. It is read-only after Load and safe for concurrent use.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses the embedded contract, validates it as OpenAPI 3 and builds
// a router over it. It fails the test if any step fails.
func Load(t testing.TB) *Contract {
	t.Helper()
	c, err := load(lianban.OpenAPISpec())
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	return c
}

func load(spec []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load miniprogram-api.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("miniprogram-api.yaml is not a valid OpenAPI document: %w", err)
	}
	// The legacy router needs no dependency beyond kin-openapi and reports
	// "method not allowed" apart from "path not found".
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route miniprogram-api.yaml: %w", err)
	}
	return &Contract{doc: doc, router: r}, nil
}

// Doc returns the parsed OpenAPI document, for tests that inspect the
// contract itself. Treat it as read-only.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// Operations lists every operation of the contract as "METHOD /path-template"
// (e.g. "GET /api/v1/payments/{order_no}"), sorted.
func (c *Contract) Operations() []string {
	var out []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// OperationID returns the operationId of the operation req addresses, or
// "" if the contract has none.
func (c *Contract) OperationID(req *http.Request) string {
	route, _, err := c.router.FindRoute(pathOnly(req))
	if err != nil || route.Operation == nil {
		return ""
	}
	return route.Operation.OperationID
}

// Check validates one HTTP exchange against the contract and reports every
// mismatch with t.Errorf (the test goes on):
//
//   - req (as sent: method, path and query) must address an operation of
//     the contract;
//   - the response must carry X-Request-Id;
//   - status must be documented for the operation. Statuses below 500 must
//     be listed explicitly: `default` covers only 5xx, so a handler that
//     starts answering a new 4xx shows up as contract drift;
//   - the Content-Type must be one the response documents (and a response
//     documented without content must have no body);
//   - a JSON body must validate against the schema, and documented headers
//     against theirs (openapi3filter.ValidateResponse with
//     IncludeResponseStatus and MultiError). Bodies of other content types
//     (text/plain, text/html) are not validated beyond their content type;
//   - an error body's request_id must equal X-Request-Id, except on an
//     Idempotency-Key replay, which repeats the first response.
func (c *Contract) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	where := req.Method + " " + req.URL.RequestURI() + " → " + fmt.Sprint(status)
	if header.Get("X-Request-Id") == "" {
		t.Errorf("contract: %s: response has no X-Request-Id header", where)
	}
	req = pathOnly(req)
	route, params, err := c.router.FindRoute(req)
	switch {
	case err != nil && strings.Contains(err.Error(), routers.ErrMethodNotAllowed.Error()):
		t.Errorf("contract: %s: the contract has no %s operation on this path", where, req.Method)
		return
	case err != nil:
		t.Errorf("contract: %s: the path is not in the contract (%v)", where, err)
		return
	}
	op := route.Operation
	where = op.OperationID + " (" + where + ")"

	resp := op.Responses.Status(status)
	if resp == nil && status >= 500 {
		resp = op.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		t.Errorf("contract: %s: status %d is not documented for %s %s (documented: %s)%s",
			where, status, req.Method, route.Path, strings.Join(documentedStatuses(op), ", "), excerpt(body))
		return
	}

	ct := header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(ct)
	switch {
	case len(resp.Value.Content) == 0:
		if len(body) > 0 {
			t.Errorf("contract: %s: the contract documents no body, got %d bytes of %q%s", where, len(body), ct, excerpt(body))
		}
	case resp.Value.Content.Get(ct) == nil:
		t.Errorf("contract: %s: content type %q is not documented (documented: %s)%s",
			where, ct, strings.Join(slices.Sorted(maps.Keys(resp.Value.Content)), ", "), excerpt(body))
		return
	}

	isJSON := mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			ExcludeResponseBody:   !isJSON,
			// Name the failing field without dumping the whole schema;
			// the body follows the message.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	// ValidateResponse falls back to default for any status; the 4xx rule
	// above has already been applied.
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("contract: %s: %v%s", where, err, excerpt(body))
	}

	if isJSON && header.Get("Idempotent-Replayed") == "" {
		var e struct {
			Error *struct {
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != nil && e.Error.RequestID != header.Get("X-Request-Id") {
			t.Errorf("contract: %s: error.request_id %q differs from X-Request-Id %q", where, e.Error.RequestID, header.Get("X-Request-Id"))
		}
	}
}

// pathOnly returns a shallow copy of req whose URL has only path and query,
// as the contract's server ("/") is matched: a client-side request carries
// scheme and host too.
func pathOnly(req *http.Request) *http.Request {
	r := req.WithContext(req.Context())
	u := *req.URL
	u.Scheme, u.Opaque, u.User, u.Host = "", "", nil, ""
	r.URL = &u
	return r
}

func documentedStatuses(op *openapi3.Operation) []string {
	return slices.Sorted(maps.Keys(op.Responses.Map()))
}

// excerpt renders the start of a body for a failure message.
func excerpt(body []byte) string {
	const max = 2048
	if len(body) == 0 {
		return ""
	}
	if len(body) > max {
		return "\nbody (first 2 KiB): " + string(body[:max])
	}
	return "\nbody: " + string(body)
}

// RouteInfo is one route of the router: a method and a path in the
// router's syntax (gin's "/payments/:order_no" and "/files/*path" are
// understood, as are OpenAPI templates).
type RouteInfo struct {
	Method, Path string
}

// RoutesMatch fails the test unless routes and the contract's operations
// are the same set: every route must be in the contract and every
// operation of the contract must be routed. Pass the routes of a server
// built with everything on (sandbox mode), since sandbox-only operations
// (x-sandbox-only in the contract) are part of the contract.
func RoutesMatch(t testing.TB, c *Contract, routes []RouteInfo) {
	t.Helper()
	routed := map[string]bool{}
	for _, r := range routes {
		routed[strings.ToUpper(r.Method)+" "+OpenAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for _, op := range c.Operations() {
		documented[op] = true
	}
	var missing, unrouted []string
	for r := range routed {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for op := range documented {
		if !routed[op] {
			unrouted = append(unrouted, op)
		}
	}
	slices.Sort(missing)
	slices.Sort(unrouted)
	for _, r := range missing {
		t.Errorf("contract: route %s is not in miniprogram-api.yaml", r)
	}
	for _, op := range unrouted {
		t.Errorf("contract: operation %s of miniprogram-api.yaml has no route", op)
	}
}

// GinRoutes converts gin's route list (engine.Routes()) for RoutesMatch.
func GinRoutes(routes gin.RoutesInfo) []RouteInfo {
	out := make([]RouteInfo, 0, len(routes))
	for _, r := range routes {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path})
	}
	return out
}

// OpenAPIPath turns a router path into an OpenAPI path template:
// "/api/v1/payments/:order_no" → "/api/v1/payments/{order_no}" and
// "/files/*path" → "/files/{path}". Templates pass through unchanged.
func OpenAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}
