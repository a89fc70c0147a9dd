package kernel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestInsertNumberedDrawsAgainOnlyWhenTheNumberIsTaken: a receipt number
// another enrolment already holds is drawn again, where it used to be
// reported as "already enrolled" (make bench's payers met it about once
// per thousand enrolments under one fixed clock); the row's own unique key
// (one enrolment per person and scheme) is still reported as a duplicate,
// and a drawer that only ever repeats itself is an error, not a loop.
func TestInsertNumberedDrawsAgainOnlyWhenTheNumberIsTaken(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		g := db.Gorm.WithContext(context.Background())
		now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
		enrolment := func(person string) *store.EnrolmentRow {
			return &store.EnrolmentRow{ID: kernel.NewID("en"), PersonID: person, Scheme: "flexible_pension", RegionCode: "150100",
				Status: "active", RegisteredAt: now, EnrolledByUserID: "u_test"}
		}
		drawing := func(row *store.EnrolmentRow, numbers ...string) (func() string, *int) {
			n := 0
			return func() string {
				row.ReceiptNo = numbers[min(n, len(numbers)-1)]
				n++
				return row.ReceiptNo
			}, &n
		}
		insert := func(row *store.EnrolmentRow, numbers ...string) (bool, int, error) {
			draw, n := drawing(row, numbers...)
			ok, err := kernel.InsertNumbered(g, row, &store.EnrolmentRow{}, "receipt_no", draw)
			return ok, *n, err
		}

		first := enrolment("p_first")
		if ok, draws, err := insert(first, "CB1"); !ok || draws != 1 || err != nil {
			t.Fatalf("first enrolment: ok=%v draws=%d err=%v", ok, draws, err)
		}
		second := enrolment("p_second")
		if ok, draws, err := insert(second, "CB1", "CB2"); !ok || draws != 2 || err != nil || second.ReceiptNo != "CB2" {
			t.Fatalf("a taken number must be drawn again: ok=%v draws=%d err=%v receipt=%s", ok, draws, err, second.ReceiptNo)
		}
		again := enrolment("p_first")
		if ok, draws, err := insert(again, "CB3"); ok || draws != 1 || err != nil {
			t.Fatalf("the person's second enrolment must be refused as a duplicate: ok=%v draws=%d err=%v", ok, draws, err)
		}
		stuck := enrolment("p_third")
		if ok, draws, err := insert(stuck, "CB1"); ok || err == nil || draws != 5 {
			t.Fatalf("a drawer repeating a taken number must end in an error: ok=%v draws=%d err=%v", ok, draws, err)
		}
		var rows []store.EnrolmentRow
		if err := g.Order("receipt_no").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%d %s %s", len(rows), rows[0].PersonID, rows[1].PersonID); got != "2 p_first p_second" {
			t.Fatalf("rows %+v", rows)
		}
	})
}
