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
