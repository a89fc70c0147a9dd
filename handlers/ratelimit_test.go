package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lianban/lianban/handlers"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAForgedForwardedForDoesNotDodgeTheLoginLimit: with no trusted proxy
// configured the client is the connection's peer, whatever
// X-Forwarded-For claims.
func TestAForgedForwardedForDoesNotDodgeTheLoginLimit(t *testing.T) {
	storetest.SQLiteOnEachRedis(t, func(t *testing.T, db *store.DB, rdb *store.Redis) {
		testAForgedForwardedForDoesNotDodgeTheLoginLimit(t, db, rdb)
	})
}

func testAForgedForwardedForDoesNotDodgeTheLoginLimit(t *testing.T, db *store.DB, rdb *store.Redis) {
	env := servicetest.New(t, db, servicetest.Config{Redis: rdb, Mutate: func(_ *service.Deps, o *service.Options) { o.LoginRateLimit = 5 }})
	h := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	// A real Redis keeps counters between runs: start from zero.
	env.Redis.Client.Del(context.Background(), "lb:rl:login:203.0.113.7")
	limited := 0
	for i := 0; i < 10; i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sessions/sandbox", stringsReader(`{"subject":"s"}`))
		req.RemoteAddr = "203.0.113.7:5555"
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 10 logins limited, want 5: the forged header was trusted", limited)
	}
}

// TestTheLoginLimitHoldsWhileRedisIsDown: logins are guessable, so their
// limit counts in the database when Redis is gone instead of letting every
// attempt through, and the public certificate check (a nuisance limit)
// keeps answering.
func TestTheLoginLimitHoldsWhileRedisIsDown(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) { o.LoginRateLimit = 5 }})
	h := handlers.New(handlers.Config{Service: env.Svc, Services: env.Catalog.Services, Policy: env.Catalog.Policy, Sandbox: true})
	if err := env.Redis.Client.Close(); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for i := 0; i < 10; i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sessions/sandbox", stringsReader(`{"subject":"s"}`))
		req.RemoteAddr = "203.0.113.9:5555"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 10 logins limited without Redis, want 5", limited)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/certificates/verify?no=x&code=y", nil)
	req.RemoteAddr = "203.0.113.9:5555"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code == http.StatusTooManyRequests || w.Code == http.StatusServiceUnavailable {
		t.Fatalf("certificate verification without Redis answered %d, want it let through", w.Code)
	}
}
