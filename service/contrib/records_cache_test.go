package contrib_test

import (
	"context"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A records page is served from Redis (a change written behind the
// cache's back is not seen until the person's version moves), and the
// writes that change records move it: settling a payment and the worker
// crediting and booking it show at once.
func TestRecordsPageCacheFollowsTheWrites(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		ctx := context.Background()
		env := servicetest.NewEnvOn(t, db, r)
		j := servicetest.StartJourney(t, env)
		page := func() []contrib.Record {
			t.Helper()
			recs, _, err := env.Svc.ListRecordsPage(ctx, j.Sess.UserID, contrib.RecordFilter{Person: people.PersonRef{Self: true}},
				kernel.Page{Size: contrib.RecordsPageDefault})
			if err != nil {
				t.Fatal(err)
			}
			return recs
		}
		if got := page(); len(got) != 0 {
			t.Fatalf("records before paying: %+v", got)
		}
		p := servicetest.PayAndCredit(t, env, j.Sess, models.SchemeFlexiblePension) // settles: the empty page must go
		recs := page()
		if len(recs) != 2 || recs[0].OrderNo != p.OrderNo {
			t.Fatalf("records after paying two months: %+v", recs)
		}
		var row store.RecordRow
		if err := db.Gorm.Where("order_no = ?", p.OrderNo).Order("period").Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		// Served from the cache: a voucher number written without moving
		// the version is not seen until ForgetPayables.
		if err := db.Gorm.Model(&store.RecordRow{}).Where("id = ?", row.ID).Update("tax_voucher_no", "GHOST-1").Error; err != nil {
			t.Fatal(err)
		}
		if got := page(); got[0].TaxVoucherNo == "GHOST-1" {
			t.Fatal("the page was read from the database, not the cache")
		}
		env.Svc.ForgetPayables(ctx, row.PersonID)
		if got := page(); got[0].TaxVoucherNo != "GHOST-1" {
			t.Fatalf("after ForgetPayables the page still shows %+v", got[0])
		}
		// The worker moving the records on (credited, booked) shows.
		before := recs[0].Status
		for i := 0; i < 6; i++ {
			env.Clock.Advance(36 * time.Hour)
			env.Svc.WorkOnce(ctx)
		}
		if err := db.Gorm.Where("id = ?", row.ID).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.Status == before {
			t.Fatalf("the worker left the record %s; the test needs a status change", before)
		}
		if got := page(); got[0].Status != row.Status {
			t.Fatalf("page shows %s, the database %s", got[0].Status, row.Status)
		}
	})
}
