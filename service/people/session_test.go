package people_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
	"gorm.io/gorm"
)

// TestSessionsSlideAndEnd: a session used within its lifetime lives on;
// an idle one dies; logout ends it at once. Redis TTLs run on real time,
// so the lifetime here is short.
func TestSessionsSlideAndEnd(t *testing.T) {
	storetest.SQLiteOnEachRedis(t, testSessionsSlideAndEnd)
}

func testSessionsSlideAndEnd(t *testing.T, db *store.DB, r *store.Redis) {
	env := servicetest.New(t, db, servicetest.Config{Redis: r, Mutate: func(_ *service.Deps, o *service.Options) { o.SessionTTL = 3 * time.Second }})
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

// TestVerifiedSessionsAnswerWithoutTheDatabase: a session takes a copy of
// the verified user and person as soon as the user is verified (in this
// session or another), and from then on authenticating and getMe read
// nothing from the database. The copy answers only for its own user.
func TestVerifiedSessionsAnswerWithoutTheDatabase(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		env := servicetest.New(t, db, servicetest.Config{Redis: r})
		ctx := context.Background()
		var queries atomic.Int64
		for i, g := range []*gorm.DB{db.Gorm, db.Reader} {
			if i == 1 && db.Reader == db.Gorm {
				break
			}
			count := func(*gorm.DB) { queries.Add(1) }
			if err := g.Callback().Query().Before("gorm:query").Register("test:count", count); err != nil {
				t.Fatal(err)
			}
			if err := g.Callback().Row().Before("gorm:row").Register("test:count", count); err != nil {
				t.Fatal(err)
			}
		}
		me := servicetest.Person(t, "张三明")
		first, err := env.Svc.LoginSandbox(ctx, "carry-1")
		if err != nil {
			t.Fatal(err)
		}
		second, err := env.Svc.LoginSandbox(ctx, "carry-1") // another device of the same user
		if err != nil {
			t.Fatal(err)
		}
		sess, err := env.Svc.Authenticate(ctx, first.Token)
		if err != nil {
			t.Fatal(err)
		}
		if sess.Verified != nil {
			t.Fatal("an unverified user's session carries a verified user")
		}
		if _, err := env.Svc.VerifyIdentity(ctx, sess.UserID, people.IdentityInput{Name: me.Name, IDNumber: me.IDNumber}); err != nil {
			t.Fatal(err)
		}
		want, err := env.Svc.Me(ctx, sess.UserID) // from the database
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{first.Token, second.Token} {
			s, err := env.Svc.Authenticate(ctx, token) // takes the copy into Redis
			if err != nil {
				t.Fatal(err)
			}
			if s.Verified == nil || s.Verified.User.PersonID == nil || *s.Verified.User.PersonID != s.Verified.Person.ID {
				t.Fatalf("session after verification carries %+v", s.Verified)
			}
		}
		queries.Store(0)
		s, err := env.Svc.Authenticate(ctx, second.Token)
		if err != nil {
			t.Fatal(err)
		}
		got, err := env.Svc.Me(kernel.WithVerified(ctx, s.Verified), s.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if n := queries.Load(); n != 0 {
			t.Fatalf("a verified session's authenticate + getMe ran %d database queries, want 0", n)
		}
		if got != want || !got.RealNameVerified || got.NameMasked == "" {
			t.Fatalf("getMe from the session = %+v, from the database %+v", got, want)
		}
		other, err := env.Svc.LoginSandbox(ctx, "carry-2")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := env.Svc.Me(kernel.WithVerified(ctx, s.Verified), other.User.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if theirs.RealNameVerified || theirs.UserID != other.User.UserID {
			t.Fatalf("another user's getMe answered from this session's copy: %+v", theirs)
		}
		if err := env.Svc.Logout(ctx, second.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.Authenticate(ctx, second.Token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("session alive after logout: %v", err)
		}
	})
}
