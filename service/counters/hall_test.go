package counters_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

var hallPOS = kernel.PartnerActor{PartnerID: "test-hall", Name: counters.HallName, KeyID: "k1", Channels: []string{counters.ChannelHallPOS}}

func TestPartnerLookupsSpendThePartnersBudget(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) { o.PartnerIdentityChecks = 2 }})
	servicetest.StartJourney(t, env)
	ctx := context.Background()
	me := servicetest.Person(t, "张三明")
	// Partners of their own: the budget is kept in the real Redis, which
	// other tests share.
	bank, other := bank, other
	bank.PartnerID, other.PartnerID = kernel.NewID("pb"), kernel.NewID("po")
	for i := 0; i < 2; i++ {
		if _, err := env.Svc.PartnerQueryPayables(ctx, bank, counters.QueryInput{Name: me.Name, IDNumber: me.IDNumber}); err != nil {
			t.Fatal(err)
		}
	}
	// The third guess is refused whether or not it would match, and
	// another partner's budget is its own.
	if _, err := env.Svc.PartnerQueryPayables(ctx, bank, counters.QueryInput{Name: "李四", IDNumber: me.IDNumber}); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("third check: %v", err)
	}
	if _, err := env.Svc.PartnerQueryPayables(ctx, other, counters.QueryInput{Name: me.Name, IDNumber: me.IDNumber}); err != nil {
		t.Fatalf("other partner: %v", err)
	}
	// A person who never used the app is registered on first sight.
	li := servicetest.Person(t, "李秀英")
	if _, err := env.Svc.PartnerQueryPayables(ctx, other, counters.QueryInput{Name: li.Name, IDNumber: li.IDNumber}); !errors.Is(err, models.ErrNotEnrolled) {
		t.Fatalf("unenrolled person: %v", err)
	}
	if n := servicetest.Count(t, db, "persons", "id_index <> ''"); n < 2 {
		t.Fatalf("%d persons", n)
	}
}

func TestTheHallTakesPaymentWithConsent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		ctx := context.Background()
		if err := env.Svc.SeedStaffAccount(ctx, "tax1", models.RoleTaxWindow, "sandbox-password", "JBSWY3DPEHPK3PXP"); err != nil {
			t.Fatal(err)
		}
		var staff store.StaffAccountRow
		if err := db.Gorm.Where("username = ?", "tax1").Take(&staff).Error; err != nil {
			t.Fatal(err)
		}
		tax := kernel.StaffActor{StaffID: staff.ID, Username: "tax1", Role: models.RoleTaxWindow}
		si := kernel.StaffActor{StaffID: "st_si", Username: "si1", Role: models.RoleSIReviewer}
		me := servicetest.Person(t, "张三明")
		if _, err := env.Svc.HallLookupPerson(ctx, si, counters.HallLookupInput{Name: me.Name, IDNumber: me.IDNumber}); !errors.Is(err, models.ErrRoleForbidden) {
			t.Fatalf("si lookup: %v", err)
		}
		hp, err := env.Svc.HallLookupPerson(ctx, tax, counters.HallLookupInput{Name: me.Name, IDNumber: me.IDNumber})
		if err != nil || len(hp.Items) != 1 || hp.PersonNameMasked == me.Name {
			t.Fatalf("lookup %+v %v", hp, err)
		}
		pb := hp.Items[0]
		o, err := env.Svc.HallCreatePayment(ctx, tax, counters.HallPaymentInput{Name: me.Name, IDNumber: me.IDNumber, PayableID: pb.PayableID,
			OptionCode: pb.Options[0].Code, PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0],
			Consent: counters.ConsentInput{PayerName: "李秀英", Relation: counters.RelationFamily, Method: counters.ConsentSignature}})
		if err != nil || o.Channel != counters.ChannelHallPOS || o.Status != contrib.OrderCreated {
			t.Fatalf("hall payment %+v %v", o, err)
		}
		var c store.HallConsentRow
		if err := db.Gorm.Where("order_no = ?", o.OrderNo).Take(&c).Error; err != nil || strings.Contains(c.PayerNameSealed, "李秀英") || c.StaffID != staff.ID {
			t.Fatalf("consent %+v %v", c, err)
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND target_id = ? AND outcome = ?", "hall.payment", o.OrderNo, "ok"); n != 1 {
			t.Fatalf("%d audit entries", n)
		}
		// Only a partner of the hall's POS confirms it.
		if _, err := confirm(env, bank, o, "POS-1", o.AmountFen); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bank confirms a hall order: %v", err)
		}
		v, err := confirm(env, hallPOS, o, "POS-1", o.AmountFen)
		if err != nil || v.Status != contrib.OrderPaid {
			t.Fatalf("hall confirm %+v %v", v, err)
		}
		recs := servicetest.Records(t, env, j.Sess)
		if len(recs) != 1 || recs[0].Counter == nil || recs[0].Counter.PartnerName != counters.HallName || recs[0].PayerKind != "counter" {
			t.Fatalf("records %+v", recs)
		}
	})
}

