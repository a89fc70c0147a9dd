package httpx

import (
	"github.com/lianban/lianban/locale"
	"log/slog"

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
}
