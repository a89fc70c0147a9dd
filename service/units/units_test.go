package units_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/service/units/roster"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

const demoEnterprise = "91150100MA0LB00013"

func isCode(err error, code string) bool {
	e, ok := models.AsError(err)
	return ok && e.Code == code
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if !isCode(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// unitEnv is a demo enterprise bound by 张三明 with both schemes
// registered in 呼和浩特.
type unitEnv struct {
	env  *servicetest.Env
	rep  people.Session
	unit units.UnitView
	ctx  context.Context
}

func newUnitEnv(t *testing.T, db *store.DB) *unitEnv {
	env := servicetest.New(t, db, servicetest.Config{})
	ctx := context.Background()
	me := servicetest.Person(t, "张三明")
	rep := env.LoginVerified(t, "rep", me.Name, me.IDNumber)
	u, err := env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []models.Scheme{models.SchemeEnterprisePension, models.SchemeEnterpriseMedical} {
		if _, err := env.Svc.RegisterUnitScheme(ctx, rep.UserID, u.UnitID, units.RegistrationInput{Scheme: sc, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
	}
	return &unitEnv{env: env, rep: rep, unit: u, ctx: ctx}
}

// employee returns a new person's roster input (a valid ID number no demo
// person has).
func employee(i int, wage int64, from string) roster.Input {
	id := models.MakeIDNumber("150102", time.Date(1980+i%20, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), 500+i%400)
	return roster.Input{Name: fmt.Sprintf("职工%c%c", rune(0x4e00+i/100), rune(0x4e00+i%100)), IDNumber: id, WageFen: wage, FromPeriod: from}
}

func TestBindUnit(t *testing.T) {
	env := servicetest.New(t, storetest.Targets()[0].Open(t), servicetest.Config{})
	ctx := context.Background()
	me, mom := servicetest.Person(t, "张三明"), servicetest.Person(t, "李秀英")
	rep := env.LoginVerified(t, "rep", me.Name, me.IDNumber)
	other := env.LoginVerified(t, "other", mom.Name, mom.IDNumber)

	_, err := env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: "91150100MA0LB00014", Name: "x"})
	mustCode(t, err, "USCC_INVALID")
	_, err = env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: demoEnterprise, Name: "别的公司"})
	mustCode(t, err, "UNIT_MISMATCH")
	_, err = env.Svc.BindUnit(ctx, other.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"})
	mustCode(t, err, "UNIT_MISMATCH")
	_, err = env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: sandbox.USCCUnitRegistryDown, Name: "x"})
	mustCode(t, err, "CHANNEL_UNAVAILABLE")

	u, err := env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"})
	if err != nil || u.Role != store.UnitRoleLegalRep || u.UnitType != "enterprise" || u.RegionCode != "150100" {
		t.Fatalf("bind: %+v %v", u, err)
	}
	again, err := env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"})
	if err != nil || again.UnitID != u.UnitID {
		t.Fatalf("binding again: %+v %v, want the same unit", again, err)
	}
	// A new valid code (sandbox) is a unit of the type its class
	// suggests, with the binder as legal representative; nobody else can
	// take it afterwards.
	code := models.MakeUSCC("12150200MB1LB1234")
	nu, err := env.Svc.BindUnit(ctx, other.UserID, units.BindInput{USCC: code, Name: "包头某事业单位"})
	if err != nil || nu.UnitType != "institution" || nu.RegionCode != "150200" {
		t.Fatalf("new unit: %+v %v", nu, err)
	}
	_, err = env.Svc.BindUnit(ctx, rep.UserID, units.BindInput{USCC: code, Name: "包头某事业单位"})
	mustCode(t, err, "UNIT_MISMATCH")

	list, err := env.Svc.ListUnits(ctx, rep.UserID)
	if err != nil || len(list) != 1 || list[0].UnitID != u.UnitID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if n := servicetest.Count(t, env.DB, "unit_members", "unit_id = ?", u.UnitID); n != 1 {
		t.Fatalf("%d members after binding twice, want 1", n)
	}
}

