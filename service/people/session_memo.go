package people

import (
	"encoding/json"
	"sync"
)

// sessionMemoSize bounds each generation of the memo (so at most twice
// this many sessions are kept): a few MiB at about 1 KiB a session, and
// more than the sessions active on one instance within a minute on a
// deadline day.
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
// before its session is read, and read both in one round trip. The hint
// only chooses what to read with the session; whether the caller may see
// it is decided after, as if it had been read alone.
//
// Both are kept in two generations: when the current one is full it
// becomes the previous one and a new one starts, and an entry found only
// in the previous one moves forward. Sessions in use stay; the rest age
// out within two generations, with no cliff where everything is dropped.
type sessionMemo struct {
	mu       sync.RWMutex
	sessions generations[Session]
	persons  generations[string]
}

func newSessionMemo(max int) *sessionMemo {
	return &sessionMemo{sessions: newGenerations[Session](max), persons: newGenerations[string](max)}
}

// decode is json.Unmarshal(raw) into a Session, remembered. The Session
// returned shares its Verified rows with other requests of the same
// session: they are read, never written.
func (m *sessionMemo) decode(raw []byte) (Session, error) {
	m.mu.RLock()
	sess, current, ok := m.sessions.get(string(raw))
	m.mu.RUnlock()
	if ok && current {
		return sess, nil
	}
	if !ok {
		if err := json.Unmarshal(raw, &sess); err != nil {
			return Session{}, err
		}
	}
	m.mu.Lock()
	m.sessions.put(string(raw), sess)
	m.mu.Unlock()
	return sess, nil
}

// personOf is the person the session at key was last seen verified as,
// or "".
func (m *sessionMemo) personOf(key string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, _, _ := m.persons.get(key)
	return p
}

func (m *sessionMemo) rememberPerson(key, personID string) {
	m.mu.RLock()
	p, current, _ := m.persons.get(key)
	m.mu.RUnlock()
	if current && p == personID {
		return
	}
	m.mu.Lock()
	m.persons.put(key, personID)
	m.mu.Unlock()
}

// forget drops what is remembered of the session at key (it ended).
func (m *sessionMemo) forget(key string) {
	m.mu.Lock()
	m.persons.delete(key)
	m.mu.Unlock()
}

// generations is a map bounded by max entries a generation; the caller
// locks.
type generations[V any] struct {
	max       int
	cur, prev map[string]V
}

func newGenerations[V any](max int) generations[V] {
	return generations[V]{max: max, cur: make(map[string]V, max)}
}

// get returns the value at k and whether it is in the current
// generation.
func (g *generations[V]) get(k string) (v V, current, ok bool) {
	if v, ok = g.cur[k]; ok {
		return v, true, true
	}
	v, ok = g.prev[k]
	return v, false, ok
}

func (g *generations[V]) put(k string, v V) {
	if len(g.cur) >= g.max {
		g.prev, g.cur = g.cur, make(map[string]V, g.max)
	}
	g.cur[k] = v
}

func (g *generations[V]) delete(k string) {
	delete(g.cur, k)
	delete(g.prev, k)
}

func (g *generations[V]) len() int { return len(g.cur) + len(g.prev) }
