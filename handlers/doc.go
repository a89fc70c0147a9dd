// Package handlers is lianban's HTTP layer on Gin: bind the request into an
// explicit struct, call one workflow, render the result. All routes are in
// routes.go; one table (errors.go) turns domain errors into an HTTP status
// and the API's error body, and internal error text never reaches a
// client.
package handlers
