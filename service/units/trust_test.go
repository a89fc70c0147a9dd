package units_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/service/units/roster"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestRosterIsNoNameGuessingOracle: each roster row answers whether a
// name belongs to an ID number, so a unit's roster must not be a way
// round the identity-check budget that binding spends: every wrong name
// spends it, a spent budget answers no row, and a row with a wrong name
// says nothing about where its ID number is insured.
func TestRosterIsNoNameGuessingOracle(t *testing.T) {
	counted := &countingIdentity{}
	env := servicetest.New(t, storetest.Targets()[0].Open(t), servicetest.Config{Mutate: func(d *service.Deps, o *service.Options) {
		o.IdentityChecksPerUser, o.IdentityChecksPerAddress = 6, 1000
		counted.next = d.Identity
		d.Identity = counted
	}})
	ctx := context.Background()
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	rep := env.LoginVerified(t, "rep", me.Name, me.IDNumber)                                                  // check 1
	u, err := env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"}) // check 2
	if err != nil {
		t.Fatal(err)
	}
	guesser := env.LoginVerified(t, "guesser", mom.Name, mom.IDNumber)                                                              // check 1
	gu, err := env.Svc.BindUnit(ctx, guesser.UserID, units.BindInput{USCC: models.MakeUSCC("91150100MA0LB7777"), Name: "某某商贸有限公司"}) // check 2
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.RegisterUnitScheme(ctx, rep.UserID, u.UnitID, units.RegistrationInput{Scheme: models.SchemeEnterprisePension, RegionCode: "150100"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.RegisterUnitScheme(ctx, guesser.UserID, gu.UnitID, units.RegistrationInput{Scheme: models.SchemeEnterprisePension, RegionCode: "150100"}); err != nil {
		t.Fatal(err)
	}
	var staff []roster.Input
	for i := 1; i <= 10; i++ {
		staff = append(staff, employee(i, 800000, "202611"))
	}
	if _, err := env.Svc.AddEmployeesJSON(ctx, rep.UserID, u.UnitID, staff); err != nil {
		t.Fatalf("the real unit's roster (right names spend nothing): %v", err)
	}

	// One wrong name: reported (check 3), and nothing else about the
	// person, who is insured through the other unit.
	guess := staff[0]
	guess.Name = "王某某"
	_, err = env.Svc.AddEmployeesJSON(ctx, guesser.UserID, gu.UnitID, []roster.Input{guess})
	var inv *roster.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("got %v, want *roster.Invalid", err)
	}
	for _, p := range inv.Problems {
		if p.Code != units.CodeNameMismatch {
			t.Fatalf("a wrong name learnt %s: %+v", p.Code, inv.Problems)
		}
	}

	// Nine more guesses: the budget has three left, so the roster answers
	// no row at all.
	var guesses []roster.Input
	for _, s := range staff[1:] {
		s.Name = "王某某"
		guesses = append(guesses, s)
	}
	_, err = env.Svc.AddEmployeesJSON(ctx, guesser.UserID, gu.UnitID, guesses)
	if errors.As(err, &inv) || !isCode(err, "RATE_LIMITED") {
		t.Fatalf("nine guesses over budget: %v, want RATE_LIMITED with no rows", err)
	}

	// With the budget spent, a roster of the person registry's people
	// under wrong names stops at its first one: the registry is not asked
	// about the rest.
	var strangers []roster.Input
	for _, p := range sandbox.DemoPeople() {
		strangers = append(strangers, roster.Input{Name: "王某某", IDNumber: p.IDNumber, WageFen: 800000, FromPeriod: "202611"})
	}
	before := counted.calls.Load()
	_, err = env.Svc.AddEmployeesJSON(ctx, guesser.UserID, gu.UnitID, strangers)
	if !isCode(err, "RATE_LIMITED") {
		t.Fatalf("a hundred guesses over budget: %v", err)
	}
	if n := counted.calls.Load() - before; n > 1 {
		t.Fatalf("the person registry was asked %d times after the budget was spent", n)
	}
}

// countingIdentity counts the person registry's checks.
type countingIdentity struct {
	next  models.IdentityVerifier
	calls atomic.Int64
}

func (c *countingIdentity) Verify(ctx context.Context, name, idNumber, ticket string) error {
	c.calls.Add(1)
	return c.next.Verify(ctx, name, idNumber, ticket)
}

// changingRegistry is a unit registry whose one unit's legal
// representative can change, as a business licence's does.
type changingRegistry struct {
	mu  sync.Mutex
	rec models.UnitRecord
}

func (r *changingRegistry) LookupUnit(_ context.Context, code models.USCC) (models.UnitRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if code.Code != r.rec.USCC {
		return models.UnitRecord{}, models.ErrUnitUnknown
	}
	return r.rec, nil
}

func (r *changingRegistry) setRep(name, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.LegalRepName, r.rec.LegalRepIDNumber = name, id
}

// TestANewLegalRepresentativeTakesTheUnitOver: when the registry names a
// new legal representative, they bind the unit and the former one stops
// acting for it. Before, whoever bound first kept the unit (its money,
// refunds and 办税员) for good and the registry's current legal
// representative was refused. A unit the registry does not know (the
// sandbox's new codes) stays with whoever bound it.
func TestANewLegalRepresentativeTakesTheUnitOver(t *testing.T) {
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	reg := &changingRegistry{rec: models.UnitRecord{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司", Type: models.UnitEnterprise,
		Region: "150100", LegalRepName: me.Name, LegalRepIDNumber: me.IDNumber}}
	env := servicetest.New(t, storetest.Targets()[0].Open(t), servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) {
		d.UnitRegistry = reg
	}})
	ctx := context.Background()
	old := env.LoginVerified(t, "old-rep", me.Name, me.IDNumber)
	successor := env.LoginVerified(t, "new-rep", mom.Name, mom.IDNumber)
	in := units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"}
	u, err := env.Svc.BindUnit(ctx, old.UserID, in)
	if err != nil {
		t.Fatal(err)
	}
	// Not the registry's legal representative yet: refused.
	_, err = env.Svc.BindUnit(ctx, successor.UserID, in)
	mustCode(t, err, "UNIT_MISMATCH")

	reg.setRep(mom.Name, mom.IDNumber)
	got, err := env.Svc.BindUnit(ctx, successor.UserID, in)
	if err != nil || got.UnitID != u.UnitID || got.Role != store.UnitRoleLegalRep {
		t.Fatalf("the registry's new legal representative binding: %+v %v", got, err)
	}
	if _, err := env.Svc.ListUnitOperators(ctx, successor.UserID, u.UnitID); err != nil {
		t.Fatalf("the new legal representative managing operators: %v", err)
	}
	_, err = env.Svc.ListUnitRegistrations(ctx, old.UserID, u.UnitID)
	mustCode(t, err, "NOT_FOUND")
	// The former one cannot take it back while the registry says otherwise.
	_, err = env.Svc.BindUnit(ctx, old.UserID, in)
	mustCode(t, err, "UNIT_MISMATCH")
	if n := servicetest.Count(t, env.DB, "unit_members", "unit_id = ? AND removed_at IS NULL", u.UnitID); n != 1 {
		t.Fatalf("%d active members, want the new legal representative alone", n)
	}
}
