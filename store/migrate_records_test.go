package store

import (
	"context"
	"testing"
	"time"
)

// Records written before 0013 get their order's counter and come out of
// it pending (payer_masked NULL), which the list reads as "work the payer
// out" and the worker's fill step looks for; a record written after it
// keeps what it was given, and the payments list's index exists.
func TestRecordsReadModelMigrationMarksOldRowsPending(t *testing.T) {
	openUnmigrated(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.migrateUpTo(ctx, 12); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		old := map[string]any{"id": "r1", "person_id": "p1", "scheme": "flexible_pension", "period": "202601",
			"region_code": "150100", "base_fen": 490700, "amount_fen": 98140, "status": "paid", "order_no": "o1",
			"payer_user_id": "us1", "paid_at": at}
		if err := db.Gorm.Table("records").Create(old).Error; err != nil {
			t.Fatalf("record before 0013: %v", err)
		}
		order := map[string]any{"order_no": "o1", "declaration_id": "d1", "person_id": "p1", "payer_user_id": "us1", "channel": "bank_counter",
			"scheme": "flexible_pension", "amount_fen": 98140, "status": "paid", "expires_at": at, "created_at": at, "updated_at": at,
			"counter_channel": "bank_counter", "partner_name": "联办示范银行", "terminal_id": "HH-01"}
		if err := db.Gorm.Table("orders").Create(order).Error; err != nil {
			t.Fatalf("order before 0013: %v", err)
		}
		other := map[string]any{"id": "r0", "person_id": "p1", "scheme": "flexible_pension", "period": "202512",
			"region_code": "150100", "base_fen": 490700, "amount_fen": 98140, "status": "paid", "order_no": "o0",
			"payer_user_id": "us1", "paid_at": at}
		if err := db.Gorm.Table("records").Create(other).Error; err != nil {
			t.Fatalf("record before 0013: %v", err)
		}
		if applied, err := db.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != "0013_records_read_model.sql" {
			t.Fatalf("migrate to 0013: %v, %v", applied, err)
		}
		var r RecordRow
		if err := db.Gorm.First(&r, "id = ?", "r1").Error; err != nil || r.PayerMasked != nil || r.AmountFen != 98140 ||
			r.CounterChannel != "bank_counter" || r.CounterPartnerName != "联办示范银行" || r.CounterTerminalID != "HH-01" {
			t.Fatalf("old counter record after 0013: %+v, %v", r, err)
		}
		var r0 RecordRow
		if err := db.Gorm.First(&r0, "id = ?", "r0").Error; err != nil || r0.CounterChannel != "" || r0.CounterPartnerName != "" {
			t.Fatalf("old record of no counter after 0013: %+v, %v", r0, err)
		}
		masked := "张*明"
		fresh := r
		fresh.ID, fresh.Period, fresh.PayerMasked = "r2", "202602", &masked
		if err := db.Gorm.Create(&fresh).Error; err != nil {
			t.Fatal(err)
		}
		var pending int64
		if err := db.Gorm.Model(&RecordRow{}).Where("payer_masked IS NULL").Count(&pending).Error; err != nil || pending != 2 {
			t.Fatalf("pending %d, %v; want the two old rows", pending, err)
		}
		if !db.Gorm.Migrator().HasIndex(&OrderRow{}, "ix_orders_payer_order") {
			t.Fatal("ix_orders_payer_order missing")
		}
	})
}
