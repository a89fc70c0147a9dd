package unitpay_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAUnitsOrdersArePagedToTheOldest: the list used to be the newest 100
// orders, paged through by offset, so a unit's older orders (a hundred
// months and corrections) could not be reached. Each page is now a keyset
// on the order number: every order once, newest first.
func TestAUnitsOrdersArePagedToTheOldest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		f := servicetest.NewUnitFixture(t, env)
		start := env.Clock.Now().UTC().Add(-130 * 24 * time.Hour)
		var want []string
		for i := range 130 {
			at := start.Add(time.Duration(i) * 24 * time.Hour)
			o := store.OrderRow{OrderNo: kernel.NewNumber("U", at, 8), Channel: unitpay.MethodPOS, AmountFen: int64(1000 + i),
				Status: contrib.OrderClosed, CreatedAt: at, UpdatedAt: at, ExpiresAt: at, UnitID: f.UnitID, UnitDeclarationID: f.Decl.ID,
				Method: unitpay.MethodPOS}
			if err := db.Gorm.Create(&o).Error; err != nil {
				t.Fatal(err)
			}
			want = append([]string{o.OrderNo}, want...) // newest first
		}
		// Another unit's order is never listed.
		if err := db.Gorm.Create(&store.OrderRow{OrderNo: kernel.NewNumber("U", start, 8), Channel: unitpay.MethodPOS, AmountFen: 1,
			Status: contrib.OrderClosed, CreatedAt: start, UpdatedAt: start, ExpiresAt: start, UnitID: "unit_other",
			UnitDeclarationID: "ud_other", Method: unitpay.MethodPOS}).Error; err != nil {
			t.Fatal(err)
		}
		var got []string
		page := kernel.Page{Size: 50}
		for pages := 1; ; pages++ {
			items, next, err := env.Svc.ListUnitPayments(ctx, f.Rep.UserID, f.UnitID, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range items {
				if p.UnitID != f.UnitID || p.Period != servicetest.UnitPeriod {
					t.Fatalf("listed %+v", p)
				}
				got = append(got, p.OrderNo)
			}
			if next == "" {
				if pages != 3 || len(items) != 30 {
					t.Fatalf("last page %d has %d orders, want page 3 with 30", pages, len(items))
				}
				break
			}
			if len(items) != 50 || pages == 3 {
				t.Fatalf("page %d: %d orders and a next page", pages, len(items))
			}
			page.After = next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("listed %d orders, want all %d newest first\ngot  %v\nwant %v", len(got), len(want), got, want)
		}
		// An offset token of the list's earlier pages ("o:50") is not an
		// order number: refused, not a silent first page.
		if _, _, err := env.Svc.ListUnitPayments(ctx, f.Rep.UserID, f.UnitID, kernel.Page{Size: 50, After: "bzo1MA"}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("an offset token: %v, want INVALID_ARGUMENT", err)
		}
		if !db.Gorm.Migrator().HasIndex(&store.OrderRow{}, "ix_orders_unit_order") {
			t.Fatal("ix_orders_unit_order (migration 0017) missing: every page would sort all of the unit's orders")
		}
	})
}
