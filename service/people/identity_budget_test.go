package people_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store/storetest"
)

// TestEveryNameCheckSpendsOneBudgetPerUser: binding, adding a family
// member and naming a person inline to query or enrol draw on the same
// budget; once it is spent even the right name is refused, so the answer
// confirms nothing, while requests that check no name go on working.
func TestEveryNameCheckSpendsOneBudgetPerUser(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) {
		o.IdentityChecksPerUser, o.IdentityChecksPerAddress = 6, 1000
	}})
	ctx := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	sess := env.LoginVerified(t, "guesser", me.Name, me.IDNumber) // check 1
	wrong := people.PersonRef{Name: "李秀芳", IDNumber: mom.IDNumber}
	guesses := []func() error{
		func() error { _, err := env.Svc.QueryPayables(ctx, sess.UserID, wrong); return err },
		func() error {
			_, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: wrong, Scheme: models.SchemeResidentPension, RegionCode: "150100"})
			return err
		},
		func() error {
			_, err := env.Svc.AddFamilyMember(ctx, sess.UserID, people.FamilyInput{Name: wrong.Name, IDNumber: wrong.IDNumber, Relation: "parent"})
			return err
		},
	}
	for i := 0; i < 5; i++ { // checks 2–6: answered
		if err := guesses[i%3](); !errors.Is(err, models.ErrIdentityMismatch) {
			t.Fatalf("guess %d within budget: %v, want IDENTITY_MISMATCH", i+2, err)
		}
	}
	for i := 0; i < 6; i++ {
		if err := guesses[i%3](); !errors.Is(err, models.ErrRateLimited) {
			t.Fatalf("guess %d over budget: %v, want RATE_LIMITED", i+7, err)
		}
	}
	right := people.PersonRef{Name: mom.Name, IDNumber: mom.IDNumber}
	if _, err := env.Svc.QueryPayables(ctx, sess.UserID, right); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("the right name over budget: %v, want RATE_LIMITED (else the answer is an oracle)", err)
	}
	if _, err := env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true}); err != nil && errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("a query for oneself checks no name but was limited: %v", err)
	}
	// Malformed input is refused locally and costs no registry call.
	other := env.LoginVerified(t, "careful", mom.Name, mom.IDNumber)
	for i := 0; i < 20; i++ {
		if _, err := env.Svc.QueryPayables(ctx, other.UserID, people.PersonRef{Name: "\u200b", IDNumber: me.IDNumber}); !errors.Is(err, models.ErrNameInvalid) {
			t.Fatalf("invalid name %d: %v", i, err)
		}
	}
	if _, err := env.Svc.AddFamilyMember(ctx, other.UserID, people.FamilyInput{Name: me.Name, IDNumber: me.IDNumber, Relation: "child"}); err != nil {
		t.Fatalf("a user who spent nothing on invalid input: %v", err)
	}
}

// TestManyAccountsBehindOneAddressShareItsBudget: fresh accounts do not buy
// fresh guesses from the same address; another address is unaffected.
func TestManyAccountsBehindOneAddressShareItsBudget(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) {
		o.IdentityChecksPerUser, o.IdentityChecksPerAddress = 3, 7
	}})
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	attacker := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
	answered, limited := 0, 0
	for a := 0; a < 4; a++ {
		sess := env.LoginVerified(t, fmt.Sprintf("sock%d", a), me.Name, me.IDNumber) // binding carries no address here
		for i := 0; i < 3; i++ {
			_, err := env.Svc.QueryPayables(attacker, sess.UserID, people.PersonRef{Name: fmt.Sprintf("李秀%c", '甲'+rune(i)), IDNumber: mom.IDNumber})
			switch {
			case errors.Is(err, models.ErrIdentityMismatch):
				answered++
			case errors.Is(err, models.ErrRateLimited):
				limited++
			default:
				t.Fatalf("account %d guess %d: %v", a, i, err)
			}
		}
	}
	// Each account has 2 checks left after binding, so its third guess is
	// refused by its own budget (4); of the 8 others the address answers 7.
	if answered != 7 || limited != 5 {
		t.Fatalf("%d guesses answered and %d limited from one address, want 7 and 5", answered, limited)
	}
	elsewhere := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
	sess := env.LoginVerified(t, "neighbour", me.Name, me.IDNumber)
	if _, err := env.Svc.AddFamilyMember(elsewhere, sess.UserID, people.FamilyInput{Name: mom.Name, IDNumber: mom.IDNumber, Relation: "parent"}); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// TestLookingUpAPersonByIDNumberSpendsTheBudget: a grant or a guardian's
// consent names someone by ID number alone and says whether that number is
// someone's here (the consent shows their masked name), so each look-up
// spends the same budget as a name check and cannot sweep numbers.
func TestLookingUpAPersonByIDNumberSpendsTheBudget(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.New(t, db, servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) {
		o.IdentityChecksPerUser, o.IdentityChecksPerAddress = 4, 1000
	}})
	ctx := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
	me, kid, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "李秀英")
	sess := env.LoginVerified(t, "sweeper", me.Name, me.IDNumber)                                                                      // check 1
	m, err := env.Svc.AddFamilyMember(ctx, sess.UserID, people.FamilyInput{Name: kid.Name, IDNumber: kid.IDNumber, Relation: "child"}) // 2
	if err != nil || m.Guardianship != people.GuardianRegistry {
		t.Fatalf("the registered father's child: %+v %v", m, err)
	}
	unknown := models.MakeIDNumber("150102", servicetest.Start().AddDate(-40, 0, 0), 1)
	if _, err := env.Svc.GrantRecordsAccess(ctx, sess.UserID, people.GrantInput{GranteeIDNumber: unknown}); !errors.Is(err, models.ErrInvalid) { // 3
		t.Fatalf("a grant to a number nobody holds here: %v", err)
	}
	if _, err := env.Svc.ConsentGuardian(ctx, sess.UserID, m.MemberID, people.GuardianConsentInput{GuardianIDNumber: unknown}); !errors.Is(err, models.ErrInvalid) { // 4
		t.Fatalf("a consent to a number nobody holds here: %v", err)
	}
	// The budget is spent: even a number that is someone's is not answered.
	env.LoginVerified(t, "mom", mom.Name, mom.IDNumber)
	if _, err := env.Svc.ConsentGuardian(ctx, sess.UserID, m.MemberID, people.GuardianConsentInput{GuardianIDNumber: mom.IDNumber}); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("a consent over budget: %v, want RATE_LIMITED", err)
	}
	if _, err := env.Svc.GrantRecordsAccess(ctx, sess.UserID, people.GrantInput{GranteeIDNumber: mom.IDNumber}); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("a grant over budget: %v, want RATE_LIMITED", err)
	}
}
