package httpx

import (
	"log/slog"

	"github.com/gin-gonic/gin"
	"github.com/lianban/lianban/locale"
	"github.com/lianban/lianban/service"
)

// Kit is what every area's handlers share: the workflows, the log and the
// metrics, with the helpers that render errors, decode bodies, replay
// idempotent requests and page lists. The root's Server and each area's
// Handlers embed it.
type Kit struct {
	Svc     *service.Service
	Log     *slog.Logger
	Metrics *Metrics
	// Locale words error messages in the caller's language.
	Locale *locale.Catalog
	// prefetch is, by route, the cache entries Authenticated reads with the
	// session (SetPrefetch); set while routes are registered, read only
	// after.
	prefetch map[string]PrefetchFunc
	// partnerBodyLimits is, by method and route, how large a /partner/v1
	// body may be beyond maxBodyBytes (SetPartnerBodyLimit); set while
	// routes are registered, read only after.
	partnerBodyLimits map[string]int64
}

// SetPartnerBodyLimit lets the /partner/v1 route (method and gin full
// path) take a body of up to n bytes instead of maxBodyBytes: a day's
// reconciliation file. PartnerAuthenticated reads the whole body before
// the signature is checked, so every other partner route keeps the limit
// of a JSON body, and a stranger cannot make the server hold megabytes on
// any of them. Call it while registering routes, before serving.
func (s *Kit) SetPartnerBodyLimit(method, route string, n int64) {
	if s.partnerBodyLimits == nil {
		s.partnerBodyLimits = map[string]int64{}
	}
	s.partnerBodyLimits[method+" "+route] = n
}

// partnerBodyLimit is what a /partner/v1 request on c's route may send.
func (s *Kit) partnerBodyLimit(c *gin.Context) int64 {
	if n, ok := s.partnerBodyLimits[c.Request.Method+" "+c.FullPath()]; ok {
		return n
	}
	return maxBodyBytes
}

// PrefetchFunc names the cache entries a route's handler will read, given
// the request and the person its session was last seen verified as ("" if
// not known): they are read in the session's round trip, in one MGET, so
// they must share one hash tag (one slot of a Redis Cluster). It returns
// none when it cannot tell (a malformed request, an unknown person); the
// handler then reads what it needs itself, as it always may. A prefetched
// entry decides nothing about who may see it: the handler's reader checks
// that exactly as it would have before reading Redis itself.
type PrefetchFunc func(c *gin.Context, personID string) []string

// SetPrefetch makes Authenticated read what f names with the session on
// the route (a gin full path, e.g. "/api/v1/records"). Call it while
// registering routes, before serving.
func (s *Kit) SetPrefetch(route string, f PrefetchFunc) {
	if s.prefetch == nil {
		s.prefetch = map[string]PrefetchFunc{}
	}
	s.prefetch[route] = f
}