func TestOperators(t *testing.T) {
	ue := newUnitEnv(t, storetest.Targets()[0].Open(t))
	env, ctx := ue.env, ue.ctx
	mom, old := servicetest.Person(t, "李秀英"), servicetest.Person(t, "王建国")
	op := env.LoginVerified(t, "op", mom.Name, mom.IDNumber)
	stranger := env.LoginVerified(t, "stranger", old.Name, old.IDNumber)

	_, err := env.Svc.AddUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, units.OperatorInput{Name: "李秀芳", IDNumber: mom.IDNumber})
	mustCode(t, err, "UNIT_OPERATOR_UNKNOWN")
	liu := servicetest.Person(t, "刘建华") // never logged in: no verified user
	_, err = env.Svc.AddUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, units.OperatorInput{Name: liu.Name, IDNumber: liu.IDNumber})
	mustCode(t, err, "UNIT_OPERATOR_UNKNOWN")
	o, err := env.Svc.AddUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, units.OperatorInput{Name: mom.Name, IDNumber: mom.IDNumber})
	if err != nil || o.Role != store.UnitRoleOperator || o.NameMasked == mom.Name {
		t.Fatalf("add operator: %+v %v", o, err)
	}
	_, err = env.Svc.AddUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, units.OperatorInput{Name: mom.Name, IDNumber: mom.IDNumber})
	mustCode(t, err, "UNIT_OPERATOR_EXISTS")

	// The operator acts for the unit but does not manage operators; a
	// stranger is told the unit does not exist.
	if _, err := env.Svc.ListUnitRegistrations(ctx, op.UserID, ue.unit.UnitID); err != nil {
		t.Fatalf("operator reading registrations: %v", err)
	}
	_, err = env.Svc.ListUnitOperators(ctx, op.UserID, ue.unit.UnitID)
	mustCode(t, err, "FORBIDDEN")
	_, err = env.Svc.ListUnitOperators(ctx, stranger.UserID, ue.unit.UnitID)
	mustCode(t, err, "NOT_FOUND")

	ops, err := env.Svc.ListUnitOperators(ctx, ue.rep.UserID, ue.unit.UnitID)
	if err != nil || len(ops) != 2 || ops[0].Role != store.UnitRoleLegalRep {
		t.Fatalf("operators: %+v %v", ops, err)
	}
	mustCode(t, env.Svc.RemoveUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, ops[0].OperatorID), "UNIT_LEGAL_REP_NOT_REMOVABLE")
	if err := env.Svc.RemoveUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, o.OperatorID); err != nil {
		t.Fatal(err)
	}
	_, err = env.Svc.ListUnitRegistrations(ctx, op.UserID, ue.unit.UnitID)
	mustCode(t, err, "NOT_FOUND")
	// Authorised again after removal: history stays, a new row acts.
	if _, err := env.Svc.AddUnitOperator(ctx, ue.rep.UserID, ue.unit.UnitID, units.OperatorInput{Name: mom.Name, IDNumber: mom.IDNumber}); err != nil {
		t.Fatalf("re-adding a removed operator: %v", err)
	}
}

