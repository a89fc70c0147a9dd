package refunds_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func TestAClaimedChildLinkIsPayOnlyAndTheHouseholdRegistryMakesAGuardian(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, kid, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "赵海峰")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		stranger := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)

		claimed := servicetest.Family(t, env, stranger, kid.Name, kid.IDNumber, people.RelationChild)
		if claimed.RecordsAccess != people.AccessPayOnly || claimed.Guardianship != people.GuardianUnproven ||
			!strings.Contains(claimed.RecordsAccessNote, "仅可代缴") {
			t.Fatalf("a claimed child: %+v", claimed)
		}
		if _, err := env.Svc.ListRecords(ctx, stranger.UserID, contrib.RecordFilter{Person: people.PersonRef{MemberID: claimed.MemberID}}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("a claimed child's records: %v", err)
		}
		proven := servicetest.Family(t, env, parent, kid.Name, kid.IDNumber, people.RelationChild)
		if proven.RecordsAccess != people.AccessGuardian || proven.Guardianship != people.GuardianRegistry {
			t.Fatalf("the registered father: %+v", proven)
		}
		if _, err := env.Svc.ListRecords(ctx, parent.UserID, contrib.RecordFilter{Person: people.PersonRef{MemberID: proven.MemberID}}); err != nil {
			t.Fatalf("the father's view: %v", err)
		}
		// The father's proof is his, not the stranger's.
		fam, err := env.Svc.ListFamily(ctx, stranger.UserID)
		if err != nil || fam[0].RecordsAccess != people.AccessPayOnly {
			t.Fatalf("the stranger's link after the father's: %+v %v", fam, err)
		}
		// A new sandbox person has no household relations at all.
		newKid := models.MakeIDNumber("150102", servicetest.Start().AddDate(-5, 0, 0), 77)
		m := servicetest.Family(t, env, parent, "张新新", newKid, people.RelationChild)
		if m.RecordsAccess != people.AccessPayOnly || m.Guardianship != people.GuardianUnproven {
			t.Fatalf("a child the registry does not know: %+v", m)
		}
		// An unproven guardian cannot consent for the child.
		if _, err := env.Svc.ConsentGuardian(ctx, stranger.UserID, claimed.MemberID, people.GuardianConsentInput{GuardianIDNumber: zhao.IDNumber}); !errors.Is(err, models.ErrGuardianshipNotProven) {
			t.Fatalf("consent by a claimed guardian: %v", err)
		}
	})
}

func TestAProvenGuardianConsentsToAnotherAndCanEndIt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, kid, li := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "李秀英")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		grandma := env.LoginVerified(t, "li", li.Name, li.IDNumber)
		pm := servicetest.Family(t, env, parent, kid.Name, kid.IDNumber, people.RelationChild)
		gm := servicetest.Family(t, env, grandma, kid.Name, kid.IDNumber, people.RelationOther)
		if gm.RecordsAccess != people.AccessPayOnly {
			t.Fatalf("before consent: %+v", gm)
		}
		g, err := env.Svc.ConsentGuardian(ctx, parent.UserID, pm.MemberID, people.GuardianConsentInput{GuardianIDNumber: li.IDNumber})
		if err != nil || g.Source != people.GuardianConsent || !g.ConsentedByMe {
			t.Fatalf("consent: %+v %v", g, err)
		}
		fam, err := env.Svc.ListFamily(ctx, grandma.UserID)
		if err != nil || fam[0].RecordsAccess != people.AccessGuardian || fam[0].Guardianship != people.GuardianConsent {
			t.Fatalf("after consent: %+v %v", fam, err)
		}
		// The consented guardian may not pass it on.
		if _, err := env.Svc.ConsentGuardian(ctx, grandma.UserID, gm.MemberID, people.GuardianConsentInput{GuardianIDNumber: zhang.IDNumber}); !errors.Is(err, models.ErrGuardianshipNotProven) {
			t.Fatalf("consent by a consented guardian: %v", err)
		}
		// Another user's member id is not found.
		if _, err := env.Svc.ListGuardians(ctx, grandma.UserID, pm.MemberID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another user's member: %v", err)
		}
		gs, err := env.Svc.ListGuardians(ctx, parent.UserID, pm.MemberID)
		if err != nil || len(gs) != 2 {
			t.Fatalf("guardians %+v %v", gs, err)
		}
		registry := gs[0]
		if registry.Source != people.GuardianRegistry {
			registry = gs[1]
		}
		if err := env.Svc.RevokeGuardian(ctx, parent.UserID, pm.MemberID, registry.GuardianID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoking the registry's own guardianship: %v", err)
		}
		if err := env.Svc.RevokeGuardian(ctx, parent.UserID, pm.MemberID, g.GuardianID); err != nil {
			t.Fatal(err)
		}
		fam, _ = env.Svc.ListFamily(ctx, grandma.UserID)
		if fam[0].RecordsAccess != people.AccessPayOnly {
			t.Fatalf("after revocation: %+v", fam)
		}
	})
}

