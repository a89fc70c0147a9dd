package contrib

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/lianban/lianban/service/kernel"
)

// A page of a person's records is cached in Redis under the same
// per-person version as the payables cache (payables_cache.go): every
// write that changes a person's records — settling, crediting and booking,
// refunds, reversals, unit and counter payments — already calls
// ForgetPayables after it commits, because what a person owes is derived
// from the same records. A page is served only if it was built under the
// version read now, and a miss stores what it read under the version it
// read before reading the database, so a write landing in between makes
// the stored page unservable rather than stale.
//
// Who may see the page is decided on every request before the cache is
// asked (ResolveForRecords): the entry is keyed by the person, never by
// the asker. A page holding a row written before migration 0013 whose
// payer the worker has not named yet is not cached: the worker's naming
// does not move the version.
func recordsPageKey(personID string, f RecordFilter, page kernel.Page) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%s|%s|%d", recordsBodyFormat, f.Year, f.Scheme, page.After, page.Size))
	return "lb:payables:{" + personID + "}:records:" + hex.EncodeToString(h[:12])
}

// RecordsPrefetch is what listRecords reads from the cache for the
// person's page, to be read with the session
// (people.AuthenticatePrefetching): the version and the page.
func RecordsPrefetch(personID string, f RecordFilter, page kernel.Page) []string {
	return []string{payablesVersionKey(personID), recordsPageKey(personID, f, page)}
}

// recordsBodyFormat names the shape of the cached body; change it with
// any change to Record's JSON, so that during a rolling deploy old and new
// instances keep entries of their own instead of serving each other's.
const recordsBodyFormat = "r2"

// An entry is the version it was built under, a NUL, and the page's
// listRecords body as served.

// loadRecordsPage returns the person's records version and the body
// cached under it, if any; ok is false when Redis did not answer, and then
// nothing is stored.
func (s *Contrib) loadRecordsPage(ctx context.Context, key, personID string) (version string, body []byte, ok bool) {
	version, raw, ok := s.loadVersioned(ctx, personID, key)
	v, b, found := strings.Cut(raw, "\x00")
	if !found || v != version || b == "" {
		return version, nil, ok
	}
	return version, []byte(b), true
}

// storeRecordsPage caches a page's body built under version, for as long
// as a payables entry lives. Failure is only logged: Redis is a cache.
func (s *Contrib) storeRecordsPage(ctx context.Context, key, version string, body []byte) {
	v := make([]byte, 0, len(version)+1+len(body))
	v = append(append(append(v, version...), 0), body...)
	if err := s.Redis.Client.Set(ctx, key, v, payablesCacheTTL).Err(); err != nil {
		s.Log.WarnContext(ctx, "records cache unavailable", "err", err)
	}
}
