package contrib_test

import (
	"context"
	"errors"
	"strings"
	"sync"
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

// switchableRecords is a 社保 agency whose record a test can change between
// declaration and payment.
type switchableRecords struct {
	mu  sync.Mutex
	rec map[string]models.ContributionRecord
}

func (s *switchableRecords) PensionContribution(ctx context.Context, id string) (models.ContributionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rec[id]
	if !ok {
		return models.ContributionRecord{}, models.ErrNotFound
	}
	return r, nil
}

func (s *switchableRecords) set(id string, r models.ContributionRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec[id] = r
}

func wantReason(t *testing.T, err error, kind error, parts ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	e, _ := models.AsError(err)
	for _, p := range parts {
		if !strings.Contains(e.Reason, p) {
			t.Fatalf("reason %q does not say %q", e.Reason, p)
		}
	}
}

func TestAFlexibleWorkerRetiringInJulyCannotDeclareAugustToDecember(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Enrolled 2026-01-10 in Beijing; a man born 1966-03-20 reaches 60
		// years 4 months on 2026-07-20.
		env := servicetest.New(t, db, servicetest.Config{Start: time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)})
		id := models.MakeIDNumber("150102", time.Date(1966, 3, 20, 0, 0, 0, 0, time.UTC), 11)
		sess := env.LoginVerified(t, "retiring", "周德明", id)
		self := people.PersonRef{Self: true}
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		items, err := env.Svc.QueryPayables(ctx, sess.UserID, self)
		if err != nil || len(items) != 1 {
			t.Fatalf("payables %+v, %v", items, err)
		}
		pb := items[0]
		// In the 2026 collection window (from 10-09) he is past the age: the
		// months up to it may still be paid, none after it.
		env.Clock.Set(time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC))
		if items, err = env.Svc.QueryPayables(ctx, sess.UserID, self); err != nil || len(items) != 1 {
			t.Fatalf("payables %+v, %v", items, err)
		}
		pb = items[0]
		if pb.PeriodFrom != "202601" || pb.PeriodTo != "202607" || pb.RetirementPeriod != "202607" || len(pb.UnpaidPeriods) != 7 || !pb.InWindow {
			t.Fatalf("payable %s–%s retirement %s unpaid %v, want 202601–202607", pb.PeriodFrom, pb.PeriodTo, pb.RetirementPeriod, pb.UnpaidPeriods)
		}
		for _, tc := range []struct{ from, to string }{{"202608", "202612"}, {"202607", "202608"}, {"202601", "202612"}} {
			_, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_60", PeriodFrom: tc.from, PeriodTo: tc.to})
			wantReason(t, err, models.ErrNotEligible, "2026年7月达到法定退休年龄")
		}
		d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		if d.PeriodFrom != "202601" || d.PeriodTo != "202607" || d.AmountFen != 7*98140 {
			t.Fatalf("declaration %s–%s %d fen, want 202601–202607 at 7×981.40", d.PeriodFrom, d.PeriodTo, d.AmountFen)
		}
		// The age test refuses new flexible enrolments and says whether 延长缴费
		// is open (this person has no agency record).
		_, err = env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexibleMedical, RegionCode: "150100", MedicalOption: models.MedicalCombined})
		wantReason(t, err, models.ErrNotEligible, "已达到法定退休年龄（2026年7月）", "没有您的养老保险缴费记录")
	})
}

func TestExtendedContributionAtEnrolmentDeclarationAndPayment(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		liu := servicetest.Person(t, "刘建华")
		records := &switchableRecords{rec: map[string]models.ContributionRecord{liu.IDNumber: *liu.Contribution}}
		env := servicetest.New(t, db, servicetest.Config{Mutate: func(d *service.Deps, _ *service.Options) { d.Contributions = records }})
		sess := env.LoginVerified(t, "liu", liu.Name, liu.IDNumber)
		self := people.PersonRef{Self: true}

		// Medical is not extended; the reason says pension is open to him.
		_, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexibleMedical, RegionCode: "150100", MedicalOption: models.MedicalCombined})
		wantReason(t, err, models.ErrNotEligible, "已达到法定退休年龄（2025年4月）", "累计缴费年限为11年", "延长缴费仅适用于养老保险")
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
			t.Fatalf("延长缴费 enrolment: %v", err)
		}
		items, err := env.Svc.QueryPayables(ctx, sess.UserID, self)
		if err != nil || len(items) != 1 {
			t.Fatalf("payables %+v, %v", items, err)
		}
		pb := items[0]
		if pb.PeriodFrom != "202611" || pb.PeriodTo != "202612" || pb.RetirementPeriod != "202504" || pb.ExtendedThrough != "203010" {
			t.Fatalf("payable %s–%s retirement %s extended %s", pb.PeriodFrom, pb.PeriodTo, pb.RetirementPeriod, pb.ExtendedThrough)
		}
		d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		// Enrolled in November 2026 he can pay from then: 48 months to 2030-10.
		// The agency now records the minimum as met (say, a transfer-in from
		// another province): the age is checked again before money is taken.
		records.set(liu.IDNumber, models.ContributionRecord{Months: 180, AsOf: "202610"})
		_, _, err = env.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		wantReason(t, err, models.ErrNotEligible, "已满最低缴费年限（15年）")

		// 王建国 reached the age in 2018: no extension, and he is told why.
		wang := servicetest.Person(t, "王建国")
		ws := env.LoginVerified(t, "wang", wang.Name, wang.IDNumber)
		_, err = env.Svc.CreateEnrolment(ctx, ws.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexiblePension, RegionCode: "150200"})
		wantReason(t, err, models.ErrNotEligible, "2025年1月1日前")
	})
}

