// Package lianban is the root of the lianban module. It carries the API
// contract, miniprogram-api.yaml (OpenAPI 3), embedded in the binary so that
// servers, tools and contract tests all read the same bytes.
package lianban

import _ "embed"

// spec is a string, not a []byte, so that nothing can modify the embedded
// contract at run time.
//
//go:embed miniprogram-api.yaml
var spec string

// OpenAPISpec returns the OpenAPI 3 document that describes every route of
// the HTTP API. Each call returns a fresh copy; callers may modify it.
func OpenAPISpec() []byte { return []byte(spec) }
