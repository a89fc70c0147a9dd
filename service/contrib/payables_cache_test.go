package contrib_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// The payables cache is served (a claim written behind its back is not
// seen until ForgetPayables), and every step of declaring, paying and
// releasing a month invalidates it: the month leaves the unpaid list when
// declared and paid, and comes back when an unpaid declaration expires.
// On every Redis target: the real one or the embedded one, and a cluster.
func TestPayablesCacheInvalidatesOnEveryStep(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, db *store.DB, r *store.Redis) {
		ctx := context.Background()
		env := servicetest.NewEnvOn(t, db, r)
		j := servicetest.StartJourney(t, env) // the first query fills the cache
		var u store.UserRow
		if err := db.Gorm.Where("id = ?", j.Sess.UserID).Take(&u).Error; err != nil || u.PersonID == nil {
			t.Fatalf("user %+v: %v", u, err)
		}
		personID := *u.PersonID
		unpaid := func() []string {
			t.Helper()
			items, err := env.Svc.QueryPayables(ctx, j.Sess.UserID, people.PersonRef{Self: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 {
				t.Fatalf("payables %+v", items)
			}
			return items[0].UnpaidPeriods
		}
		if got := unpaid(); !slices.Equal(got, []string{"202611", "202612"}) {
			t.Fatalf("unpaid at start: %v", got)
		}
		if n, err := env.Redis.Client.Exists(ctx, "lb:payables:{"+personID+"}").Result(); err != nil || n != 1 {
			t.Fatalf("payables not cached after a query: %d %v", n, err)
		}

		// Served from the cache: a claim written without invalidation is
		// not seen until ForgetPayables. (Without this the steps below
		// would pass with no cache at all.)
		ghost := store.ClaimRow{PersonID: personID, Scheme: string(j.Self.Scheme), Period: "202612", DeclarationID: "d_ghost", State: contrib.ClaimDeclared}
		if err := db.Gorm.Create(&ghost).Error; err != nil {
			t.Fatal(err)
		}
		if got := unpaid(); !slices.Equal(got, []string{"202611", "202612"}) {
			t.Fatalf("want the cached view, got %v", got)
		}
		env.Svc.ForgetPayables(ctx, personID)
		if got := unpaid(); !slices.Equal(got, []string{"202611"}) {
			t.Fatalf("after ForgetPayables: %v", got)
		}
		if err := db.Gorm.Where("declaration_id = ?", "d_ghost").Delete(&store.ClaimRow{}).Error; err != nil {
			t.Fatal(err)
		}
		env.Svc.ForgetPayables(ctx, personID)
		if got := unpaid(); !slices.Equal(got, []string{"202611", "202612"}) {
			t.Fatalf("after the ghost claim went: %v", got)
		}

		// Declaring a month takes it off the list at once.
		d, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID,
			OptionCode: "grade_60", PeriodFrom: "202611", PeriodTo: "202611"})
		if err != nil {
			t.Fatal(err)
		}
		if got := unpaid(); !slices.Equal(got, []string{"202612"}) {
			t.Fatalf("after declaring 202611: %v", got)
		}
		// An unpaid declaration expiring gives the month back.
		env.Clock.Advance(env.Opt.DeclarationTTL + time.Minute)
		if err := env.Svc.ExpireDeclarations(ctx); err != nil {
			t.Fatal(err)
		}
		if got := unpaid(); !slices.Equal(got, []string{"202611", "202612"}) {
			t.Fatalf("after the declaration %s expired: %v", d.DeclarationID, got)
		}

		// Declared, paying and paid: gone for good.
		d, err = env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID,
			OptionCode: "grade_60", PeriodFrom: "202611", PeriodTo: "202611"})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		items, err := env.Svc.QueryPayables(ctx, j.Sess.UserID, people.PersonRef{Self: true})
		if err != nil || len(items) != 1 || !slices.Equal(items[0].UnpaidPeriods, []string{"202612"}) {
			t.Fatalf("while paying: %+v %v", items, err)
		}
		if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		if got := unpaid(); !slices.Equal(got, []string{"202612"}) {
			t.Fatalf("after paying 202611: %v", got)
		}
		// Paying the last month: the payable is paid, from the cache's
		// point of view too.
		d, err = env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: j.Self.PayableID,
			OptionCode: "grade_60", PeriodFrom: "202612", PeriodTo: "202612"})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err = env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		items, err = env.Svc.QueryPayables(ctx, j.Sess.UserID, people.PersonRef{Self: true})
		if err != nil || len(items) != 1 || len(items[0].UnpaidPeriods) != 0 || items[0].Status != contrib.PayablePaid {
			t.Fatalf("after paying everything: %+v %v", items, err)
		}
	})
}
