package people

import (
	"encoding/json"
	"sync"
)

// sessionMemoSize bounds the decoded sessions one instance keeps: a few
// MiB at about 1 KiB a session, and more than the sessions active on one
// instance within a minute on a deadline day.
const sessionMemoSize = 8192

// sessionMemo keeps sessions already decoded, keyed by the exact bytes
// Redis returned for them. Every request still reads its session from
// Redis (a logout or an expiry shows at once, on every instance); what is
// saved is decoding the same JSON again, which was about a tenth of an
// authenticated read's CPU. A value that differs by one byte (a session
// that picked up its verified copy, or a new login) is a different key,
// so nothing here can be stale: it is a pure function's cache.
//
// It also remembers, by session key, the person a session was verified
// as: a session's person never changes (a user's person is bound once),
// so the next request of the session can name the person's cache entries
// before its session is read, and read both in one round trip.
type sessionMemo struct {
	mu      sync.RWMutex
	max     int
	m       map[string]Session
	persons map[string]string
}

func newSessionMemo(max int) *sessionMemo {
	return &sessionMemo{max: max, m: make(map[string]Session, max), persons: make(map[string]string, max)}
}

// personOf is the person the session at key was last seen verified as,
// or "".
func (m *sessionMemo) personOf(key string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.persons[key]
}

func (m *sessionMemo) rememberPerson(key, personID string) {
	m.mu.RLock()
	known := m.persons[key] == personID
	m.mu.RUnlock()
	if known {
		return
	}
	m.mu.Lock()
	if len(m.persons) >= m.max {
		clear(m.persons)
	}
	m.persons[key] = personID
	m.mu.Unlock()
}

// decode is json.Unmarshal(raw) into a Session, remembered. The Session
// returned shares its Verified rows with other requests of the same
// session: they are read, never written.
func (m *sessionMemo) decode(raw []byte) (Session, error) {
	m.mu.RLock()
	sess, ok := m.m[string(raw)]
	m.mu.RUnlock()
	if ok {
		return sess, nil
	}
	if err := json.Unmarshal(raw, &sess); err != nil {
		return Session{}, err
	}
	m.mu.Lock()
	if len(m.m) >= m.max {
		// Dropping everything at once is crude but bounded and cheap; the
		// sessions in use are decoded again on their next request.
		clear(m.m)
	}
	m.m[string(raw)] = sess
	m.mu.Unlock()
	return sess, nil
}
