package kernel_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store/storetest"
	"gorm.io/gorm"
)

// TestAnUnsyncedWriteThatFailsOrPanicsLeavesTheWriterSynced: the writer is
// SQLite's one connection, so a setting left on it would skip the disk
// for every later commit, settlements' too.
func TestAnUnsyncedWriteThatFailsOrPanicsLeavesTheWriterSynced(t *testing.T) {
	var target storetest.Target
	for _, tg := range storetest.Targets() {
		if tg.Name == "sqlite" {
			target = tg
		}
	}
	db := target.Open(t)
	s := kernel.New(kernel.Deps{DB: db, Log: slog.New(slog.DiscardHandler)}, kernel.Defaults())
	level := func() int {
		t.Helper()
		var v int
		if err := db.Gorm.Raw("PRAGMA synchronous").Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := level(); got != 2 {
		t.Fatalf("the writer starts at synchronous %d, want 2 (FULL)", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := s.UnflushedSQLite(ctx, func(c *gorm.DB) *gorm.DB {
		cancel() // the payer went away during the write
		return c.Exec("UPDATE orders SET status = status WHERE order_no = 'none'")
	})
	if res.Error == nil {
		t.Fatal("a write on a cancelled context succeeded")
	}
	if got := level(); got != 2 {
		t.Fatalf("after a failed write the writer is at synchronous %d", got)
	}
	func() {
		defer func() { _ = recover() }()
		s.UnflushedSQLite(context.Background(), func(*gorm.DB) *gorm.DB { panic("write panicked") })
	}()
	if got := level(); got != 2 {
		t.Fatalf("after a panicking write the writer is at synchronous %d", got)
	}
	// Between the two, the write itself ran relaxed.
	var during int
	s.UnflushedSQLite(context.Background(), func(c *gorm.DB) *gorm.DB { return c.Raw("PRAGMA synchronous").Scan(&during) })
	if during != 1 {
		t.Fatalf("the write ran at synchronous %d, want 1 (NORMAL)", during)
	}
}
