package unitpay_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A person's own payment of November into the pension fund and their
// unit's payment of the same November, settling at the same moment, book
// it once: whichever settles second finds the first's month and refuses
// it, as it does when they settle apart (the person's order is refunded
// whole; the unit's line is skipped, an anomaly for its refund). Each
// used to check the other's rows with a plain read, and two settlements
// committing together both booked the month (PostgreSQL, MariaDB).
//
// The moment is made, not hoped for: a transaction of the test holds a
// row the first settlement inserts after its check, so it waits there
// with its check done; the second then runs until it finishes or waits
// too, and the test lets the first go.
func TestAPersonAndTheirUnitPayingOneMonthAtOnceBookItOnce(t *testing.T) {
	for _, first := range []string{"person", "unit"} {
		t.Run(first+" first", func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				if db.Dialect == store.SQLite {
					t.Skip("SQLite's one writer settles one transaction at a time; the test's held row would hold every write")
				}
				payOneMonthAtOnce(t, db, first)
			})
		})
	}
}

func payOneMonthAtOnce(t *testing.T, db *store.DB, first string) {
	ctx := context.Background()
	env := servicetest.NewEnv(t, db)
	f := servicetest.NewUnitFixture(t, env)
	me, voucherNo := unitDeclaresNovemberOfTheRep(t, env, f)
	own := openOwnPensionOrder(t, env) // November and December, unpaid yet
	flexible, enterprise := string(models.SchemeFlexiblePension), string(models.SchemeEnterprisePension)

	// The row the first settlement waits on, just after its check: the
	// person's first record, or the unit's claim of the month.
	hold := env.DB.Gorm.Begin()
	t.Cleanup(func() { hold.Rollback() })
	now := env.Clock.Now().UTC()
	var err error
	if first == "person" {
		err = hold.Create(&store.RecordRow{ID: "r_hold", PersonID: me, Scheme: flexible, Period: "202611", RegionCode: "150100",
			Status: contrib.RecordPaid, OrderNo: "held", PaidAt: now}).Error
	} else {
		err = hold.Create(&store.ClaimRow{PersonID: me, Scheme: enterprise, Period: "202611", DeclarationID: "held", State: contrib.ClaimPaid}).Error
	}
	if err != nil {
		t.Fatal(err)
	}

	personSettles := func() error {
		outcome, err := env.Svc.Settle(ctx, models.Notification{Channel: models.ChannelSandbox, ID: "N-" + own.OrderNo, Kind: models.NotifyPayment,
			OrderNo: own.OrderNo, Amount: own.AmountFen, Paid: true, At: env.Clock.Now()}, "notify")
		if err == nil && outcome != contrib.OutcomeSettled {
			err = fmt.Errorf("the person's order settled as %s", outcome)
		}
		return err
	}
	unitSettles := func() error {
		_, err := env.PayVoucherAtBank(ctx, voucherNo)
		return err
	}
	firstRun, secondRun := personSettles, unitSettles
	if first == "unit" {
		firstRun, secondRun = unitSettles, personSettles
	}
	firstDone := goRun(firstRun)
	waitUntil(t, "the first settlement to wait on the held row", func() bool {
		return lockWaiters(t, db) >= 1 || isDone(firstDone)
	})
	if isDone(firstDone) {
		t.Fatalf("the first settlement ended without waiting on the held row: %v", <-firstDone)
	}
	secondDone := goRun(secondRun)
	waitUntil(t, "the second settlement to end or to wait", func() bool {
		return isDone(secondDone) || lockWaiters(t, db) >= 2
	})
	hold.Rollback()
	for name, done := range map[string]chan error{"first": firstDone, "second": secondDone} {
		waitUntil(t, "the "+name+" settlement to end", func() bool { return isDone(done) })
		if err := <-done; err != nil {
			t.Fatalf("%s settlement: %v", name, err)
		}
	}

	if n := servicetest.Count(t, env.DB, "records", "person_id = ? AND scheme IN ? AND period = ? AND status <> ?",
		me, []string{flexible, enterprise}, "202611", contrib.RecordRefunded); n != 1 {
		t.Fatalf("November 2026 is booked %d times in the pension fund", n)
	}
	unitLines := servicetest.Count(t, env.DB, "records", "person_id = ? AND scheme = ? AND period = ?", me, enterprise, "202611")
	ownRecords := servicetest.Count(t, env.DB, "records", "order_no = ?", own.OrderNo)
	if first == "person" {
		// The unit's line is skipped and staff are told to refund it.
		if ownRecords != 2 || unitLines != 0 {
			t.Fatalf("%d records of the person's order, %d of the unit's line", ownRecords, unitLines)
		}
		if n := servicetest.Count(t, env.DB, "anomalies", "kind = ? AND amount_fen = ?", "unit_line_already_paid", int64(115200)); n != 1 {
			t.Fatalf("%d anomalies for the unit's skipped line", n)
		}
		return
	}
	// The person's order is refunded whole, for the unit's month.
	if ownRecords != 0 || unitLines != 1 {
		t.Fatalf("%d records of the person's order, %d of the unit's line", ownRecords, unitLines)
	}
	var r store.RefundRow
	if err := env.DB.Gorm.Where("refund_no = ?", contrib.AutoRefundNo(own.OrderNo)).Take(&r).Error; err != nil {
		t.Fatalf("automatic refund of the person's own order: %v", err)
	}
	if r.RefundFen != int64(own.AmountFen) || !strings.Contains(r.ReasonDetail, "所属期 202611 已由单位缴纳") {
		t.Fatalf("automatic refund %d fen of %d, %q", r.RefundFen, own.AmountFen, r.ReasonDetail)
	}
}