func TestRegisterUnitScheme(t *testing.T) {
	ue := newUnitEnv(t, storetest.Targets()[0].Open(t))
	env, ctx := ue.env, ue.ctx
	_, err := env.Svc.RegisterUnitScheme(ctx, ue.rep.UserID, ue.unit.UnitID, units.RegistrationInput{Scheme: models.SchemeInstitutionPension, RegionCode: "150100"})
	mustCode(t, err, "SCHEME_NOT_ALLOWED_FOR_UNIT")
	_, err = env.Svc.RegisterUnitScheme(ctx, ue.rep.UserID, ue.unit.UnitID, units.RegistrationInput{Scheme: models.SchemeEnterprisePension, RegionCode: "150100"})
	mustCode(t, err, "UNIT_SCHEME_REGISTERED")
	_, err = env.Svc.RegisterUnitScheme(ctx, ue.rep.UserID, ue.unit.UnitID, units.RegistrationInput{Scheme: models.SchemeFlexiblePension, RegionCode: "150100"})
	mustCode(t, err, "SCHEME_INVALID")

	me := servicetest.Person(t, "张三明")
	_ = me
	inst, err := env.Svc.BindUnit(ctx, ue.rep.UserID, units.BindInput{USCC: "12150000MB1LB0002E", Name: "内蒙古自治区联办示范服务中心"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Svc.RegisterUnitScheme(ctx, ue.rep.UserID, inst.UnitID, units.RegistrationInput{Scheme: models.SchemeInstitutionPension, RegionCode: "150000"})
	mustCode(t, err, "REGION_INVALID")
	r, err := env.Svc.RegisterUnitScheme(ctx, ue.rep.UserID, inst.UnitID, units.RegistrationInput{Scheme: models.SchemeInstitutionPension, RegionCode: "150100"})
	if err != nil || r.ReceiptNo == "" || r.Scheme != "institution_pension" {
		t.Fatalf("register: %+v %v", r, err)
	}
	regs, err := env.Svc.ListUnitRegistrations(ctx, ue.rep.UserID, ue.unit.UnitID)
	if err != nil || len(regs) != 2 {
		t.Fatalf("registrations: %+v %v", regs, err)
	}
}

// TestRosterTellsEveryBadRowAtOnceAndTakesNothing: the database checks
// come on top of the field checks, each bad row with its number, and a
// roster with any bad row adds nobody.
func TestRosterTellsEveryBadRowAtOnceAndTakesNothing(t *testing.T) {
	ue := newUnitEnv(t, storetest.Targets()[0].Open(t))
	env, ctx := ue.env, ue.ctx
	me, zhao := servicetest.Person(t, "张三明"), servicetest.Person(t, "赵海峰")
	good := employee(1, 800000, "202611")
	in := []roster.Input{
		good,
		{Name: "张三", IDNumber: me.IDNumber, WageFen: 800000, FromPeriod: "202611"},        // 2: name wrong
		{Name: zhao.Name, IDNumber: zhao.IDNumber, WageFen: 800000, FromPeriod: "202611"}, // 3: insured by another unit
		employee(4, 800000, "202610"), // 4: before registration
		employee(5, 800000, "202701"), // 5: after next month
		employee(6, -1, "202611"),     // 6: negative wage (field check)
		{Name: "王五", IDNumber: "150102199001011235", WageFen: 1, FromPeriod: "202611"}, // 7: bad check digit
	}
	_, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, in)
	var inv *roster.Invalid
	if !errors.As(err, &inv) || !errors.Is(err, models.ErrRosterInvalid) {
		t.Fatalf("got %v, want *roster.Invalid", err)
	}
	// Field checks run first; with field problems the roster stops there.
	rows := map[int]bool{}
	for _, p := range inv.Problems {
		rows[p.Row] = true
	}
	if !rows[6] || !rows[7] {
		t.Fatalf("field problems: %+v", inv.Problems)
	}
	in = in[:5]
	_, err = env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, in)
	if !errors.As(err, &inv) {
		t.Fatalf("got %v, want *roster.Invalid", err)
	}
	want := map[int]string{2: units.CodeNameMismatch, 3: units.CodeInsuredElsewhere, 4: units.CodePeriodBeforeRegist, 5: units.CodePeriodTooLate}
	got := map[int]string{}
	for _, p := range inv.Problems {
		got[p.Row] = p.Code
		if p.Message == "" {
			t.Fatalf("problem without a message: %+v", p)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("problems %v, want %v", got, want)
	}
	if n := servicetest.Count(t, env.DB, "unit_employees", "unit_id = ?", ue.unit.UnitID); n != 0 {
		t.Fatalf("%d spells from a refused roster", n)
	}
	res, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, []roster.Input{good, employee(2, 500000, "202612")})
	if err != nil || res.Added != 2 || res.Spells != 4 {
		t.Fatalf("good roster: %+v %v", res, err)
	}
	// The same people again are this unit's employees already.
	_, err = env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, []roster.Input{good})
	if !errors.As(err, &inv) || inv.Problems[0].Code != units.CodeAlreadyEmployee {
		t.Fatalf("again: %v", err)
	}
	list, next, err := env.Svc.ListEmployees(ctx, ue.rep.UserID, ue.unit.UnitID, kernel.Page{Size: 3})
	if err != nil || len(list) != 3 || next == "" || strings.Contains(list[0].NameMasked, "职工") && len([]rune(list[0].NameMasked)) == len([]rune(good.Name)) && list[0].NameMasked == good.Name {
		t.Fatalf("list: %+v %q %v", list, next, err)
	}
	rest, next2, err := env.Svc.ListEmployees(ctx, ue.rep.UserID, ue.unit.UnitID, kernel.Page{Size: 3, After: next})
	if err != nil || len(rest) != 1 || next2 != "" {
		t.Fatalf("second page: %+v %q %v", rest, next2, err)
	}
	// 减员 ends every open spell of the person in this unit.
	_, err = env.Svc.RemoveEmployee(ctx, ue.rep.UserID, ue.unit.UnitID, list[0].EmployeeID, "202610")
	mustCode(t, err, "PERIOD_INVALID")
	ended, err := env.Svc.RemoveEmployee(ctx, ue.rep.UserID, ue.unit.UnitID, list[0].EmployeeID, "202612")
	if err != nil || len(ended) != 2 || ended[0].ToPeriod != "202612" {
		t.Fatalf("remove: %+v %v", ended, err)
	}
	_, err = env.Svc.RemoveEmployee(ctx, ue.rep.UserID, ue.unit.UnitID, list[0].EmployeeID, "202612")
	mustCode(t, err, "UNIT_EMPLOYEE_ENDED")
}

