package store_test

import (
	"context"
	"testing"

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