// unitDeclaresNovemberOfTheRep has the fixture's unit declare November
// 2026 of its legal representative, 张三明, in 企业职工养老 (115,200 fen)
// and open a bank voucher for it; it returns his person id and the
// voucher.
func unitDeclaresNovemberOfTheRep(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture) (string, string) {
	t.Helper()
	ctx := context.Background()
	me, err := env.Svc.SelfPerson(ctx, f.Rep.UserID)
	if err != nil {
		t.Fatal(err)
	}
	d := store.UnitDeclarationRow{ID: "ud_zhang", UnitID: f.UnitID, Period: "202611", AmountFen: 115200, UnitFen: 76800, IndividualFen: 38400,
		Headcount: 1, Status: unitpay.DeclOpen, CreatedBy: f.Rep.UserID, CreatedAt: env.Clock.Now(), UpdatedAt: env.Clock.Now()}
	l := store.UnitDeclarationLineRow{ID: "udl_zhang", DeclarationID: d.ID, EmployeeID: "ue_zhang", PersonID: me.ID, Scheme: string(models.SchemeEnterprisePension),
		RegionCode: "150100", BaseFen: 480000, UnitFen: 76800, IndividualFen: 38400, AmountFen: 115200}
	if err := env.DB.Gorm.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Gorm.Create(&l).Error; err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: d.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	return me.ID, p.VoucherNo
}

// openOwnPensionOrder has 张三明 declare his own 灵活就业 pension
// (November and December 2026) and open a sandbox order for it, unpaid.
func openOwnPensionOrder(t *testing.T, env *servicetest.Env) contrib.Payment {
	t.Helper()
	d, p := servicetest.StartJourney(t, env).OpenOrder(t, context.Background())
	if d.Months != 2 {
		t.Fatalf("the person's own order covers %d months", d.Months)
	}
	return p
}

func goRun(fn func() error) chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

// isDone reports whether done has its answer, leaving it there.
func isDone(done chan error) bool {
	select {
	case err := <-done:
		done <- err
		return true
	default:
		return false
	}
}

// lockWaiters counts the sessions of the test's database waiting on a
// lock. (If a busy machine made it count a slow statement as waiting,
// the second settlement would merely start early: the test could then
// miss the race, never fail a right answer.)
func lockWaiters(t *testing.T, db *store.DB) int64 {
	t.Helper()
	q := "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
	if db.Dialect == store.MySQL {
		// MariaDB's INNODB_TRX leaves out a READ COMMITTED transaction
		// waiting on a lock (10.11, seen here): a statement of the
		// test's database running for a second is taken as waiting.
		q = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() " +
			"AND COMMAND IN ('Query', 'Execute') AND TIME_MS >= 1000"
	}
	var n int64
	if err := db.Gorm.Raw(q).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// waitUntil polls cond; a minute without it fails the test (a settlement
// stuck for good, not a slow machine).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}