// TestFlexibleEnrolmentRefusedToAUnitsEmployee: an open spell through a
// unit is the same fund as the flexible worker's scheme.
func TestFlexibleEnrolmentRefusedToAUnitsEmployee(t *testing.T) {
	ue := newUnitEnv(t, storetest.Targets()[0].Open(t))
	env, ctx := ue.env, ue.ctx
	me := servicetest.Person(t, "张三明")
	if _, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, []roster.Input{{Name: me.Name, IDNumber: me.IDNumber, WageFen: 800000, FromPeriod: "202611"}}); err != nil {
		t.Fatal(err)
	}
	_, err := env.Svc.CreateEnrolment(ctx, ue.rep.UserID, contrib.EnrolInput{Person: people.PersonRef{Self: true}, Scheme: models.SchemeFlexiblePension, RegionCode: "150100"})
	if !isCode(err, "NOT_ELIGIBLE") || !strings.Contains(err.Error(), "单位") {
		t.Fatalf("flexible enrolment of a unit's employee: %v", err)
	}
}

func TestPayablesDeclarationAndCorrection(t *testing.T) {
	ue := newUnitEnv(t, storetest.Targets()[0].Open(t))
	env, ctx := ue.env, ue.ctx
	terms, err := env.Deps.Policy.UnitTerms("150100", models.Period{Year: 2026, Month: 11})
	if err != nil {
		t.Fatal(err)
	}
	mid := (int64(terms.BaseMinFen) + int64(terms.BaseMaxFen)) / 2 / 100 * 100
	in := []roster.Input{employee(1, mid, "202611"), employee(2, 1, "202611"), employee(3, roster.MaxWageFen, "202611")}
	if _, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, in); err != nil {
		t.Fatal(err)
	}
	p, err := env.Svc.UnitPayables(ctx, ue.rep.UserID, ue.unit.UnitID, "202611", kernel.Page{Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Schemes) != 2 || len(p.Lines) != 4 || p.NextPageToken == "" || p.Declared != "" {
		t.Fatalf("payables: %+v", p)
	}
	var pension units.SchemeTotal
	for _, s := range p.Schemes {
		if s.Scheme == "enterprise_pension" {
			pension = s
		}
		if s.Headcount != 3 || s.TotalFen != s.UnitFen+s.IndividualFen {
			t.Fatalf("scheme total %+v", s)
		}
	}
	// Bases clamp to [min, max]; enterprise pension is 16% + 8%.
	bases := int64(terms.BaseMinFen) + mid + int64(terms.BaseMaxFen)
	if pension.UnitFen != bases*16/100 || pension.IndividualFen != bases*8/100 {
		t.Fatalf("pension %+v, bases %d", pension, bases)
	}
	rest, err := env.Svc.UnitPayables(ctx, ue.rep.UserID, ue.unit.UnitID, "202611", kernel.Page{Size: 4, After: p.NextPageToken})
	if err != nil || len(rest.Lines) != 2 || rest.NextPageToken != "" {
		t.Fatalf("second page %+v %v", rest, err)
	}
	_, err = env.Svc.UnitPayables(ctx, ue.rep.UserID, ue.unit.UnitID, "2026-13", kernel.Page{Size: 4})
	mustCode(t, err, "PERIOD_INVALID")

	d, err := env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202611"})
	if err != nil || d.Status != units.DeclarationOpen || d.AmountFen != p.TotalFen || d.Headcount != 3 || d.Seq != 0 {
		t.Fatalf("declare: %+v %v (payables total %d)", d, err, p.TotalFen)
	}
	_, err = env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202611"})
	mustCode(t, err, "UNIT_DECLARATION_EXISTS")
	_, err = env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202611", Corrects: d.DeclarationID})
	mustCode(t, err, "UNIT_NOTHING_TO_DECLARE")
	_, err = env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202612"})
	mustCode(t, err, "PERIOD_INVALID")

	// A fourth employee from the declared month: the correction is their
	// lines alone.
	late := employee(4, mid, "202611")
	if _, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, []roster.Input{late}); err != nil {
		t.Fatal(err)
	}
	c, err := env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202611", Corrects: d.DeclarationID})
	if err != nil || c.Seq != 1 || c.Corrects != d.DeclarationID || c.Headcount != 1 || c.UnitFen != mid*16/100+pctMedical(terms, mid) {
		t.Fatalf("correction: %+v %v", c, err)
	}
	got, err := env.Svc.GetUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, d.DeclarationID, kernel.Page{Size: 100})
	if err != nil || len(got.Lines) != 6 || got.AmountFen != d.AmountFen || len(got.Schemes) != 2 {
		t.Fatalf("get: %+v %v", got, err)
	}
	pd, err := env.Svc.UnitPayables(ctx, ue.rep.UserID, ue.unit.UnitID, "202611", kernel.Page{Size: 1})
	if err != nil || pd.Declared != d.DeclarationID {
		t.Fatalf("declared: %+v %v", pd, err)
	}
	// Status moves are conditional: one wins.
	moved, err := units.MoveDeclaration(env.DB.Gorm, d.DeclarationID, units.DeclarationOpen, units.DeclarationPaid, "", env.Clock.Now())
	if err != nil || !moved {
		t.Fatalf("move: %v %v", moved, err)
	}
	moved, err = units.MoveDeclaration(env.DB.Gorm, d.DeclarationID, units.DeclarationOpen, units.DeclarationPaid, "", env.Clock.Now())
	if err != nil || moved {
		t.Fatalf("second move: %v %v", moved, err)
	}
	lines, err := units.DeclarationLines(env.DB.Gorm, d.DeclarationID)
	if err != nil || len(lines) != 6 {
		t.Fatalf("lines %d %v", len(lines), err)
	}
}

