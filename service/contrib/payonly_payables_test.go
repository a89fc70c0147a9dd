package contrib_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// Someone who knows a person's name and ID number may pay for them and
// sees the open periods and amounts, not the person's civil-affairs group
// (低保) or how many years they have contributed (延长缴费); the person
// sees both.
func TestAPayOnlyLinkSeesAmountsNotTheAssistedGroupOrContributionYears(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, sun, liu := servicetest.Person(t, "张三明"), servicetest.Person(t, "孙小梅"), servicetest.Person(t, "刘建华")
		payer := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		sunRef := people.PersonRef{Name: sun.Name, IDNumber: sun.IDNumber}
		liuRef := people.PersonRef{Name: liu.Name, IDNumber: liu.IDNumber}
		if _, err := env.Svc.CreateEnrolment(ctx, payer.UserID, contrib.EnrolInput{Person: sunRef, Scheme: models.SchemeResidentMedical, RegionCode: "150200"}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.CreateEnrolment(ctx, payer.UserID, contrib.EnrolInput{Person: liuRef, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		leaks := func(pbs []contrib.Payable) string {
			for _, pb := range pbs {
				text := pb.NotPayableReason + strings.Join(pb.Notices, "|")
				if pb.Assistance != nil && (pb.Assistance.GroupCode != "" || pb.Assistance.GroupLabel != "") ||
					strings.Contains(text, "低保") || strings.Contains(text, "缴费年限") {
					return pb.PayableID + ": " + text
				}
			}
			return ""
		}
		sunItems, err := env.Svc.QueryPayables(ctx, payer.UserID, sunRef)
		if err != nil || len(sunItems) != 1 || sunItems[0].AmountFen == nil || *sunItems[0].AmountFen != 12000 ||
			sunItems[0].Assistance == nil || sunItems[0].Assistance.AssistanceFen != 28000 {
			t.Fatalf("孙小梅's payable for a payer: %+v %v", sunItems, err)
		}
		liuItems, err := env.Svc.QueryPayables(ctx, payer.UserID, liuRef)
		if err != nil || len(liuItems) != 1 || liuItems[0].ExtendedThrough == "" {
			t.Fatalf("刘建华's payable for a payer: %+v %v", liuItems, err)
		}
		if l := leaks(append(sunItems, liuItems...)); l != "" {
			t.Fatalf("a pay-only link sees %s", l)
		}
		// The people themselves see why.
		sunSess := env.LoginVerified(t, "sun", sun.Name, sun.IDNumber)
		own, err := env.Svc.QueryPayables(ctx, sunSess.UserID, servicetest.Self)
		if err != nil || own[0].Assistance == nil || own[0].Assistance.GroupCode != "minimum_living" {
			t.Fatalf("孙小梅's own view: %+v %v", own, err)
		}
		liuSess := env.LoginVerified(t, "liu", liu.Name, liu.IDNumber)
		own, err = env.Svc.QueryPayables(ctx, liuSess.UserID, servicetest.Self)
		if err != nil || !strings.Contains(strings.Join(own[0].Notices, "|"), "缴费年限") {
			t.Fatalf("刘建华's own view: %+v %v", own, err)
		}
	})
}

// Enrolling someone by name and ID number does not tell the caller the
// person's employer or contribution years; the person is told both.
func TestAPayOnlyLinkIsNotToldThePersonsEmployerOrContributionYears(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		zhang, zhao, liu := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰"), servicetest.Person(t, "刘建华")
		payer := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		unit := zhao.UnitInsured["pension"]
		zhaoIn := contrib.EnrolInput{Person: people.PersonRef{Name: zhao.Name, IDNumber: zhao.IDNumber}, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}
		_, err := env.Svc.CreateEnrolment(ctx, payer.UserID, zhaoIn)
		if e, ok := models.AsError(err); !ok || !errors.Is(err, models.ErrNotEligible) || strings.Contains(e.Reason, unit) {
			t.Fatalf("enrolling 赵海峰 as a payer: %v", err)
		}
		liuIn := contrib.EnrolInput{Person: people.PersonRef{Name: liu.Name, IDNumber: liu.IDNumber}, Scheme: models.SchemeFlexibleMedical,
			RegionCode: "150100", MedicalOption: models.MedicalCombined}
		_, err = env.Svc.CreateEnrolment(ctx, payer.UserID, liuIn)
		if e, ok := models.AsError(err); !ok || !errors.Is(err, models.ErrNotEligible) || strings.Contains(e.Reason, "缴费年限") {
			t.Fatalf("enrolling 刘建华 as a payer: %v", err)
		}
		zs := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		zhaoIn.Person = servicetest.Self
		_, err = env.Svc.CreateEnrolment(ctx, zs.UserID, zhaoIn)
		wantReason(t, err, models.ErrNotEligible, unit)
	})
}

