// Package httpx is what every area's handlers share: Kit (the workflows,
// log and metrics) with the error table and Fail, body decoding and
// BindJSON, idempotent replays, pages, the citizen and staff session
// middleware and the partner signature middleware (PartnerAuthenticated)
// and their accessors, and rate limits by client address.
package httpx