// pctMedical is the unit's medical part of a base, from the terms.
func pctMedical(t models.UnitTerms, base int64) int64 {
	a, err := t.AssessEmployee(models.SchemeEnterpriseMedical, models.Fen(base))
	if err != nil {
		panic(err)
	}
	return int64(a.UnitFen)
}

// TestConcurrentDeclarationsOfOneMonth: twenty at once, exactly one
// declaration, the others told it exists, on every database.
func TestConcurrentDeclarationsOfOneMonth(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ue := newUnitEnv(t, db)
		env, ctx := ue.env, ue.ctx
		if _, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, []roster.Input{employee(1, 700000, "202611"), employee(2, 900000, "202611")}); err != nil {
			t.Fatal(err)
		}
		errs := servicetest.Parallel(20, func(int) error {
			_, err := env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202611"})
			return err
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !isCode(err, "UNIT_DECLARATION_EXISTS"):
				t.Fatalf("unexpected: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d declarations created, want 1", ok)
		}
		if n := servicetest.Count(t, db, "unit_declarations", "unit_id = ?", ue.unit.UnitID); n != 1 {
			t.Fatalf("%d declaration rows", n)
		}
		if n := servicetest.Count(t, db, "unit_declaration_lines", "1 = 1"); n != 4 {
			t.Fatalf("%d lines, want 4", n)
		}
	})
}

// TestFiveThousandRowRosterInOneRequest: a CSV of 5,000 employees is one
// call, in reasonable time, on every database, and 预处理数据 reads them
// all.
func TestFiveThousandRowRosterInOneRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("large roster")
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) { fiveThousand(t, db) })
}

func fiveThousand(t *testing.T, db *store.DB) {
	ue := newUnitEnv(t, db)
	env, ctx := ue.env, ue.ctx
	var b strings.Builder
	b.WriteString("姓名,身份证号码,缴费工资,起始年月\n")
	for i := 0; i < 5000; i++ {
		e := bigEmployee(i)
		fmt.Fprintf(&b, "%s,%s,%d.%02d,%s\n", e.Name, e.IDNumber, e.WageFen/100, e.WageFen%100, e.FromPeriod)
	}
	start := time.Now()
	res, err := env.Svc.AddEmployeesFile(ctx, ue.rep.UserID, ue.unit.UnitID, strings.NewReader(b.String()), roster.KindCSV)
	if err != nil || res.Added != 5000 || res.Spells != 10000 {
		t.Fatalf("import: %+v %v", res, err)
	}
	took := time.Since(start)
	if took > 60*time.Second {
		t.Fatalf("5,000 rows took %v", took)
	}
	p, err := env.Svc.UnitPayables(ctx, ue.rep.UserID, ue.unit.UnitID, "202611", kernel.Page{Size: 100})
	if err != nil || p.Schemes[0].Headcount != 5000 || len(p.Lines) != 100 {
		t.Fatalf("payables: %v %+v", err, p.Schemes)
	}
	t.Logf("5,000-row import took %v", took)
}

