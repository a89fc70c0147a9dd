package handlers_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"github.com/redis/go-redis/v9"
)

// roundTrips counts Redis round trips: a command alone or a pipeline.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestCachedReadsAreOneRoundTripWithTheSessionAndNeverAnothersData: a
// settled order's view, a records page and the payables are read with the
// session, in one Redis round trip (on a cluster too, where the pipeline
// goes to two nodes); what is read that way reaches nobody the session
// would not let see it (another user, a logged-out token).
func TestCachedReadsAreOneRoundTripWithTheSessionAndNeverAnothersData(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, rdb *store.Redis) {
		r := newCertRigOn(t, db, rdb)
		me, other := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰")
		tok := r.login(t, "prefetch-me", me.Name, me.IDNumber)
		orderNo := r.pay(t, tok)
		stranger := r.login(t, "prefetch-other", other.Name, other.IDNumber)
		rt := &roundTrips{}
		r.env.Redis.Client.AddHook(rt)
		get := func(path, token string) (int, string, int64) {
			t.Helper()
			before := rt.n.Load()
			st, b := r.cl.Do("GET", path, token, nil)
			return st, string(b), rt.n.Load() - before
		}
		query := func(token string) (int, string, int64) {
			t.Helper()
			before := rt.n.Load()
			st, b := r.cl.Do("POST", "/api/v1/payables/query", token, map[string]string{"person": "self"})
			return st, string(b), rt.n.Load() - before
		}
		// The first read of each fills the cache and the instance learns
		// the session's person; from then on each is one round trip.
		for range 2 {
			get("/api/v1/records?person=self", tok)
			get("/api/v1/payments/"+orderNo, tok)
			query(tok)
		}
		// The body the prefetch looked at is still the handler's to read.
		st, body, n := query(tok)
		if st != 200 || !strings.Contains(body, `"items"`) || n != 1 {
			t.Fatalf("queryPayables: %d, %d round trips, %.200s", st, n, body)
		}
		st, body, n = get("/api/v1/records?person=self", tok)
		if st != 200 || !strings.Contains(body, orderNo) || n != 1 {
			t.Fatalf("records: %d, %d round trips, %.200s", st, n, body)
		}
		st, body, n = get("/api/v1/payments/"+orderNo, tok)
		if st != 200 || !strings.Contains(body, `"status":"paid"`) || n != 1 {
			t.Fatalf("getPayment: %d, %d round trips, %.200s", st, n, body)
		}
		// Another user's session asks for my order: the view read with
		// their session is mine, and they get 404.
		if st, body, _ := get("/api/v1/payments/"+orderNo, stranger); st != 404 || strings.Contains(body, orderNo) {
			t.Fatalf("a stranger read my order: %d %s", st, body)
		}
		if st, body, _ := get("/api/v1/records?person=self", stranger); st != 200 || strings.Contains(body, orderNo) {
			t.Fatalf("a stranger's records show my order: %d %s", st, body)
		}
		// Logged out, the instance still remembers the session's person,
		// but the session read with the page is gone: 401, nothing else.
		if st, b := r.cl.Do("DELETE", "/api/v1/sessions/current", tok, nil); st != 204 {
			t.Fatalf("logout %d %s", st, b)
		}
		for _, path := range []string{"/api/v1/records?person=self", "/api/v1/payments/" + orderNo} {
			if st, body, _ := get(path, tok); st != 401 || strings.Contains(body, orderNo) {
				t.Fatalf("%s after logout: %d %s", path, st, body)
			}
		}
	})
}
