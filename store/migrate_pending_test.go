package store

import (
	"context"
	"testing"
)

// A database with no schema, or one behind the binary's migrations, has
// migrations pending (readiness fails on it); once migrated it has none.
func TestPendingNamesTheMigrationsTheSchemaLacks(t *testing.T) {
	openUnmigrated(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.Pending(ctx); err == nil {
			t.Fatal("an empty database passed for migrated")
		}
		if _, err := db.migrateUpTo(ctx, 13); err != nil {
			t.Fatal(err)
		}
		ms, err := loadMigrations()
		if err != nil {
			t.Fatal(err)
		}
		pending, err := db.Pending(ctx)
		if err != nil || len(pending) != len(ms)-13 || pending[0] != "0014_work_leases.sql" {
			t.Fatalf("pending after 0013: %v, %v", pending, err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if pending, err := db.Pending(ctx); err != nil || len(pending) != 0 {
			t.Fatalf("pending after migrating: %v, %v", pending, err)
		}
	})
}