func TestHallPOSConfirmsAUnitsPOSOrder(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	f := servicetest.NewUnitFixture(t, env)
	ctx := context.Background()
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodPOS})
	if err != nil {
		t.Fatal(err)
	}
	o := counters.Order{OrderNo: p.OrderNo}
	if _, err := confirm(env, bank, o, "UPOS-1", p.AmountFen); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a bank confirms the hall's unit order: %v", err)
	}
	if _, err := confirm(env, hallPOS, o, "UPOS-1", p.AmountFen-1); !errors.Is(err, models.ErrPaidAmountMismatch) {
		t.Fatalf("wrong amount: %v", err)
	}
	v, err := confirm(env, hallPOS, o, "UPOS-1", p.AmountFen)
	if err != nil || v.Status != contrib.OrderPaid || v.Kind != "unit" {
		t.Fatalf("confirm %+v %v", v, err)
	}
	if n := servicetest.Count(t, db, "records", "order_no = ?", p.OrderNo); n == 0 {
		t.Fatal("no employee records")
	}
	if _, err := env.Svc.PartnerReverseOrder(ctx, hallPOS, p.OrderNo, counters.ReverseInput{PartnerTxnID: "UR-1"}); !errors.Is(err, models.ErrReversalNotAllowed) {
		t.Fatalf("unit reversal: %v", err)
	}
}

func TestAnUnconfirmedCounterOrderGivesItsMonthsBack(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	servicetest.StartJourney(t, env)
	ctx := context.Background()
	o, pb := counterOrder(t, env, "ORD-S1")
	env.Clock.Advance(3 * time.Hour)
	env.Svc.WorkOnce(ctx)
	env.Svc.WorkOnce(ctx)
	var row store.OrderRow
	if err := db.Gorm.Where("order_no = ?", o.OrderNo).Take(&row).Error; err != nil || row.Status != contrib.OrderClosed {
		t.Fatalf("order %s %v", row.Status, err)
	}
	if _, _, err := env.Svc.PartnerCreateOrder(ctx, bank, counters.CreateOrderInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
		PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0], PartnerTxnID: "ORD-S2", TerminalID: "T-001", Channel: counters.ChannelBankCounter}); err != nil {
		t.Fatalf("months still held: %v", err)
	}
	// The counter took the money after all: it is settled, not dropped.
	if _, err := confirm(env, bank, o, "C-S1", o.AmountFen); err != nil {
		t.Fatalf("late confirm: %v", err)
	}
}

// A counter order closed unconfirmed whose months the person then paid
// in the app: the counter's late confirmation is settled (the money is
// there) and refunded whole, and may no longer be reversed, which would
// give the money back twice.
func TestAnUnbookableCounterPaymentIsNotReversed(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	j := servicetest.StartJourney(t, env)
	ctx := context.Background()
	o, pb := counterOrder(t, env, "ORD-U1")
	env.Clock.Advance(3 * time.Hour)
	env.Svc.WorkOnce(ctx)
	env.Svc.WorkOnce(ctx)
	d, err := env.Svc.CreateDeclaration(ctx, j.Sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: pb.Options[0].Code,
		PeriodFrom: pb.UnpaidPeriods[0], PeriodTo: pb.UnpaidPeriods[0]})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreatePayment(ctx, j.Sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	if _, err := confirm(env, bank, o, "C-U1", o.AmountFen); err != nil {
		t.Fatalf("late confirm: %v", err)
	}
	if n := servicetest.Count(t, db, "refund_payouts", "order_no = ?", o.OrderNo); n != 1 {
		t.Fatalf("%d payouts for the unbookable order", n)
	}
	// The settlement ran twice (the first, booking without a savepoint,
	// rolled back): the confirmation's transaction and audit are kept once.
	if n := servicetest.Count(t, db, "counter_txns", "order_no = ? AND op = ?", o.OrderNo, "confirm"); n != 1 {
		t.Fatalf("%d counter transactions for one confirmation", n)
	}
	if n := servicetest.Count(t, db, "audit_log", "action = ? AND target_id = ?", "partner.confirm", o.OrderNo); n != 1 {
		t.Fatalf("%d audit entries for one confirmation", n)
	}
	if _, err := env.Svc.PartnerReverseOrder(ctx, bank, o.OrderNo, counters.ReverseInput{PartnerTxnID: "R-U1"}); !errors.Is(err, models.ErrReversalNotAllowed) {
		t.Fatalf("reverse an order being refunded: %v", err)
	}
}