// The trial run's scenario: a stranger who knows the child's name and ID
// number gets a pay-only link, cannot read the records and cannot refund
// the parent's payment.
func TestAStrangerWithTheChildsNameCannotReadOrRefundTheParentsPayment(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, kid, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "赵海峰")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		pm := servicetest.Family(t, env, parent, kid.Name, kid.IDNumber, people.RelationChild)
		kidRef := people.PersonRef{MemberID: pm.MemberID}
		servicetest.EnrolMedical(t, env, parent, kidRef)
		paid := servicetest.PayAndCreditFor(t, env, parent, kidRef, models.SchemeResidentMedical)

		stranger := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		sm := servicetest.Family(t, env, stranger, kid.Name, kid.IDNumber, people.RelationChild)
		sref := people.PersonRef{MemberID: sm.MemberID}
		if _, err := env.Svc.ListRecords(ctx, stranger.UserID, contrib.RecordFilter{Person: sref}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("records: %v", err)
		}
		in := refunds.RefundInput{Person: sref, Scheme: models.SchemeResidentMedical, OrderNo: paid.OrderNo, RefundFen: paid.AmountFen,
			Reason: models.ReasonOverpaid, BankAccount: &models.BankAccount{BankName: "中国银行", AccountName: kid.Name, AccountNo: "6216610200003333333"}}
		if _, err := env.Svc.CreateRefund(ctx, stranger.UserID, in); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the stranger's refund of the parent's payment: %v", err)
		}
		in.BankAccount = nil
		if _, err := env.Svc.CreateRefund(ctx, stranger.UserID, in); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the stranger's refund by the original route: %v", err)
		}
		// The enrolment's receipt and the parent's declarations stay the
		// parent's.
		ens, err := env.Svc.ListEnrolments(ctx, stranger.UserID, sref)
		if err != nil || len(ens) != 1 || ens[0].ReceiptNo != "" || ens[0].RegisteredAt != nil || !ens[0].RestrictedView {
			t.Fatalf("enrolments a pay-only link sees: %+v %v", ens, err)
		}
		if _, err := env.Svc.GetDeclaration(ctx, stranger.UserID, paid.DeclarationID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the parent's declaration: %v", err)
		}
		// It may know the year is paid, not how far the money has gone.
		theirs, err := env.Svc.QueryPayables(ctx, stranger.UserID, sref)
		if err != nil || len(theirs) != 1 || theirs[0].Status != contrib.PayablePaid {
			t.Fatalf("payables a pay-only link sees: %+v %v", theirs, err)
		}
		his, err := env.Svc.QueryPayables(ctx, parent.UserID, kidRef)
		if err != nil || his[0].Status == contrib.PayablePaid {
			t.Fatalf("payables the guardian sees: %+v %v", his, err)
		}
		// The parent, a proven guardian, is not locked out.
		r, err := env.Svc.CreateRefund(ctx, parent.UserID, refunds.RefundInput{Person: kidRef, Scheme: models.SchemeResidentMedical,
			OrderNo: paid.OrderNo, RefundFen: paid.AmountFen, Reason: models.ReasonOverpaid})
		if err != nil || r.ApplicantRole != refunds.RoleGuardian {
			t.Fatalf("the parent's application: %+v %v", r, err)
		}
		if _, err := env.Svc.GetRefund(ctx, stranger.UserID, r.RefundNo); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the stranger reads the parent's application: %v", err)
		}
		if _, err := env.Svc.WithdrawRefund(ctx, stranger.UserID, r.RefundNo); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the stranger withdraws the parent's application: %v", err)
		}
	})
}

