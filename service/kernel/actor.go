package kernel

import (
	"github.com/lianban/lianban/models"
)

// RequestMeta is where a staff request came from, for the audit log.
// ClientIP honours X-Forwarded-For as the deployment's trusted proxies
// allow; PeerIP is the TCP peer, which cannot be forged.
type RequestMeta struct {
	ClientIP  string
	PeerIP    string
	RequestID string
}

// StaffActor is an authenticated staff member making a request.
type StaffActor struct {
	StaffID  string
	Username string
	Role     models.StaffRole
	RequestMeta
}

// Truncate cuts s to at most n bytes without splitting a character, for
// columns of a fixed width.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	for len(string(r)) > n {
		r = r[:len(r)-1]
	}
	return string(r)
}
