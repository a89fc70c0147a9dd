package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func TestMigrationsApplyOnceOnEveryDialect(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		// storetest already migrated; a second run must apply nothing.
		applied, err := db.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v", applied)
		}
		var n int64
		if err := db.Gorm.Table("schema_migrations").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no migration recorded")
		}
	})
}

func TestDuplicateKeysAreRecognisedOnEveryDialect(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		row := store.ClaimRow{PersonID: "p1", Scheme: "flexible_pension", Period: "202601", DeclarationID: "d1", State: "declared"}
		if err := db.Gorm.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		row.DeclarationID = "d2"
		err := db.Gorm.Create(&row).Error
		if err == nil {
			t.Fatal("second claim of the same month was accepted")
		}
		if !store.IsDuplicate(err) {
			t.Fatalf("duplicate not recognised: %v", err)
		}
	})
}

func TestRedactURLHidesPasswords(t *testing.T) {
	got := store.RedactURL("mysql://root:s3cret@127.0.0.1:3306/test")
	if got != "mysql://root:xxxxx@127.0.0.1:3306/test" {
		t.Fatalf("got %s", got)
	}
}

// The embedded server's keys expire on the wall clock: the ticker that
// replaced miniredis's per-command ClockTTL must still advance TTLs.
func TestEmbeddedRedisExpiresKeys(t *testing.T) {
	ctx := context.Background()
	r, err := store.OpenRedis(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Client.Set(ctx, "k", "v", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Client.Exists(ctx, "k").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("a key with a 300 ms TTL still exists after 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Reads routed to DB.Reader see every committed write at once, and the
// reader can never write: on SQLite it is a separate read-only pool.
func TestReaderSeesCommittedWritesAndCannotWrite(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		row := store.ClaimRow{PersonID: "p-reader", Scheme: "flexible_pension", Period: "202601", DeclarationID: "d1", State: "declared"}
		if err := db.Gorm.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		var got store.ClaimRow
		if err := db.Reader.Where("person_id = ?", "p-reader").Take(&got).Error; err != nil {
			t.Fatalf("reader does not see the committed row: %v", err)
		}
		if db.Dialect != store.SQLite {
			return
		}
		if db.Reader == db.Gorm {
			t.Fatal("SQLite reads share the writer's single connection")
		}
		if err := db.Reader.Create(&store.ClaimRow{PersonID: "p-reader", Scheme: "x", Period: "202601", DeclarationID: "d2", State: "declared"}).Error; err == nil {
			t.Fatal("the read pool accepted a write")
		}
	})
}