// A payer-link holder may ask back what they paid; the parent sees the
// application, is told, may withdraw it and then apply themselves; the hall
// lists it first with a warning.
func TestTheParentSeesAndWithdrawsAnApplicationFiledByAPayer(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		h := servicetest.NewHall(t, env)
		zhang, kid, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨"), servicetest.Person(t, "赵海峰")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		pm := servicetest.Family(t, env, parent, kid.Name, kid.IDNumber, people.RelationChild)
		kidRef := people.PersonRef{MemberID: pm.MemberID}
		servicetest.EnrolMedical(t, env, parent, kidRef)

		payer := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		inline := people.PersonRef{Name: kid.Name, IDNumber: kid.IDNumber} // 代缴 by name and ID number
		paid := servicetest.PayAndCreditFor(t, env, payer, inline, models.SchemeResidentMedical)
		// Their own account name is allowed: they paid.
		r, err := env.Svc.CreateRefund(ctx, payer.UserID, refunds.RefundInput{Person: inline, Scheme: models.SchemeResidentMedical,
			OrderNo: paid.OrderNo, RefundFen: paid.AmountFen, Reason: models.ReasonWronglyCollected})
		if err != nil || r.ApplicantRole != refunds.RolePayer {
			t.Fatalf("the payer's application: %+v %v", r, err)
		}
		// The parent sees it and was told.
		list, _, err := env.Svc.ListRefunds(ctx, parent.UserID, kernel.Page{Size: 10})
		if err != nil || len(list) != 1 || list[0].RefundNo != r.RefundNo || *list[0].AppliedByMe || !*list[0].CanWithdraw {
			t.Fatalf("the parent's list: %+v %v", list, err)
		}
		told := false
		for _, m := range messages(t, env, parent) {
			told = told || (m.RefundNo == r.RefundNo && strings.Contains(m.Body, "撤回") && strings.Contains(m.Body, "赵*峰"))
		}
		if !told {
			t.Fatalf("the parent was not told: %+v", messages(t, env, parent))
		}
		// The hall sees it first, with a warning.
		sums, _, err := env.Svc.ListStaffRefunds(ctx, h.Tax, "", kernel.Page{Size: 10})
		if err != nil || len(sums) != 1 || !sums[0].ReviewFirst || sums[0].ApplicantRole != refunds.RolePayer {
			t.Fatalf("the hall's list: %+v %v", sums, err)
		}
		sv, err := env.Svc.GetStaffRefund(ctx, h.Tax, r.RefundNo)
		if err != nil || len(sv.ApplicantWarnings) != 1 || !strings.Contains(sv.ApplicantWarnings[0], "不是参保人本人") {
			t.Fatalf("the hall's warning: %+v %v", sv.ApplicantWarnings, err)
		}
		// The parent's own application is blocked while it is open…
		own := refunds.RefundInput{Person: kidRef, Scheme: models.SchemeResidentMedical, OrderNo: paid.OrderNo, RefundFen: paid.AmountFen,
			Reason: models.ReasonWronglyCollected}
		if _, err := env.Svc.CreateRefund(ctx, parent.UserID, own); !errors.Is(err, models.ErrRefundOpen) {
			t.Fatalf("while the payer's is open: %v", err)
		}
		// …until the parent withdraws it.
		w, err := env.Svc.WithdrawRefund(ctx, parent.UserID, r.RefundNo)
		if err != nil || w.Status != models.RefundWithdrawn || w.ClosedAt == nil {
			t.Fatalf("withdraw: %+v %v", w, err)
		}
		if _, err := env.Svc.WithdrawRefund(ctx, parent.UserID, r.RefundNo); !errors.Is(err, models.ErrRefundState) {
			t.Fatalf("withdrawing twice: %v", err)
		}
		gone := false
		for _, m := range messages(t, env, payer) {
			gone = gone || (m.RefundNo == r.RefundNo && m.Title == "退费申请已撤回")
		}
		if !gone {
			t.Fatal("the payer was not told of the withdrawal")
		}
		mine, err := env.Svc.CreateRefund(ctx, parent.UserID, own)
		if err != nil || mine.ApplicantRole != refunds.RoleGuardian {
			t.Fatalf("the parent's own application after the withdrawal: %+v %v", mine, err)
		}
		// The payer sees the guardian's application on their money and is
		// told, but may not withdraw it.
		pv, err := env.Svc.GetRefund(ctx, payer.UserID, mine.RefundNo)
		if err != nil || *pv.CanWithdraw {
			t.Fatalf("the payer's view of the guardian's application: %+v %v", pv, err)
		}
		if _, err := env.Svc.WithdrawRefund(ctx, payer.UserID, mine.RefundNo); !errors.Is(err, models.ErrRefundWithdraw) {
			t.Fatalf("the payer withdraws the guardian's application: %v", err)
		}
		// The hall lists it after nothing else needing review; withdrawn
		// ones released their months, accepted ones release them too.
		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, mine.RefundNo); err != nil {
			t.Fatal(err)
		}
		stepTold := false
		for _, m := range messages(t, env, payer) {
			stepTold = stepTold || (m.RefundNo == mine.RefundNo && m.Title == "退费申请已受理" && strings.Contains(m.Body, "涉及您缴费"))
		}
		if !stepTold {
			t.Fatalf("the payer was not told of the acceptance: %+v", messages(t, env, payer))
		}
		if _, err := env.Svc.WithdrawRefund(ctx, parent.UserID, mine.RefundNo); err != nil {
			t.Fatalf("the applicant withdraws an accepted application: %v", err)
		}
		var statuses []string
		if err := db.Gorm.Model(&store.RecordRow{}).Where("order_no = ?", paid.OrderNo).Pluck("status", &statuses).Error; err != nil {
			t.Fatal(err)
		}
		for _, st := range statuses {
			if st == contrib.RecordRefunding {
				t.Fatalf("records still held after the withdrawal: %v", statuses)
			}
		}
	})
}

