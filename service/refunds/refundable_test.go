package refunds_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestTheRefundFormOffersWhatTheServerWouldTake: listRefundable lists a
// person's orders with what an application may ask back, by the rules
// createRefund applies. A friend who paid November for 张三明 (a pay-only
// link) sees only that order, and it waits for the treasury's credit as
// long as it is only paid; 张三明 sees both. The refundable amount is
// exactly what createRefund takes (a fen more is refused), and once an
// application is open both orders wait for it — for the friend only once
// her money is credited, as createRefund would tell her.
func TestTheRefundFormOffersWhatTheServerWouldTake(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, treasury := servicetest.NewEnvWithTreasury(t, db)
		treasury.Answer(func(string) string { return servicetest.TreasuryPending })
		j := servicetest.StartJourney(t, env)
		zhang, zhao, li := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰"), servicetest.Person(t, "李秀英")
		friend := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		byName := people.PersonRef{Name: zhang.Name, IDNumber: zhang.IDNumber}
		theirs := payMonth(t, env, friend, byName, "202611")
		mine := payMonth(t, env, j.Sess, servicetest.Self, "202612")

		list := func(sess people.Session, who people.PersonRef) []refunds.RefundableOrder {
			t.Helper()
			got, err := env.Svc.ListRefundable(ctx, sess.UserID, who)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		type row struct {
			order, state string
			fen          models.Fen
		}
		want := func(what string, got []refunds.RefundableOrder, rows ...row) {
			t.Helper()
			ok := len(got) == len(rows)
			for i := 0; ok && i < len(rows); i++ {
				g := got[i]
				ok = g.OrderNo == rows[i].order && g.State == rows[i].state && g.RefundableFen == rows[i].fen &&
					g.Scheme == models.SchemeFlexiblePension && g.OriginalRoute
			}
			if !ok {
				t.Fatalf("%s: %+v, want %+v", what, got, rows)
			}
		}
		want("his own, only paid", list(j.Sess, servicetest.Self),
			row{mine.OrderNo, refunds.RefundableAwaitingCredit, mine.AmountFen}, row{theirs.OrderNo, refunds.RefundableAwaitingCredit, theirs.AmountFen})
		want("the friend's, only paid", list(friend, byName), row{theirs.OrderNo, refunds.RefundableAwaitingCredit, theirs.AmountFen})
		if got := list(j.Sess, servicetest.Self); got[0].PeriodFrom != "202612" || got[0].PeriodTo != "202612" || got[1].PeriodFrom != "202611" {
			t.Fatalf("periods: %+v", got)
		}
		stranger := env.LoginVerified(t, "li", li.Name, li.IDNumber)
		if _, err := env.Svc.ListRefundable(ctx, stranger.UserID, people.PersonRef{MemberID: "m_nope"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a member id not the caller's: %v", err)
		}
		if got := list(stranger, byName); len(got) != 0 {
			t.Fatalf("someone who paid nothing for him is offered %+v", got)
		}

		// The treasury credits his December first.
		treasury.Answer(func(orderNo string) string {
			if orderNo == mine.OrderNo {
				return servicetest.TreasuryDone
			}
			return servicetest.TreasuryPending
		})
		env.Clock.Advance(time.Hour)
		env.Svc.WorkOnce(ctx)
		want("his own, December credited", list(j.Sess, servicetest.Self),
			row{mine.OrderNo, refunds.RefundableNow, mine.AmountFen}, row{theirs.OrderNo, refunds.RefundableAwaitingCredit, theirs.AmountFen})

		// What the list offers is what an application may ask, to the fen.
		in := refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, OrderNo: mine.OrderNo,
			RefundFen: mine.AmountFen + 1, Reason: models.ReasonOverpaid}
		if _, err := env.Svc.CreateRefund(ctx, j.Sess.UserID, in); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("a fen more than offered: %v", err)
		}
		in.RefundFen = mine.AmountFen
		r := servicetest.Apply(t, env, j.Sess, in)
		want("his own, an application open", list(j.Sess, servicetest.Self),
			row{mine.OrderNo, refunds.RefundableOpenApplication, 0}, row{theirs.OrderNo, refunds.RefundableOpenApplication, 0})
		// The friend hears of his application as createRefund would tell
		// her: not while her own money is not yet credited.
		want("the friend's, not credited, his application open", list(friend, byName),
			row{theirs.OrderNo, refunds.RefundableAwaitingCredit, theirs.AmountFen})
		treasury.Answer(func(string) string { return servicetest.TreasuryDone })
		env.Clock.Advance(time.Hour)
		env.Svc.WorkOnce(ctx)
		want("the friend's, credited, his application open", list(friend, byName), row{theirs.OrderNo, refunds.RefundableOpenApplication, 0})
		if _, err := env.Svc.CreateRefund(ctx, friend.UserID, refunds.RefundInput{Person: byName, Scheme: models.SchemeFlexiblePension,
			OrderNo: theirs.OrderNo, RefundFen: 100, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrRefundOpen) {
			t.Fatalf("the friend's application while his is open: %v", err)
		}
		if _, err := env.Svc.WithdrawRefund(ctx, j.Sess.UserID, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		want("his own, withdrawn", list(j.Sess, servicetest.Self),
			row{mine.OrderNo, refunds.RefundableNow, mine.AmountFen}, row{theirs.OrderNo, refunds.RefundableNow, theirs.AmountFen})
	})
}
