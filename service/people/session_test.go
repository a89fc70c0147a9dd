package people_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// TestSessionsSlideAndEnd: a session used within its lifetime lives on;
// an idle one dies; logout ends it at once. Redis TTLs run on real time,
// so the lifetime here is short.
func TestSessionsSlideAndEnd(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) { o.SessionTTL = 3 * time.Second }})
	ctx := context.Background()
	res, err := env.Svc.LoginSandbox(ctx, "slider")
	if err != nil {
		t.Fatal(err)
	}
	// Generous margins: a loaded CI machine may oversleep.
	for i := 0; i < 4; i++ { // 4 × 1 s > one lifetime, but each use slides it
		time.Sleep(time.Second)
		if _, err := env.Svc.Authenticate(ctx, res.Token); err != nil {
			t.Fatalf("session used every second died after %d uses: %v", i, err)
		}
	}
	time.Sleep(4 * time.Second)
	if _, err := env.Svc.Authenticate(ctx, res.Token); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("idle session still alive: %v", err)
	}
	if res, err = env.Svc.LoginSandbox(ctx, "slider"); err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.Logout(ctx, res.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.Authenticate(ctx, res.Token); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("session alive after logout: %v", err)
	}
	if len(res.Token) < 40 {
		t.Fatalf("token too short to be unguessable: %d chars", len(res.Token))
	}
}