// An application filed before the rule by someone who is neither payer,
// person nor guardian (the trial run's) is the payer's to withdraw, and the
// hall is warned about it.
func TestThePayerWithdrawsAnApplicationFiledBySomeoneElse(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		h := servicetest.NewHall(t, env)
		zhang, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰")
		sess, p := servicetest.PensionPaid(t, env)
		other := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: p.Scheme, OrderNo: p.OrderNo, RefundFen: p.AmountFen})
		// As the trial run left it: filed by another user under the old rule.
		if err := db.Gorm.Model(&store.RefundRow{}).Where("refund_no = ?", r.RefundNo).
			Updates(map[string]any{"applicant_user_id": other.UserID, "applicant_role": ""}).Error; err != nil {
			t.Fatal(err)
		}
		v, err := env.Svc.GetRefund(ctx, sess.UserID, r.RefundNo)
		if err != nil || v.ApplicantRole != refunds.RoleOther || !*v.CanWithdraw || *v.AppliedByMe {
			t.Fatalf("the payer's view: %+v %v", v, err)
		}
		sv, err := env.Svc.GetStaffRefund(ctx, h.Tax, r.RefundNo)
		if err != nil || len(sv.ApplicantWarnings) != 1 || !strings.Contains(sv.ApplicantWarnings[0], "既不是缴费人") {
			t.Fatalf("the hall's warning: %+v %v", sv.ApplicantWarnings, err)
		}
		if _, err := env.Svc.WithdrawRefund(ctx, sess.UserID, r.RefundNo); err != nil {
			t.Fatalf("%s withdraws: %v", zhang.Name, err)
		}
	})
}

// Paying a declaration another payer has an open order for is a clear
// error, not that payer's order and pay_params.
func TestPayingADeclarationAnotherPayerIsPayingIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		son, mom, d := servicetest.SonDeclaresForMother(t, env)
		if _, _, err := env.Svc.CreatePayment(ctx, son, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox}); err != nil {
			t.Fatal(err)
		}
		// The mother herself may see the declaration, not pay through her
		// son's order.
		if _, err := env.Svc.GetDeclaration(ctx, mom.UserID, d.DeclarationID); err != nil {
			t.Fatalf("the person's view of the declaration: %v", err)
		}
		p, _, err := env.Svc.CreatePayment(ctx, mom, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		if !errors.Is(err, models.ErrDeclarationPayingByOther) || p.OrderNo != "" || p.PayParams != nil {
			t.Fatalf("paying the son's open order: %+v %v", p, err)
		}
	})
}

// The hall's list pages through the applications needing review first and
// then the rest, each newest first, without losing or repeating one.
func TestTheHallsListPagesThroughReviewFirstThenTheRest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		h := servicetest.NewHall(t, env)
		sess, p := servicetest.PensionPaid(t, env)
		med := medicalPaid(t, env, sess)
		a := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: p.Scheme, OrderNo: p.OrderNo, RefundFen: 100})
		b := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: med.Scheme, OrderNo: med.OrderNo, RefundFen: 100})
		// a as the trial run left it: filed by someone else.
		other := env.LoginVerified(t, "zhao", servicetest.Person(t, "赵海峰").Name, servicetest.Person(t, "赵海峰").IDNumber)
		if err := db.Gorm.Model(&store.RefundRow{}).Where("refund_no = ?", a.RefundNo).
			Updates(map[string]any{"applicant_user_id": other.UserID, "applicant_role": ""}).Error; err != nil {
			t.Fatal(err)
		}
		var got []string
		page := kernel.Page{Size: 1}
		for i := 0; i < 4; i++ {
			sums, next, err := env.Svc.ListStaffRefunds(ctx, h.Tax, "", page)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sums {
				got = append(got, s.RefundNo)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if strings.Join(got, " ") != a.RefundNo+" "+b.RefundNo {
			t.Fatalf("pages %v, want %s then %s", got, a.RefundNo, b.RefundNo)
		}
	})
}