func TestAnAssistedPersonPaysTheRegionsAssistedAmount(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db) // 2026-11-20: the 2027 resident medical window is open
		sun := servicetest.Person(t, "孙小梅")
		sess := env.LoginVerified(t, "sun", sun.Name, sun.IDNumber)
		self := people.PersonRef{Self: true}
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeResidentMedical, RegionCode: "150200"}); err != nil {
			t.Fatal(err)
		}
		items, err := env.Svc.QueryPayables(ctx, sess.UserID, self)
		if err != nil || len(items) != 1 {
			t.Fatalf("payables %+v, %v", items, err)
		}
		pb := items[0]
		a := pb.Assistance
		if pb.Year != 2027 || pb.AmountFen == nil || *pb.AmountFen != 12000 || a == nil || a.StandardFen != 40000 || a.AssistanceFen != 28000 || a.DueFen != 12000 || a.GroupCode != "minimum_living" {
			t.Fatalf("payable %d amount %v assistance %+v, want 包头 低保 120 of 400", pb.Year, pb.AmountFen, a)
		}
		d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "standard"})
		if err != nil || d.AmountFen != 12000 {
			t.Fatalf("declaration %+v, %v: want 12000 fen", d, err)
		}
	})
}

func TestFlexibleMedicalFollowsTheRegionsJulyPolicyYearAndTheAgencysAssessment(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		me := servicetest.Person(t, "张三明")
		sess := env.LoginVerified(t, "zhang", me.Name, me.IDNumber)
		self := people.PersonRef{Self: true}
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexibleMedical, RegionCode: "150200", MedicalOption: models.MedicalCombined}); err != nil {
			t.Fatal(err)
		}
		check := func(year int, from, to string) contrib.Payable {
			t.Helper()
			items, err := env.Svc.QueryPayables(ctx, sess.UserID, self)
			if err != nil || len(items) != 1 {
				t.Fatalf("payables %+v, %v", items, err)
			}
			pb := items[0]
			if pb.Year != year || pb.PeriodFrom != from || pb.PeriodTo != to || pb.AmountBasis != models.MedicalAmountAssessed || pb.AmountFen == nil || *pb.AmountFen != 52346 {
				t.Fatalf("payable %d %s–%s basis %s amount %v", pb.Year, pb.PeriodFrom, pb.PeriodTo, pb.AmountBasis, pb.AmountFen)
			}
			return pb
		}
		check(2026, "202611", "202706")
		// In March 2027 包头 is still in its 2026 policy year.
		env.Clock.Set(time.Date(2027, 3, 10, 2, 0, 0, 0, time.UTC))
		check(2026, "202611", "202706")
		env.Clock.Set(time.Date(2027, 7, 1, 2, 0, 0, 0, time.UTC))
		pb := check(2027, "202707", "202806")
		d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: models.MedicalCombined, PeriodTo: "202707"})
		if err != nil || d.AmountFen != 52346+10000 {
			t.Fatalf("declaration %+v, %v: want one assessed month and the yearly 大额 fee", d, err)
		}
	})
}

