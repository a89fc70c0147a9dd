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

// PartnerActor is an authenticated partner (a bank, a 云POS or 裕农通
// operator, the hall's POS) making a /partner/v1 request: who it is, the
// key that signed (for the audit log during a rotation) and the counter
// channels it may take money through (bank_counter, yun_pos, yunongtong,
// hall_pos).
type PartnerActor struct {
	PartnerID string
	Name      string
	KeyID     string
	Channels  []string
	RequestMeta
}

// MayUse reports whether the partner may take money through channel.
func (a PartnerActor) MayUse(channel string) bool {
	for _, c := range a.Channels {
		if c == channel {
			return true
		}
	}
	return false
}
