package models

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWhichUnitTypeMayRegisterWhichScheme(t *testing.T) {
	tests := []struct {
		unit   UnitType
		scheme Scheme
		want   error
	}{
		{UnitEnterprise, SchemeEnterprisePension, nil},
		{UnitEnterprise, SchemeEnterpriseMedical, nil},
		{UnitEnterprise, SchemeInstitutionPension, ErrSchemeNotForUnitType},
		{UnitEnterprise, SchemeInstitutionMedical, ErrSchemeNotForUnitType},
		{UnitInstitution, SchemeInstitutionPension, nil},
		{UnitInstitution, SchemeInstitutionMedical, nil},
		{UnitInstitution, SchemeEnterprisePension, ErrSchemeNotForUnitType},
		{UnitInstitution, SchemeEnterpriseMedical, ErrSchemeNotForUnitType},
		{UnitEnterprise, SchemeFlexiblePension, ErrSchemeInvalid},
		{UnitInstitution, Scheme("enterprise_pensions"), ErrSchemeInvalid},
		{UnitType("company"), SchemeEnterprisePension, ErrSchemeNotForUnitType},
	}
	for _, tt := range tests {
		err := tt.unit.MayRegister(tt.scheme)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s.MayRegister(%s) = %v, want %v", tt.unit, tt.scheme, err, tt.want)
		}
	}
	err := UnitEnterprise.MayRegister(SchemeInstitutionPension)
	if e, _ := AsError(err); e.Kind != KindUnprocessable || !strings.Contains(e.Reason, "请登记企业职工基本养老保险") {
		t.Fatalf("reason %+v should name the scheme to register instead", e)
	}
}

