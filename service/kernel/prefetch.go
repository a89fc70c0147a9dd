package kernel

import "context"

// Prefetched is cache entries read from Redis in the same round trip as
// the request's session (people.AuthenticatePrefetching): for a cached
// read, the session and the cache are then one round trip instead of two,
// which on a Redis of its own was the larger half of the request's cost.
// A key maps to nil when Redis had no entry.
type Prefetched map[string]*string

type prefetchedKey struct{}

// WithPrefetched returns ctx carrying p.
func WithPrefetched(ctx context.Context, p Prefetched) context.Context {
	if len(p) == 0 {
		return ctx
	}
	return context.WithValue(ctx, prefetchedKey{}, p)
}

// PrefetchedValues returns the prefetched entries at keys, in order, if
// every one of them was prefetched; a reader that gets ok false asks
// Redis itself. Each entry is used as it was read, with the session: no
// older than what the reader would have read a moment later.
func PrefetchedValues(ctx context.Context, keys ...string) (vals []*string, ok bool) {
	p, _ := ctx.Value(prefetchedKey{}).(Prefetched)
	if p == nil {
		return nil, false
	}
	vals = make([]*string, len(keys))
	for i, k := range keys {
		v, found := p[k]
		if !found {
			return nil, false
		}
		vals[i] = v
	}
	return vals, true
}