// A child link made before guardianship had to be proven is proven by the
// registry the first time it is used.
func TestAChildLinkFromBeforeTheRuleIsProvenWhenUsed(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, kid := servicetest.Person(t, "张三明"), servicetest.Person(t, "张小雨")
		parent := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		pm := servicetest.Family(t, env, parent, kid.Name, kid.IDNumber, people.RelationChild)
		if err := db.Gorm.Where("1 = 1").Delete(&store.GuardianshipRow{}).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.ListRecords(ctx, parent.UserID, contrib.RecordFilter{Person: people.PersonRef{MemberID: pm.MemberID}}); err != nil {
			t.Fatalf("the registered father's records view: %v", err)
		}
	})
}

// payMonth declares and pays one month of a flexible pension payable.
func payMonth(t *testing.T, env *servicetest.Env, sess people.Session, who people.PersonRef, month string) contrib.Payment {
	t.Helper()
	ctx := context.Background()
	pbs, err := env.Svc.QueryPayables(ctx, sess.UserID, who)
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pbs[0].PayableID, OptionCode: "grade_60",
		PeriodFrom: month, PeriodTo: month})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(3 * time.Second)
	env.Svc.WorkOnce(ctx)
	return p
}

// A payer sees an application on their money, but not the other payers'
// order numbers in it.
func TestAPayerSeesTheApplicationOnTheirMoneyNotOtherPayersOrders(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		zhang, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰")
		friend := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		theirs := payMonth(t, env, friend, people.PersonRef{Name: zhang.Name, IDNumber: zhang.IDNumber}, "202611")
		mine := payMonth(t, env, j.Sess, servicetest.Self, "202612")
		r := servicetest.Apply(t, env, j.Sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, Periods: []string{"202611", "202612"},
			RefundFen: theirs.AmountFen + mine.AmountFen})
		if r.ApplicantRole != refunds.RolePerson || len(r.Items) != 2 {
			t.Fatalf("the person's application %+v", r)
		}
		v, err := env.Svc.GetRefund(ctx, friend.UserID, r.RefundNo)
		if err != nil || *v.CanWithdraw || *v.AppliedByMe {
			t.Fatalf("the friend's view: %+v %v", v, err)
		}
		for _, it := range v.Items {
			if it.OrderNo == mine.OrderNo || (it.Period == "202611" && it.OrderNo != theirs.OrderNo) {
				t.Fatalf("the friend's items: %+v", v.Items)
			}
		}
		told := false
		for _, m := range messages(t, env, friend) {
			told = told || m.RefundNo == r.RefundNo
		}
		if !told {
			t.Fatal("the friend, who paid November, was not told")
		}
	})
}

// Paging the citizen's list keeps to the caller's applications.
func TestListRefundsPagesOnlyTheCallersApplications(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		sess, p := servicetest.PensionPaid(t, env)
		med := medicalPaid(t, env, sess)
		a := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: p.Scheme, OrderNo: p.OrderNo, RefundFen: 100})
		b := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: med.Scheme, OrderNo: med.OrderNo, RefundFen: 100})
		zhao := servicetest.Person(t, "赵海峰")
		other := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		page := kernel.Page{Size: 1}
		var got []string
		for i := 0; i < 4; i++ {
			items, next, err := env.Svc.ListRefunds(ctx, sess.UserID, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range items {
				got = append(got, r.RefundNo)
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if len(got) != 2 || got[0] == got[1] || (got[0] != a.RefundNo && got[0] != b.RefundNo) {
			t.Fatalf("pages %v", got)
		}
		// Someone else's page token shows them nothing of the owner's.
		items, _, err := env.Svc.ListRefunds(ctx, other.UserID, kernel.Page{Size: 10, After: "TF9"})
		if err != nil || len(items) != 0 {
			t.Fatalf("another user's list: %+v %v", items, err)
		}
	})
}
