package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openUnmigrated opens an empty database on each dialect the environment
// names (storetest cannot be used here: it imports this package, and it
// migrates everything).
func openUnmigrated(t *testing.T, fn func(t *testing.T, db *DB)) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		db, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "old.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fn(t, db)
	})
	for _, s := range []struct{ name, env string }{{"postgres", "LIANBAN_TEST_POSTGRES"}, {"mysql", "LIANBAN_TEST_MYSQL"}} {
		base := os.Getenv(s.env)
		if base == "" {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			admin, err := Open(ctx, base)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			name := "lbt_" + strings.ToLower(hex.EncodeToString(b))
			if err := admin.Gorm.Exec("CREATE DATABASE " + name).Error; err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(base)
			u.Path = "/" + name
			db, err := Open(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = db.Close()
				if admin.Dialect == Postgres {
					admin.Gorm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
				} else {
					admin.Gorm.Exec("DROP DATABASE IF EXISTS " + name)
				}
			}()
			fn(t, db)
		})
	}
}

// Rows written before units existed read as an individual's rows after
// 0009, and keep their rules: one contribution per person, scheme and month,
// and certificates that cannot change.
func TestUnitsMigrationKeepsExistingRows(t *testing.T) {
	openUnmigrated(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.migrateUpTo(ctx, 8); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		rec := map[string]any{"id": "r1", "person_id": "p1", "scheme": "flexible_pension", "period": "202601",
			"region_code": "150100", "base_fen": 490700, "amount_fen": 98140, "status": "paid", "order_no": "o1",
			"payer_user_id": "us1", "paid_at": at}
		for table, row := range map[string]map[string]any{
			"records": rec,
			"orders": {"order_no": "o1", "declaration_id": "d1", "person_id": "p1", "payer_user_id": "us1", "channel": "wechat",
				"scheme": "flexible_pension", "amount_fen": 98140, "status": "paid", "expires_at": at, "created_at": at, "updated_at": at},
			"certificates": {"certificate_no": "C1", "kind": "payment_voucher", "person_id": "p1", "issued_by_user_id": "us1",
				"scheme": "flexible_pension", "period_from": "202601", "period_to": "202601", "total_fen": 98140, "line_count": 1,
				"canonical": []byte("c"), "signature": []byte("s"), "key_id": "k", "algorithm": "ed25519", "pdf": []byte("%PDF"), "issued_at": at},
			"refunds": {"refund_no": "RF1", "applicant_user_id": "us1", "person_id": "p1", "scheme": "flexible_pension",
				"department": "tax", "reason": "overpaid", "refund_fen": 100, "route": "original", "status": "submitted",
				"created_at": at, "updated_at": at},
		} {
			if err := db.Gorm.Table(table).Create(row).Error; err != nil {
				t.Fatalf("%s before 0009: %v", table, err)
			}
		}
		if applied, err := db.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != "0009_units.sql" {
			t.Fatalf("migrate to 0009: %v, %v", applied, err)
		}

		var r RecordRow
		if err := db.Gorm.First(&r, "id = ?", "r1").Error; err != nil || r.AdjustmentNo != 0 || r.PayerUnitID != "" || r.AmountFen != 98140 {
			t.Fatalf("old record after 0009: %+v, %v", r, err)
		}
		var o OrderRow
		if err := db.Gorm.First(&o, "order_no = ?", "o1").Error; err != nil || o.UnitID != "" || o.Method != "" || o.DeclarationID != "d1" {
			t.Fatalf("old order after 0009: %+v, %v", o, err)
		}
		var f RefundRow
		if err := db.Gorm.First(&f, "refund_no = ?", "RF1").Error; err != nil || f.UnitID != "" || f.PersonID != "p1" {
			t.Fatalf("old refund after 0009: %+v, %v", f, err)
		}
		again := r
		again.ID = "r2"
		if err := db.Gorm.Create(&again).Error; !IsDuplicate(err) {
			t.Fatalf("the old month credited again: %v", err)
		}
		err := db.Gorm.Model(&CertificateRow{}).Where("certificate_no = ?", "C1").Update("unit_id", "u1").Error
		if err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Fatalf("an old certificate given a unit: %v", err)
		}
	})
}
