package people_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestEndingAGrantEndsEveryGrantToThatGrantee: a mother who gives her son
// sight of her records twice holds one grant, and when she ends it he sees
// them no more, even if a second live grant to him exists (two phones at
// the same moment), on every store.
func TestEndingAGrantEndsEveryGrantToThatGrantee(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		ctx := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
		zhang, mother := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
		son := env.LoginVerified(t, "grant-son", zhang.Name, zhang.IDNumber)
		m := servicetest.Family(t, env, son, mother.Name, mother.IDNumber, "parent")
		mom := env.LoginVerified(t, "grant-mother", mother.Name, mother.IDNumber)
		access := func() people.Access {
			t.Helper()
			fam, err := env.Svc.ListFamily(ctx, son.UserID)
			if err != nil || len(fam) != 1 || fam[0].MemberID != m.MemberID {
				t.Fatalf("the son's family: %+v %v", fam, err)
			}
			return fam[0].RecordsAccess
		}

		g1, err := env.Svc.GrantRecordsAccess(ctx, mom.UserID, people.GrantInput{GranteeIDNumber: zhang.IDNumber})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := env.Svc.GrantRecordsAccess(ctx, mom.UserID, people.GrantInput{GranteeIDNumber: zhang.IDNumber})
		if err != nil || g2.GrantID != g1.GrantID {
			t.Fatalf("giving again made another grant: %s then %s (%v)", g1.GrantID, g2.GrantID, err)
		}
		if got := access(); got != people.AccessGrant {
			t.Fatalf("with her grant the son has %q", got)
		}
		// A second live grant as a race of two requests could leave it.
		var first store.GrantRow
		if err := db.Gorm.Where("id = ?", g1.GrantID).Take(&first).Error; err != nil {
			t.Fatal(err)
		}
		twin := first
		twin.ID = kernel.NewID("g")
		if err := db.Gorm.Create(&twin).Error; err != nil {
			t.Fatal(err)
		}
		if err := env.Svc.RevokeGrant(ctx, mom.UserID, g1.GrantID); err != nil {
			t.Fatal(err)
		}
		if got := access(); got != people.AccessPayOnly {
			t.Fatalf("after she ended her grant the son has %q", got)
		}
		if n := servicetest.Count(t, db, "grants", "grantor_person_id = ? AND revoked_at IS NULL", first.GrantorPersonID); n != 0 {
			t.Fatalf("%d grants still live", n)
		}
		if err := env.Svc.RevokeGrant(ctx, mom.UserID, twin.ID); err == nil {
			t.Fatal("the twin ended twice")
		}

		// Another person's grant to him is hers to end, not the mother's.
		wang := servicetest.Person(t, "王建国")
		neighbour := env.LoginVerified(t, "grant-neighbour", wang.Name, wang.IDNumber)
		if _, err := env.Svc.GrantRecordsAccess(ctx, neighbour.UserID, people.GrantInput{GranteeIDNumber: zhang.IDNumber}); err != nil {
			t.Fatal(err)
		}

		// One grant to his account, one to him by ID number: ending the
		// second ends the first too.
		if _, err := env.Svc.GrantRecordsAccess(ctx, mom.UserID, people.GrantInput{GranteeUserID: son.UserID}); err != nil {
			t.Fatal(err)
		}
		byNumber, err := env.Svc.GrantRecordsAccess(ctx, mom.UserID, people.GrantInput{GranteeIDNumber: zhang.IDNumber})
		if err != nil {
			t.Fatal(err)
		}
		if got := access(); got != people.AccessGrant {
			t.Fatalf("with both grants the son has %q", got)
		}
		if err := env.Svc.RevokeGrant(ctx, mom.UserID, byNumber.GrantID); err != nil {
			t.Fatal(err)
		}
		if got := access(); got != people.AccessPayOnly {
			t.Fatalf("after she ended the grant by his number the son has %q (his account's grant lived on)", got)
		}
		if n := servicetest.Count(t, db, "grants", "grantor_person_id <> ? AND revoked_at IS NULL", first.GrantorPersonID); n != 1 {
			t.Fatalf("the mother's revoke left %d of the neighbour's grants live, want 1", n)
		}
	})
}

// TestAGranteeIsAPersonWhoVerified: a grant names someone who has bound
// their ID number to an account of their own (the contract's "must have
// verified"). Being added as someone's family member makes a person row
// too, and that is not enough.
func TestAGranteeIsAPersonWhoVerified(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	ctx := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
	zhang, mother := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	son := env.LoginVerified(t, "grant-son", zhang.Name, zhang.IDNumber)
	servicetest.Family(t, env, son, mother.Name, mother.IDNumber, "parent") // her person row, made by him
	if _, err := env.Svc.GrantRecordsAccess(ctx, son.UserID, people.GrantInput{GranteeIDNumber: mother.IDNumber}); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("a grant to someone who never verified: %v", err)
	}
	// By account: a login that never verified is nobody yet, and his own
	// second account is himself.
	login, err := env.Svc.LoginSandbox(ctx, "grant-mother")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.GrantRecordsAccess(ctx, son.UserID, people.GrantInput{GranteeUserID: login.User.UserID}); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("a grant to an account that never verified: %v", err)
	}
	twin := env.LoginVerified(t, "grant-son-2", zhang.Name, zhang.IDNumber)
	if _, err := env.Svc.GrantRecordsAccess(ctx, son.UserID, people.GrantInput{GranteeUserID: twin.UserID}); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("a grant to his own second account: %v", err)
	}
	if n := servicetest.Count(t, db, "grants", "1 = 1"); n != 0 {
		t.Fatalf("%d grants made by refused requests", n)
	}
	her := env.LoginVerified(t, "grant-mother", mother.Name, mother.IDNumber)
	if _, err := env.Svc.GrantRecordsAccess(ctx, son.UserID, people.GrantInput{GranteeIDNumber: mother.IDNumber}); err != nil {
		t.Fatalf("a grant to her once she verified: %v", err)
	}
	if _, err := env.Svc.GrantRecordsAccess(ctx, son.UserID, people.GrantInput{GranteeUserID: her.UserID}); err != nil {
		t.Fatalf("a grant to her account once she verified: %v", err)
	}
}
