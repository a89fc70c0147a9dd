package httpx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

// A database or Redis that cannot be reached is 503 (try again), a bug is
// 500, and a domain error keeps its own status.
func TestUnreachableDependenciesAreUnavailableNotInternal(t *testing.T) {
	d := net.Dialer{Timeout: time.Second}
	_, dialErr := d.DialContext(context.Background(), "tcp", "127.0.0.1:1") // nothing listens on port 1
	if dialErr == nil {
		t.Skip("something listens on 127.0.0.1:1")
	}
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("settle: %w", dialErr), http.StatusServiceUnavailable, "CHANNEL_UNAVAILABLE"},
		{fmt.Errorf("order: %w", errors.New("pq: syntax error")), http.StatusInternalServerError, "INTERNAL"},
		{models.ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
	} {
		status, body := errorResponse(tc.err, "r1")
		if status != tc.status || body.Error.Code != tc.code {
			t.Errorf("%v: got %d %s, want %d %s", tc.err, status, body.Error.Code, tc.status, tc.code)
		}
		if body.Error.Reason != "" {
			t.Errorf("%v: a 5xx told the client %q", tc.err, body.Error.Reason)
		}
	}
}
