// Package handlers is lianban's HTTP layer on Gin: bind the request into an
// explicit struct, call one workflow, render the result. This package is
// the router (routes.go builds the groups, sessions and middleware and
// hands them to each area), the request log, metrics and panic recovery,
// and the public and sandbox routes.
//
// Each area's routes are in a package of the same name as its workflows
// under service/: people, contrib, certs, refunds, hall and anomalies;
// partneradmin is the admin side of service/partners, and partner the
// counter API (/partner/v1) behind the partner signature.
// What they share is httpx: the one table that turns domain errors into an
// HTTP status and the API's error body (internal error text never reaches
// a client), body decoding, idempotent replays, pages and the session
// middleware. Imports go down: handlers → area packages → httpx.
package handlers