// bigEmployee is the i-th of 5,000 distinct employees.
func bigEmployee(i int) roster.Input {
	birth := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/900)
	id := models.MakeIDNumber("150102", birth, 100+i%900)
	return roster.Input{Name: fmt.Sprintf("职工%c%c", rune(0x4e00+i/100), rune(0x4e00+i%100)), IDNumber: id, WageFen: 500000 + int64(i), FromPeriod: "202611"}
}

// TestEveryBindAttemptSpendsTheIdentityBudget: binding confirms or denies
// who a unit's legal representative is, so each attempt is a check of a
// name against an ID number and is counted like identity binding.
func TestEveryBindAttemptSpendsTheIdentityBudget(t *testing.T) {
	env := servicetest.New(t, storetest.Targets()[0].Open(t), servicetest.Config{Mutate: func(_ *service.Deps, o *service.Options) {
		o.IdentityChecksPerUser, o.IdentityChecksPerAddress = 4, 1000
	}})
	ctx := kernel.WithClientAddr(context.Background(), servicetest.FreshAddr())
	mom := servicetest.Person(t, "李秀英")
	guesser := env.LoginVerified(t, "guesser", mom.Name, mom.IDNumber) // check 1
	for i := 0; i < 3; i++ {                                           // checks 2–4: answered
		_, err := env.Svc.BindUnit(ctx, guesser.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"})
		mustCode(t, err, "UNIT_MISMATCH")
	}
	_, err := env.Svc.BindUnit(ctx, guesser.UserID, units.BindInput{USCC: demoEnterprise, Name: "内蒙古联办示范科技有限公司"})
	mustCode(t, err, "RATE_LIMITED")
	// A malformed code is refused before any check is spent.
	_, err = env.Svc.BindUnit(ctx, guesser.UserID, units.BindInput{USCC: "123", Name: "x"})
	mustCode(t, err, "USCC_INVALID")
}

// TestANegativeCorrectionIsRefused: after 减员 back-dated to before a
// declared month, the month's assessment owes less than was declared. Such
// a correction cannot be paid and refunds are not drawn from declarations,
// so it is refused (the unit applies for a refund), and nothing is kept
// that a later difference would count as declared.
func TestANegativeCorrectionIsRefused(t *testing.T) {
	ue := newUnitEnv(t, storetest.Targets()[0].Open(t))
	env, ctx := ue.env, ue.ctx
	in := []roster.Input{employee(41, 800000, "202611"), employee(42, 800000, "202611")}
	if _, err := env.Svc.AddEmployeesJSON(ctx, ue.rep.UserID, ue.unit.UnitID, in); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(15 * 24 * time.Hour) // into December, Beijing time
	d, err := env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202612"})
	if err != nil {
		t.Fatal(err)
	}
	staff, _, err := env.Svc.ListEmployees(ctx, ue.rep.UserID, ue.unit.UnitID, kernel.Page{Size: 10})
	if err != nil || len(staff) == 0 {
		t.Fatalf("employees %+v %v", staff, err)
	}
	if _, err := env.Svc.RemoveEmployee(ctx, ue.rep.UserID, ue.unit.UnitID, staff[0].EmployeeID, "202611"); err != nil {
		t.Fatal(err)
	}
	_, err = env.Svc.CreateUnitDeclaration(ctx, ue.rep.UserID, ue.unit.UnitID, units.DeclarationInput{Period: "202612", Corrects: d.DeclarationID})
	mustCode(t, err, "UNIT_CORRECTION_NOT_PAYABLE")
	var n int64
	if err := env.DB.Gorm.Model(&store.UnitDeclarationRow{}).Where("unit_id = ? AND period = ?", ue.unit.UnitID, "202612").Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("declarations of 202612: %d %v", n, err)
	}
}