func TestAClockPastThePolicyFileGetsProvisionalFigures(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.New(t, db, servicetest.Config{Start: time.Date(2031, 11, 1, 2, 0, 0, 0, time.UTC)})
		me := servicetest.Person(t, "张三明")
		sess := env.LoginVerified(t, "zhang", me.Name, me.IDNumber)
		self := people.PersonRef{Self: true}
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		items, err := env.Svc.QueryPayables(ctx, sess.UserID, self)
		if err != nil || len(items) != 1 {
			t.Fatalf("payables %+v, %v", items, err)
		}
		pb := items[0]
		if pb.Year != 2031 || !pb.Provisional || !pb.InWindow || len(pb.Notices) == 0 || !strings.Contains(pb.Notices[0], "暂按上一年度标准") {
			t.Fatalf("payable %d provisional %v in window %v notices %q", pb.Year, pb.Provisional, pb.InWindow, pb.Notices)
		}
	})
}

// fixedStatuses is a civil affairs register of a few people.
type fixedStatuses map[string][]models.AssistanceStatus

func (f fixedStatuses) AssistanceStatuses(ctx context.Context, id string, at time.Time) ([]models.AssistanceStatus, error) {
	return f[id], nil
}

func TestAFullyAssistedPersonIsNeitherChargedNorReminded(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sun := servicetest.Person(t, "孙小梅")
		destitute := models.MakeIDNumber("150203", time.Date(1970, 5, 5, 0, 0, 0, 0, time.UTC), 24)
		civil := fixedStatuses{sun.IDNumber: {models.StatusMinimumLiving}, destitute: {models.StatusDestitute}}
		// 2026-12-26 10:00 Beijing: the 2027 resident medical window closes
		// within a week.
		env := servicetest.New(t, db, servicetest.Config{Start: time.Date(2026, 12, 26, 2, 0, 0, 0, time.UTC),
			Mutate: func(d *service.Deps, _ *service.Options) { d.CivilAffairs = civil }})
		me := servicetest.Person(t, "张三明")
		sess := env.LoginVerified(t, "zhang", me.Name, me.IDNumber)
		for _, p := range []people.PersonRef{{Name: sun.Name, IDNumber: sun.IDNumber}, {Name: "高桂兰", IDNumber: destitute}} {
			if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: p, Scheme: models.SchemeResidentMedical, RegionCode: "150200"}); err != nil {
				t.Fatal(err)
			}
		}
		items, err := env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Name: "高桂兰", IDNumber: destitute})
		if err != nil || len(items) != 1 {
			t.Fatalf("payables %+v, %v", items, err)
		}
		pb := items[0]
		if pb.AmountFen == nil || *pb.AmountFen != 0 || pb.Assistance == nil || pb.Assistance.AssistanceFen != 40000 || !strings.Contains(pb.NotPayableReason, "全额资助") {
			t.Fatalf("amount %v assistance %+v reason %q", pb.AmountFen, pb.Assistance, pb.NotPayableReason)
		}
		_, err = env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: "standard"})
		wantReason(t, err, models.ErrNotEligible, "无需自行缴费")

		sunItems, err := env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Name: sun.Name, IDNumber: sun.IDNumber})
		if err != nil || len(sunItems) != 1 {
			t.Fatalf("payables %+v, %v", sunItems, err)
		}
		env.Svc.WorkOnce(ctx)
		// The reminders table records each reminder as it is sent (the push
		// itself is asynchronous).
		var reminders []store.ReminderRow
		if err := env.DB.Gorm.Where("kind = ?", string(models.MessagePeriodEnding)).Find(&reminders).Error; err != nil {
			t.Fatal(err)
		}
		if len(reminders) != 1 || reminders[0].PayableID != sunItems[0].PayableID {
			t.Fatalf("reminders %+v, want one for 孙小梅's payable %s (the fully assisted person owes nothing)", reminders, sunItems[0].PayableID)
		}
	})
}

func TestAWallClockTestCanDeclareFlexibleMonthsOnAnyDay(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// 2030-03-01 is outside any flexible pension window a notice sets;
		// a wall-clock test on that day still declares.
		env := servicetest.New(t, db, servicetest.Config{Start: time.Date(2030, 3, 1, 2, 0, 0, 0, time.UTC), WallClock: true})
		me := servicetest.Person(t, "张三明")
		sess := env.LoginVerified(t, "zhang", me.Name, me.IDNumber)
		self := people.PersonRef{Self: true}
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: self, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		items, err := env.Svc.QueryPayables(ctx, sess.UserID, self)
		if err != nil || len(items) != 1 || !items[0].InWindow || !items[0].Provisional {
			t.Fatalf("payables %+v, %v", items, err)
		}
		if _, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: items[0].PayableID, OptionCode: "grade_60", PeriodTo: items[0].PeriodFrom}); err != nil {
			t.Fatal(err)
		}
	})
}
