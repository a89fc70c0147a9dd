package contrib_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAnOrdersParametersCommitUnsyncedButNeverALinkPaidLater: storing the
// channel's answer on a new order is the one commit that does not wait
// for the disk (markPaying: on PostgreSQL and SQLite), except for a link
// the payer opens later (Alipay H5), whose stored link is what keeps the
// closer from giving the months back while it can still be paid. On
// SQLite the connection is given back synced, so nothing after it (a
// settlement) is written the relaxed way.
func TestAnOrdersParametersCommitUnsyncedButNeverALinkPaidLater(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		r := servicetest.NewRig(t, db, servicetest.RigConfig{Retry: []time.Duration{}})
		meter := servicetest.MeterCost(t, r.Env)
		unsynced := func(c servicetest.Cost) bool {
			for _, q := range c.SQL {
				if strings.Contains(q, "set_config('synchronous_commit', 'off', true)") || strings.Contains(q, "PRAGMA synchronous = NORMAL") {
					return true
				}
			}
			return false
		}
		relaxes := db.Dialect == store.Postgres || db.Dialect == store.SQLite
		var app, h5 contrib.Payment
		appCost := meter.Measure(func() { _, app = r.OpenOrder(models.ChannelAlipay, false) })
		h5Cost := meter.Measure(func() { _, h5 = r.OpenOrder(models.ChannelAlipay, true) })
		if app.Status != contrib.OrderPaying || len(app.PayParams) == 0 || h5.Status != contrib.OrderPaying || h5.PayParams["url"] == "" {
			t.Fatalf("orders not open for paying: %+v %+v", app, h5)
		}
		if got := unsynced(appCost); got != relaxes {
			t.Errorf("an in-app order's parameters stored unsynced: %v, want %v\n%s", got, relaxes, strings.Join(appCost.SQL, "\n"))
		}
		if unsynced(h5Cost) {
			t.Errorf("an H5 link stored unsynced\n%s", strings.Join(h5Cost.SQL, "\n"))
		}
		for _, o := range []contrib.Payment{app, h5} {
			if st := r.Status(o.OrderNo); st != contrib.OrderPaying {
				t.Errorf("order %s is %s in the database, want paying", o.OrderNo, st)
			}
		}
		if db.Dialect == store.SQLite {
			// The writer is one connection: the next statement runs on the
			// one the update used.
			var level int
			if err := db.Gorm.Raw("PRAGMA synchronous").Scan(&level).Error; err != nil || level != 2 {
				t.Fatalf("the writer's synchronous after an unsynced update: %d %v, want 2 (FULL)", level, err)
			}
		}
	})
}
