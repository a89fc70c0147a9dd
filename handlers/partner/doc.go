// Package partner serves the partner API (/partner/v1) that counters call
// (banks, 云POS, 裕农通, the hall's POS) and the hall's own payment routes
// (/api/v1/staff/hall): look a person up, declare and open a payment the
// hall's POS confirms. The partner's authentication is a middleware on
// the group (handlers/routes.go); the handlers read the partner it found
// with httpx.PartnerActor and refuse a request without one.
package partner