// Declaring and paying as a pay-only link: the refusals say that nothing
// is due or the months are past retirement, not the person's assisted
// group or contribution years.
func TestAPayOnlyLinksRefusalsKeepThePersonsFactsOut(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		liu := servicetest.Person(t, "刘建华")
		destitute := models.MakeIDNumber("150203", time.Date(1970, 5, 5, 0, 0, 0, 0, time.UTC), 24)
		records := &switchableRecords{rec: map[string]models.ContributionRecord{liu.IDNumber: *liu.Contribution}}
		env := servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) {
			d.Contributions = records
			d.CivilAffairs = fixedStatuses{destitute: {models.StatusDestitute}}
		}})
		zhang := servicetest.Person(t, "张三明")
		payer := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		gao := people.PersonRef{Name: "高桂兰", IDNumber: destitute}
		if _, err := env.Svc.CreateEnrolment(ctx, payer.UserID, contrib.EnrolInput{Person: gao, Scheme: models.SchemeResidentMedical, RegionCode: "150200"}); err != nil {
			t.Fatal(err)
		}
		items, err := env.Svc.QueryPayables(ctx, payer.UserID, gao)
		if err != nil || len(items) != 1 {
			t.Fatalf("payables %+v %v", items, err)
		}
		own, err := env.Svc.QueryPayables(ctx, env.LoginVerified(t, "gao", "高桂兰", destitute).UserID, servicetest.Self)
		if err != nil || own[0].Assistance == nil || own[0].Assistance.GroupLabel == "" {
			t.Fatalf("高桂兰's own view: %+v %v", own, err)
		}
		label := own[0].Assistance.GroupLabel
		_, err = env.Svc.CreateDeclaration(ctx, payer.UserID, contrib.DeclareInput{PayableID: items[0].PayableID, OptionCode: "standard"})
		wantReason(t, err, models.ErrNotEligible, "无需自行缴费")
		if e, _ := models.AsError(err); strings.Contains(e.Reason, label) {
			t.Fatalf("a payer's refusal names the group: %q", e.Reason)
		}

		liuRef := people.PersonRef{Name: liu.Name, IDNumber: liu.IDNumber}
		if _, err := env.Svc.CreateEnrolment(ctx, payer.UserID, contrib.EnrolInput{Person: liuRef, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		pbs, err := env.Svc.QueryPayables(ctx, payer.UserID, liuRef)
		if err != nil {
			t.Fatal(err)
		}
		d, err := env.Svc.CreateDeclaration(ctx, payer.UserID, contrib.DeclareInput{PayableID: pbs[0].PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		records.set(liu.IDNumber, models.ContributionRecord{Months: 180, AsOf: "202610"})
		_, _, err = env.Svc.CreatePayment(ctx, payer, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		wantReason(t, err, models.ErrNotEligible, "达到法定退休年龄")
		if e, _ := models.AsError(err); strings.Contains(e.Reason, "缴费年限") {
			t.Fatalf("a payer's refusal tells the contribution years: %q", e.Reason)
		}
	})
}

// The person may pay a declaration a pay-only link made; the link then
// sees it paying, not the person's order number.
func TestAPayOnlyLinkDoesNotSeeTheOrderAnotherPaidItsDeclarationWith(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		son, mom, d := servicetest.SonDeclaresForMother(t, env)
		p, _, err := env.Svc.CreatePayment(ctx, mom, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := env.Svc.GetDeclaration(ctx, mom.UserID, d.DeclarationID); err != nil || v.OrderNo != p.OrderNo {
			t.Fatalf("the person's view: %+v %v", v, err)
		}
		v, err := env.Svc.GetDeclaration(ctx, son.UserID, d.DeclarationID)
		if err != nil || v.OrderNo != "" || v.Status != "paying" {
			t.Fatalf("the son's view of the declaration his mother is paying: %+v %v", v, err)
		}
	})
}
