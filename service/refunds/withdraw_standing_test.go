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

// A guardian's application must not lock the owners out once the guardian
// has lost their standing: a revoked consent leaves the parent able to
// withdraw it.
func TestTheParentWithdrawsTheApplicationOfAGuardianWhoseConsentEnded(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, kid, li := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "李秀英")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		grandma := env.LoginVerified(t, "li", li.Name, li.IDNumber)
		pm := servicetest.Family(t, env, parent, kid.Name, kid.IDNumber, people.RelationChild)
		gm := servicetest.Family(t, env, grandma, kid.Name, kid.IDNumber, people.RelationOther)
		kidRef := people.PersonRef{MemberID: pm.MemberID}
		servicetest.EnrolMedical(t, env, parent, kidRef)
		paid := servicetest.PayAndCreditFor(t, env, parent, kidRef, models.SchemeResidentMedical)
		g, err := env.Svc.ConsentGuardian(ctx, parent.UserID, pm.MemberID, people.GuardianConsentInput{GuardianIDNumber: li.IDNumber})
		if err != nil {
			t.Fatal(err)
		}
		r, err := env.Svc.CreateRefund(ctx, grandma.UserID, refunds.RefundInput{Person: people.PersonRef{MemberID: gm.MemberID},
			Scheme: models.SchemeResidentMedical, OrderNo: paid.OrderNo, RefundFen: paid.AmountFen, Reason: models.ReasonOverpaid})
		if err != nil || r.ApplicantRole != refunds.RoleGuardian {
			t.Fatalf("the grandmother's application: %+v %v", r, err)
		}
		// While she is a guardian, her application is hers to withdraw.
		if _, err := env.Svc.WithdrawRefund(ctx, parent.UserID, r.RefundNo); !errors.Is(err, models.ErrRefundWithdraw) {
			t.Fatalf("withdrawing a guardian's application: %v", err)
		}
		if err := env.Svc.RevokeGuardian(ctx, parent.UserID, pm.MemberID, g.GuardianID); err != nil {
			t.Fatal(err)
		}
		v, err := env.Svc.GetRefund(ctx, parent.UserID, r.RefundNo)
		if err != nil || !*v.CanWithdraw {
			t.Fatalf("the parent's view after the consent ended: %+v %v", v, err)
		}
		if w, err := env.Svc.WithdrawRefund(ctx, parent.UserID, r.RefundNo); err != nil || w.Status != models.RefundWithdrawn {
			t.Fatalf("the parent withdraws it: %+v %v", w, err)
		}
	})
}

// A guardian's application filed while the child was 17 does not lock the
// child out once they are 18.
func TestAPersonComeOfAgeWithdrawsTheirFormerGuardiansApplication(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang := servicetest.Person(t, "张三明")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		// 18 on 25 November 2026, five days after the test clock starts.
		kidID := models.MakeIDNumber("150102", time.Date(2008, 11, 25, 0, 0, 0, 0, time.UTC), 88)
		pm := servicetest.Family(t, env, parent, "张成年", kidID, people.RelationChild)
		var fm store.FamilyRow
		if err := db.Gorm.Where("id = ?", pm.MemberID).Take(&fm).Error; err != nil {
			t.Fatal(err)
		}
		var u store.UserRow
		if err := db.Gorm.Where("id = ?", parent.UserID).Take(&u).Error; err != nil {
			t.Fatal(err)
		}
		// The sandbox registry has no household for a new person: record
		// the proof it would have given.
		if err := db.Gorm.Create(&store.GuardianshipRow{ID: "gd-test", MinorPersonID: fm.PersonID, GuardianPersonID: *u.PersonID,
			Source: people.GuardianRegistry, CreatedAt: env.Clock.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		kidRef := people.PersonRef{MemberID: pm.MemberID}
		servicetest.EnrolMedical(t, env, parent, kidRef)
		paid := servicetest.PayAndCreditFor(t, env, parent, kidRef, models.SchemeResidentMedical)
		r, err := env.Svc.CreateRefund(ctx, parent.UserID, refunds.RefundInput{Person: kidRef, Scheme: models.SchemeResidentMedical,
			OrderNo: paid.OrderNo, RefundFen: paid.AmountFen, Reason: models.ReasonOverpaid})
		if err != nil || r.ApplicantRole != refunds.RoleGuardian {
			t.Fatalf("the guardian's application: %+v %v", r, err)
		}
		env.Clock.Advance(6 * 24 * time.Hour)
		adult := env.LoginVerified(t, "kid", "张成年", kidID)
		if w, err := env.Svc.WithdrawRefund(ctx, adult.UserID, r.RefundNo); err != nil || w.Status != models.RefundWithdrawn {
			t.Fatalf("the person, now 18, withdraws it: %+v %v", w, err)
		}
	})
}
