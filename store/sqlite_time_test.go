package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lianban/lianban/store"
)

// SQLite keeps times as text and compares them as text: keyset pages
// (issued_at = ? AND no < ?) and conditions (created_at > ?) work only if
// every value of a column has one format. Times are written as the
// databases made before the driver changed hold them, read back in UTC,
// and a value bound now equals the same instant stored then.
func TestSQLiteWritesTimesAsEarlierDatabasesHoldThem(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := db.Gorm
	if err := g.Exec("CREATE TABLE stamps (id INTEGER PRIMARY KEY, at DATETIME NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 4, 5, 6, 123456789, time.UTC)
	// Row 1 as the earlier driver wrote it; row 2 written now, from a
	// time in another zone.
	if err := g.Exec("INSERT INTO stamps (id, at) VALUES (1, '2026-11-30 04:05:06.123456789+00:00')").Error; err != nil {
		t.Fatal(err)
	}
	if err := g.Exec("INSERT INTO stamps (id, at) VALUES (2, ?)", at.In(time.FixedZone("CST", 8*3600))).Error; err != nil {
		t.Fatal(err)
	}
	var texts []string
	if err := g.Raw("SELECT CAST(at AS TEXT) FROM stamps ORDER BY id").Scan(&texts).Error; err != nil {
		t.Fatal(err)
	}
	if len(texts) != 2 || texts[1] != texts[0] {
		t.Fatalf("stored as %q; want both as the earlier driver wrote them", texts)
	}
	var n int64
	if err := g.Raw("SELECT count(*) FROM stamps WHERE at = ?", at).Scan(&n).Error; err != nil || n != 2 {
		t.Fatalf("%d rows equal the same instant (%v); want both", n, err)
	}
	var back []time.Time
	if err := g.Raw("SELECT at FROM stamps ORDER BY id").Scan(&back).Error; err != nil {
		t.Fatal(err)
	}
	for _, b := range back {
		if !b.Equal(at) || b.Location() != time.UTC {
			t.Fatalf("read back %v (%v); want %v in UTC", b, b.Location(), at)
		}
	}
}
