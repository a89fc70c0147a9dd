// Package storetest gives tests real databases and Redis: embedded SQLite
// always, and PostgreSQL, MySQL/MariaDB, a real Redis and a Redis Cluster
// when LIANBAN_TEST_POSTGRES, LIANBAN_TEST_MYSQL, LIANBAN_TEST_REDIS and
// LIANBAN_TEST_REDIS_CLUSTER name them. Each test gets a database of its
// own, dropped when it ends. A named server that cannot be reached fails
// the test: CI never skips.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Target is a database a suite runs against.
type Target struct {
	Name string
	open func(t testing.TB) *store.DB
}

// Open returns a fresh, migrated database on the target.
func (tg Target) Open(t testing.TB) *store.DB { return tg.open(t) }

// Targets lists SQLite plus every server named in the environment.
func Targets() []Target {
	ts := []Target{{Name: "sqlite", open: openSQLite}}
	if u := os.Getenv("LIANBAN_TEST_POSTGRES"); u != "" {
		ts = append(ts, Target{Name: "postgres", open: func(t testing.TB) *store.DB { return openServer(t, u, store.Postgres) }})
	}
	if u := os.Getenv("LIANBAN_TEST_MYSQL"); u != "" {
		ts = append(ts, Target{Name: "mysql", open: func(t testing.TB) *store.DB { return openServer(t, u, store.MySQL) }})
	}
	return ts
}

// ForEach runs fn as a subtest on every target.
func ForEach(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, tg := range Targets() {
		t.Run(tg.Name, func(t *testing.T) { fn(t, tg.Open(t)) })
	}
}

func openSQLite(t testing.TB) *store.DB {
	path := filepath.Join(t.TempDir(), "lianban.db")
	return mustOpen(t, "sqlite://"+path)
}

func mustOpen(t testing.TB, u string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("open %s: %v", store.RedactURL(u), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// openServer creates a uniquely named database on the server behind base,
// opens it, and drops it when the test ends.
func openServer(t testing.TB, base string, d store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	admin, err := store.Open(ctx, base)
	if err != nil {
		t.Fatalf("%s named by the environment is unreachable: %v", d, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "lbt_" + strings.ToLower(hex.EncodeToString(b))
	if err := admin.Gorm.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db := mustOpen(t, u.String())
	t.Cleanup(func() {
		_ = db.Close()
		drop(admin.Gorm, d, name)
		_ = admin.Close()
	})
	return db
}

func drop(g *gorm.DB, d store.Dialect, name string) {
	if d == store.Postgres {
		g.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		return
	}
	g.Exec("DROP DATABASE IF EXISTS " + name)
}