func TestUnitSchemesAreNotPersonalSchemes(t *testing.T) {
	for _, s := range UnitSchemes {
		if s.Valid() {
			t.Errorf("%s is Valid: individual flows would accept it", s)
		}
		if !s.IsUnit() || !s.Known() || !s.Monthly() || s.Name() == string(s) {
			t.Errorf("%s: IsUnit %v Known %v Monthly %v Name %q", s, s.IsUnit(), s.Known(), s.Monthly(), s.Name())
		}
	}
	for _, s := range Schemes {
		if s.IsUnit() || !s.Known() {
			t.Errorf("%s: IsUnit %v Known %v", s, s.IsUnit(), s.Known())
		}
	}
	if SchemeEnterpriseMedical.Department() != DeptMedicalInsurance || SchemeInstitutionPension.Department() != DeptSocialInsurance {
		t.Fatal("unit schemes are booked by the wrong department")
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]Period{"202601": {2026, time.January}, "2025-12": {2025, time.December}} {
		got, err := ParsePeriod(in)
		if err != nil || got != want || got.String() != want.String() {
			t.Errorf("ParsePeriod(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "2026", "202613", "202600", "20261", "2026-1", "2026/01", "199912", "210101", "２０２６01", "-20261"} {
		if _, err := ParsePeriod(in); !errors.Is(err, ErrPeriodInvalid) {
			t.Errorf("ParsePeriod(%q) error = %v, want ErrPeriodInvalid", in, err)
		}
	}
}

func TestWages(t *testing.T) {
	good := map[string]Fen{"6500": 650000, "6500.5": 650050, "6500.05": 650005, "100000000": MaxMonthlyWageFen}
	for in, want := range good {
		got, err := ParseWage(in)
		if err != nil || got != want {
			t.Errorf("ParseWage(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"-6500":             "缴费工资不能为负数",
		"0":                 "缴费工资应大于0",
		"0.00":              "缴费工资应大于0",
		"6500.005":          "缴费工资应为金额（元），最多两位小数",
		"6,500":             "缴费工资应为金额（元），最多两位小数",
		"":                  "缴费工资应为金额（元），最多两位小数",
		"100000000.01":      "缴费工资不能超过 100,000,000 元",
		"99999999999999999": "缴费工资应为金额（元），最多两位小数",
		"1e5":               "缴费工资应为金额（元），最多两位小数",
	}
	for in, reason := range bad {
		_, err := ParseWage(in)
		if e, ok := AsError(err); !ok || !errors.Is(err, ErrWageInvalid) || e.Reason != reason {
			t.Errorf("ParseWage(%q) error = %v, want WAGE_INVALID: %s", in, err, reason)
		}
	}
}

// testUnitTerms are 2025's base limits with round rates, so the expected
// amounts can be worked out by hand.
func testUnitTerms() UnitTerms {
	r := func(unit, individual int64) UnitSchemeRates {
		return UnitSchemeRates{UnitBP: unit, IndividualBP: individual}
	}
	return UnitTerms{Region: "150100", Period: Period{2025, time.March}, AverageWageFen: 817900, BaseMinFen: 490700, BaseMaxFen: 2453700,
		Rates: UnitRates{EnterprisePension: r(1600, 800), EnterpriseMedical: r(670, 200), InstitutionPension: r(1600, 800), InstitutionMedical: r(650, 200)}}
}

func TestAssessEmployeeClampsTheBaseAndRoundsEachPartOnce(t *testing.T) {
	terms := testUnitTerms()
	tests := []struct {
		name                   string
		scheme                 Scheme
		wage                   Fen
		base, unit, individual Fen
	}{
		{"a wage inside the limits is the base", SchemeEnterprisePension, 650000, 650000, 104000, 52000},
		{"a wage under 60% is raised to the lower limit", SchemeEnterprisePension, 300000, 490700, 78512, 39256},
		{"a wage over 300% is capped at the upper limit", SchemeEnterprisePension, 5000000, 2453700, 392592, 196296},
		{"the wage equal to the lower limit", SchemeEnterprisePension, 490700, 490700, 78512, 39256},
		// 6,543.21 × 6.7% = 438.39507 → 438.40; × 2% = 130.8642 → 130.86
		{"medical parts rounded half up on their own", SchemeEnterpriseMedical, 654321, 654321, 43840, 13086},
		// 5,000.10 × 6.5% = 325.0065 → 325.01; × 2% = 100.002 → 100.00
		{"a half fen rounds up", SchemeInstitutionMedical, 500010, 500010, 32501, 10000},
		{"a wage of one fen clamps to the lower limit", SchemeInstitutionPension, 1, 490700, 78512, 39256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := terms.AssessEmployee(tt.scheme, tt.wage)
			if err != nil {
				t.Fatal(err)
			}
			if a.BaseFen != tt.base || a.UnitFen != tt.unit || a.IndividualFen != tt.individual || a.WageFen != tt.wage || a.TotalFen() != tt.unit+tt.individual {
				t.Fatalf("got %+v, want base %d unit %d individual %d", a, tt.base, tt.unit, tt.individual)
			}
		})
	}
}

func TestAssessEmployeeRefusesBadInput(t *testing.T) {
	terms := testUnitTerms()
	for _, w := range []Fen{0, -1, MaxMonthlyWageFen + 1, Fen(1 << 62)} {
		if _, err := terms.AssessEmployee(SchemeEnterprisePension, w); !errors.Is(err, ErrWageInvalid) {
			t.Errorf("wage %d: error %v, want ErrWageInvalid", w, err)
		}
	}
	if _, err := terms.AssessEmployee(SchemeFlexiblePension, 650000); !errors.Is(err, ErrSchemeInvalid) {
		t.Errorf("a personal scheme: error %v, want ErrSchemeInvalid", err)
	}
}

func TestAssessSchemeSumsTheRoundedParts(t *testing.T) {
	terms := testUnitTerms()
	wages := []Fen{654321, 654321, 654321, 300000}
	got, err := terms.AssessScheme(SchemeEnterpriseMedical, wages)
	if err != nil {
		t.Fatal(err)
	}
	// Three employees at 438.40 + 130.86 and one at the lower limit
	// (4,907 × 6.7% = 328.769 → 328.77; × 2% = 98.14). Rounding the
	// total once instead would give 3 × 438.39507 + 328.769 = 1,643.95:
	// the sum of rounded parts is 1,643.97.
	want := SchemeAssessment{Scheme: SchemeEnterpriseMedical, Headcount: 4,
		BaseFen: 3*654321 + 490700, UnitFen: 3*43840 + 32877, IndividualFen: 3*13086 + 9814}
	want.TotalFen = want.UnitFen + want.IndividualFen
	if got.Scheme != want.Scheme || got.Headcount != want.Headcount || got.BaseFen != want.BaseFen ||
		got.UnitFen != want.UnitFen || got.IndividualFen != want.IndividualFen || got.TotalFen != want.TotalFen || len(got.Employees) != 4 {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	var sum Fen
	for _, e := range got.Employees {
		sum += e.TotalFen()
	}
	if sum != got.TotalFen {
		t.Fatalf("lines add up to %d, total %d", sum, got.TotalFen)
	}

	empty, err := terms.AssessScheme(SchemeEnterprisePension, nil)
	if err != nil || empty.Headcount != 0 || empty.TotalFen != 0 || empty.Employees == nil {
		t.Fatalf("no employees: %+v, %v", empty, err)
	}

	_, err = terms.AssessScheme(SchemeEnterprisePension, []Fen{650000, -5})
	if e, _ := AsError(err); !errors.Is(err, ErrWageInvalid) || e.Reason != "第2人：缴费工资不能为负数" {
		t.Fatalf("a bad second wage: %v", err)
	}
	if _, err := terms.AssessScheme(SchemeResidentMedical, []Fen{650000}); !errors.Is(err, ErrSchemeInvalid) {
		t.Fatalf("a personal scheme: %v", err)
	}
}

func TestTheBiggestUnitCannotOverflow(t *testing.T) {
	terms := testUnitTerms()
	// Every employee at the maximum wage clamps to the upper limit, so a
	// total grows by at most BaseMaxFen per employee and scheme.
	wages := make([]Fen, 100000)
	for i := range wages {
		wages[i] = MaxMonthlyWageFen
	}
	got, err := terms.AssessScheme(SchemeEnterprisePension, wages)
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseFen != 100000*2453700 || got.TotalFen != 100000*(392592+196296) {
		t.Fatalf("got base %d total %d", got.BaseFen, got.TotalFen)
	}
}

func TestUnitTermsFromTheBook(t *testing.T) {
	book, err := NewPolicyBook("v", 55, testRegions, testYears(2024, 2026))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := book.UnitTerms("150100", Period{2025, time.January}); !errors.Is(err, ErrPolicyUnavailable) {
		t.Fatalf("a book without unit rates: %v, want ErrPolicyUnavailable", err)
	}
	first, last := book.Years()
	rates := func(unitBP int64) map[string]UnitRates {
		s := UnitSchemeRates{UnitBP: unitBP, IndividualBP: 800, Source: PolicySource{SourceRef: SourceRef{Tag: SourceGeneral, Title: "测试"}, Note: "测试费率"}}
		m := map[string]UnitRates{}
		for _, r := range book.Regions() {
			m[r.Code] = UnitRates{EnterprisePension: s, EnterpriseMedical: s, InstitutionPension: s, InstitutionMedical: s}
		}
		return m
	}
	withRates, err := book.WithUnitRates([]UnitRatesFrom{{FromYear: first, Regions: rates(1600)}, {FromYear: last, Regions: rates(1500)}})
	if err != nil {
		t.Fatal(err)
	}
	region := book.Regions()[0].Code
	for year, want := range map[int]int64{first: 1600, last: 1500} {
		terms, err := withRates.UnitTerms(region, Period{year, time.June})
		if err != nil {
			t.Fatal(err)
		}
		y, _ := book.Year(region, year)
		if terms.Rates.EnterprisePension.UnitBP != want || terms.BaseMinFen != y.FlexiblePension.BaseMinFen || terms.BaseMaxFen != y.FlexiblePension.BaseMaxFen {
			t.Errorf("%d: terms %+v", year, terms)
		}
	}
	if _, err := withRates.UnitTerms("159900", Period{first, time.June}); !errors.Is(err, ErrRegionInvalid) {
		t.Errorf("an unknown region: %v", err)
	}
	if _, err := withRates.UnitTerms(region, Period{last + 1, time.June}); !errors.Is(err, ErrPolicyUnavailable) {
		t.Errorf("a year after the book: %v", err)
	}

	bad := rates(1600)
	delete(bad, region)
	for name, entries := range map[string][]UnitRatesFrom{
		"no entries":       nil,
		"starting late":    {{FromYear: first + 1, Regions: rates(1600)}},
		"not ascending":    {{FromYear: first, Regions: rates(1600)}, {FromYear: first, Regions: rates(1600)}},
		"a region missing": {{FromYear: first, Regions: bad}},
		"a rate over 100%": {{FromYear: first, Regions: rates(9500)}},
		"a rate of zero":   {{FromYear: first, Regions: rates(0)}},
	} {
		if _, err := book.WithUnitRates(entries); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfirmBinder(t *testing.T) {
	rec := UnitRecord{USCC: "91150100MA0LB00013", Name: "内蒙古联办示范（集团）科技有限公司", Type: UnitEnterprise, Region: "150100",
		LegalRepName: "张三明", LegalRepIDNumber: "11010519491231002X"}
	ok := []struct{ unit, name, id string }{
		{"内蒙古联办示范（集团）科技有限公司", "张三明", "11010519491231002X"},
		{" 内蒙古联办示范(集团)科技有限公司 ", "张三明", "11010519491231002x"},
	}
	for _, c := range ok {
		if err := rec.ConfirmBinder(c.unit, c.name, c.id); err != nil {
			t.Errorf("ConfirmBinder(%q, %q, %q): %v", c.unit, c.name, c.id, err)
		}
	}
	bad := []struct{ unit, name, id, reason string }{
		{"内蒙古联办示范科技有限公司", "张三明", "11010519491231002X", "单位名称与登记信息不一致，请按营业执照或登记证书填写"},
		{"内蒙古联办示范（集团）科技有限公司", "李秀英", "11010519491231002X", "您不是该单位登记的法定代表人（负责人），请由法定代表人绑定"},
		{"内蒙古联办示范（集团）科技有限公司", "张三明", "150102199003071237", "您不是该单位登记的法定代表人（负责人），请由法定代表人绑定"},
	}
	for _, c := range bad {
		err := rec.ConfirmBinder(c.unit, c.name, c.id)
		if e, _ := AsError(err); !errors.Is(err, ErrUnitMismatch) || e.Reason != c.reason || e.Kind != KindUnprocessable {
			t.Errorf("ConfirmBinder(%q, %q, %q) = %v, want UNIT_MISMATCH: %s", c.unit, c.name, c.id, err, c.reason)
		}
	}
}

func TestSuggestedUnitType(t *testing.T) {
	for code, want := range map[string]UnitType{
		"91150100MA0LB00013": UnitEnterprise, "12150000MB1LB0002E": UnitInstitution,
		MakeUSCC("11150000MB1LB0003"): UnitInstitution, MakeUSCC("52150100MJ0000001"): UnitEnterprise,
	} {
		u, err := ParseUSCC(code)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.SuggestedUnitType(); got != want {
			t.Errorf("%s: %s, want %s", code, got, want)
		}
	}
}
