package models

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// termsBook is a two-region book for 2025–2027 in which 包头 (150200) has
// a July medical policy year, 呼和浩特's medical figures are verified
// (published), and both have assisted groups in 2026.
func termsBook(t *testing.T, femaleAge int) *PolicyBook {
	t.Helper()
	ys := testYears(2025, 2027)
	official := PolicySource{SourceRef: SourceRef{Tag: SourceOfficial, Title: "test notice", URL: "http://example.gov.cn/n"}, Note: "test"}
	for i := range ys {
		if ys[i].Region == "150100" {
			ys[i].FlexibleMedical.Source, ys[i].FlexibleMedical.Verified = official, true
		}
		if ys[i].Year == 2026 {
			ys[i].ResidentMedical.AssistedGroups = []AssistedGroup{
				{Code: "destitute_orphan", Label: "特困人员、孤儿（全额资助）", AmountFen: 0},
				{Code: "minimum_living", Label: "低保对象等", AmountFen: 12000},
			}
			if ys[i].Region == "150100" {
				ys[i].ResidentMedical.AssistedGroups = ys[i].ResidentMedical.AssistedGroups[1:]
			}
		}
	}
	b, err := NewPolicyBook("t", 55, testRegions, ys)
	if err != nil {
		t.Fatal(err)
	}
	rule := func(start int) RegionRules {
		return RegionRules{FemaleFlexibleRetirementAge: femaleAge, FemaleFlexibleRetirementAgeSource: "test",
			FlexibleMedicalYearStartMonth: start, FlexibleMedicalYearStartSource: testSource}
	}
	if b, err = b.WithRegionRules(map[string]RegionRules{"150100": rule(1), "150200": rule(7)}); err != nil {
		t.Fatal(err)
	}
	if b, err = b.WithAssistedStatuses(map[string][]AssistanceStatus{"destitute_orphan": {StatusDestitute, StatusOrphan},
		"minimum_living": {StatusMinimumLiving, StatusPovertyMonitoring, StatusLowIncome}}); err != nil {
		t.Fatal(err)
	}
	return b
}

func idOf(t *testing.T, birth time.Time, seq int) IDNumber {
	t.Helper()
	id, err := ParseIDNumber(MakeIDNumber("150102", birth, seq))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func bj(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 0, 0, 0, Beijing) }

func span(ms []string) string {
	if len(ms) == 0 {
		return "none"
	}
	return ms[0] + "-" + ms[len(ms)-1]
}

func TestFlexibleMonthsEndAtTheMonthOfReachingTheStatutoryAge(t *testing.T) {
	b := termsBook(t, 55)
	tests := []struct {
		name       string
		scheme     Scheme
		birth      time.Time
		male       bool
		registered time.Time
		year       int
		months     string // first-last, or "none"
		retirement string
		endReason  bool
	}{
		// A man born 1966-03-20 reaches 60 years 4 months in July 2026.
		{"enrolled in January, retires in July: January to July, not August", SchemeFlexiblePension, date(1966, 3, 20), true, bj(2026, 1, 5), 2026, "202601-202607", "202607", true},
		{"the same for medical (calendar year)", SchemeFlexibleMedical, date(1966, 3, 20), true, bj(2026, 1, 5), 2026, "202601-202607", "202607", true},
		{"the year after retirement offers nothing", SchemeFlexiblePension, date(1966, 3, 20), true, bj(2026, 1, 5), 2027, "none", "202607", true},
		// Men born 1966-07 reach 60 years 5 months in 2026-12, those born
		// 1966-08 in 2027-01.
		{"retiring in December keeps the whole year", SchemeFlexiblePension, date(1966, 7, 1), true, bj(2026, 1, 5), 2026, "202601-202612", "202612", true},
		{"retiring next January leaves the year untouched", SchemeFlexiblePension, date(1966, 8, 1), true, bj(2026, 1, 5), 2026, "202601-202612", "", false},
		{"enrolled in the month of retirement: that month only", SchemeFlexiblePension, date(1966, 3, 20), true, bj(2026, 7, 2), 2026, "202607-202607", "202607", true},
		// A woman (original age 55) born 1972-02-10 reaches 55y7m in 2027-09.
		{"a woman of original age 55 pays to her month", SchemeFlexiblePension, date(1972, 2, 10), false, bj(2027, 1, 5), 2027, "202701-202709", "202709", true},
		// 包头's medical policy year 2026 runs 2026-07 to 2027-06; a man born
		// 1966-09 reaches 60 years 6 months in 2027-03.
		{"a July policy year ends at retirement too", SchemeFlexibleMedical, date(1966, 9, 3), true, bj(2026, 1, 5), 2026, "202607-202703", "202703", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := 2
			if tt.male {
				seq = 1
			}
			region := "150100"
			if strings.Contains(tt.name, "July") {
				region = "150200"
			}
			terms, err := b.Terms(TermsInput{Scheme: tt.scheme, Region: region, Year: tt.year, Person: idOf(t, tt.birth, seq),
				RegisteredAt: tt.registered, MedicalOption: MedicalCombined, AssessmentKnown: true,
				ContributionKnown: true, Contribution: ContributionRecord{Months: 30 * 12, AsOf: "202512"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := span(terms.Months); got != tt.months {
				t.Errorf("months = %s, want %s", got, tt.months)
			}
			if terms.RetirementPeriod != tt.retirement {
				t.Errorf("retirement = %q, want %q", terms.RetirementPeriod, tt.retirement)
			}
			if (terms.EndReason != "") != tt.endReason || terms.ExtendedThrough != "" {
				t.Errorf("end reason %q, extended %q", terms.EndReason, terms.ExtendedThrough)
			}
		})
	}
}

func TestTheFemaleOriginalAgeIsTheRegionsRule(t *testing.T) {
	id := idOf(t, date(1976, 1, 1), 2)
	in := TermsInput{Scheme: SchemeFlexiblePension, Region: "150100", Year: 2026, Person: id, RegisteredAt: bj(2026, 1, 1)}
	for _, tc := range []struct {
		age    int
		months string
	}{{50, "202601-202608"}, {55, "202601-202612"}} {
		terms, err := termsBook(t, tc.age).Terms(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := span(terms.Months); got != tc.months {
			t.Errorf("original age %d: months %s, want %s", tc.age, got, tc.months)
		}
	}
}

func TestMinimumContributionMonths(t *testing.T) {
	for year, want := range map[int]int{2025: 180, 2029: 180, 2030: 186, 2031: 192, 2035: 216, 2039: 240, 2045: 240} {
		if got := MinimumContributionMonths(year); got != want {
			t.Errorf("%d: %d months, want %d", year, got, want)
		}
	}
}

func TestExtendedContribution(t *testing.T) {
	b := termsBook(t, 55)
	liu := idOf(t, date(1965, 3, 8), 101) // reaches 60y1m in 2025-04
	tests := []struct {
		name     string
		id       IDNumber
		rec      ContributionRecord
		known    bool
		year     int
		months   string
		through  string
		open     bool
		inReason string
	}{
		{"11 years at retirement: eligible, the missing four years from this year's first month", liu, ContributionRecord{Months: 132, AsOf: "202504"}, true, 2026,
			"202601-202612", "202912", true, "不足最低缴费年限15年"},
		{"in the year of retirement the four years count from the record's month", liu, ContributionRecord{Months: 132, AsOf: "202504"}, true, 2025,
			"202501-202512", "202904", true, "不足最低缴费年限15年"},
		{"the extension ends in the year the minimum is met", liu, ContributionRecord{Months: 174, AsOf: "202512"}, true, 2026,
			"202601-202606", "202606", true, "14年6个月"},
		{"minimum reached: nothing after retirement", liu, ContributionRecord{Months: 180, AsOf: "202504"}, true, 2025,
			"202501-202504", "", false, "已满最低缴费年限（15年）"},
		{"retired before 2025: not eligible", idOf(t, date(1964, 6, 1), 1), ContributionRecord{Months: 60, AsOf: "202406"}, true, 2024,
			"202401-202406", "", false, "2025年1月1日前"},
		{"no answer from the agency: no extension months, and it says so", liu, ContributionRecord{}, false, 2025,
			"202501-202504", "", false, "暂时无法查询"},
		{"no contributions at the agency: nothing to extend", liu, ContributionRecord{}, true, 2025,
			"202501-202504", "", false, "没有您的养老保险缴费记录"},
		{"unpaid past years are not counted: the extension counts from this year", liu, ContributionRecord{Months: 170, AsOf: "202504"}, true, 2027,
			"202701-202710", "202710", true, "14年2个月"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retirement := b.FlexibleRetirementMonth("150100", tt.id)
			x := ExtensionFor(retirement, tt.rec, tt.known)
			if x.Open != tt.open || !strings.Contains(x.Reason, tt.inReason) {
				t.Fatalf("ExtensionFor = %+v, want open=%v and a reason with %q", x, tt.open, tt.inReason)
			}
			terms, err := b.Terms(TermsInput{Scheme: SchemeFlexiblePension, Region: "150100", Year: tt.year, Person: tt.id,
				RegisteredAt: bj(2020, 1, 1), Contribution: tt.rec, ContributionKnown: tt.known})
			if err != nil && tt.year >= 2025 {
				t.Fatal(err)
			}
			if err != nil {
				return // the book has no 2024; ExtensionFor above is the test
			}
			if got := span(terms.Months); got != tt.months {
				t.Errorf("months %s, want %s", got, tt.months)
			}
			if terms.ExtendedThrough != tt.through {
				t.Errorf("extended through %q, want %q", terms.ExtendedThrough, tt.through)
			}
			if tt.open != (terms.EndReason == "") {
				t.Errorf("end reason %q with extension open=%v", terms.EndReason, tt.open)
			}
		})
	}
}

func TestExtensionIsPensionOnly(t *testing.T) {
	b := termsBook(t, 55)
	terms, err := b.Terms(TermsInput{Scheme: SchemeFlexibleMedical, Region: "150100", Year: 2025, Person: idOf(t, date(1965, 3, 8), 101),
		RegisteredAt: bj(2020, 1, 1), MedicalOption: MedicalCombined, Contribution: ContributionRecord{Months: 132, AsOf: "202504"}, ContributionKnown: true})
	if err != nil {
		t.Fatal(err)
	}
	if span(terms.Months) != "202501-202504" || !strings.Contains(terms.EndReason, "仅适用于养老保险") {
		t.Fatalf("months %s, reason %q", span(terms.Months), terms.EndReason)
	}
}

func TestAssistedGroupsPayTheNoticesAmount(t *testing.T) {
	b := termsBook(t, 55)
	tests := []struct {
		name     string
		region   string
		statuses []AssistanceStatus
		known    bool
		due      Fen    // the option's amount; -1 when there is no option
		group    string // assisted group, "" for none
		blocked  string // part of the reason nothing can be declared, "" when it can
	}{
		{"no status pays the standard amount", "150200", nil, true, 40000, "", ""},
		{"特困 is fully assisted: 0 and nothing to pay", "150200", []AssistanceStatus{StatusDestitute}, true, 0, "destitute_orphan", "全额资助"},
		{"孤儿 is fully assisted", "150200", []AssistanceStatus{StatusOrphan}, true, 0, "destitute_orphan", "全额资助"},
		{"低保 pays the reduced amount", "150200", []AssistanceStatus{StatusMinimumLiving}, true, 12000, "minimum_living", ""},
		{"返贫监测 is in 低保对象等", "150200", []AssistanceStatus{StatusPovertyMonitoring}, true, 12000, "minimum_living", ""},
		{"低收入 is in 低保对象等", "150200", []AssistanceStatus{StatusLowIncome}, true, 12000, "minimum_living", ""},
		{"in two groups the larger help applies", "150200", []AssistanceStatus{StatusMinimumLiving, StatusDestitute}, true, 0, "destitute_orphan", "全额资助"},
		{"a status the region names no figure for goes to the agency", "150100", []AssistanceStatus{StatusDestitute}, true, -1, "", "未列明资助标准"},
		{"重度残疾 named by no notice goes to the agency", "150200", []AssistanceStatus{StatusSevereDisability}, true, -1, "", "重度残疾人"},
		{"civil affairs not answering: no amount", "150200", nil, false, -1, "", "暂时无法核实"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			terms, err := b.Terms(TermsInput{Scheme: SchemeResidentMedical, Region: tt.region, Year: 2026, Person: idOf(t, date(1988, 12, 8), 222),
				RegisteredAt: bj(2025, 10, 1), Statuses: tt.statuses, StatusesKnown: tt.known})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.due < 0 && len(terms.Options) != 0:
				t.Errorf("options %+v, want none", terms.Options)
			case tt.due >= 0 && (len(terms.Options) != 1 || terms.Options[0].AmountFen != tt.due):
				t.Errorf("options %+v, want one of %d fen", terms.Options, tt.due)
			}
			if tt.group == "" && terms.Assistance != nil || tt.group != "" && (terms.Assistance == nil || terms.Assistance.GroupCode != tt.group) {
				t.Errorf("assistance %+v, want group %q", terms.Assistance, tt.group)
			}
			if a := terms.Assistance; a != nil && (a.StandardFen != 40000 || a.AssistanceFen+a.DueFen != a.StandardFen || a.DueFen != tt.due) {
				t.Errorf("assistance %+v does not add up to the standard 40000", a)
			}
			var e *Error
			switch {
			case tt.blocked == "" && terms.Blocked != nil:
				t.Errorf("blocked: %v", terms.Blocked)
			case tt.blocked != "" && (!errors.As(terms.Blocked, &e) || !strings.Contains(e.Reason, tt.blocked)):
				t.Errorf("blocked = %v, want a reason with %q", terms.Blocked, tt.blocked)
			}
		})
	}
}

func TestJulyPolicyYearAndAssessedMedical(t *testing.T) {
	b := termsBook(t, 55)
	zhang := idOf(t, date(1990, 3, 7), 123)
	assessed := MedicalAssessment{BaseFen: 675100, MonthlyFen: 57384, LargeAmountYearFen: 10000}
	tests := []struct {
		name       string
		region     string
		registered time.Time
		known      bool
		months     string
		window     Window
		basis      string
		monthly    Fen // -1: no option
	}{
		{"包头 (July year) 2026 runs July to June", "150200", bj(2025, 3, 1), true, "202607-202706",
			Window{"2026-07-01", "2027-06-30"}, MedicalAmountAssessed, 57384},
		{"enrolled in November: November to June", "150200", bj(2026, 11, 20), true, "202611-202706",
			Window{"2026-07-01", "2027-06-30"}, MedicalAmountAssessed, 57384},
		{"no assessment yet: nothing to pay, and it says why", "150200", bj(2026, 11, 20), false, "202611-202706",
			Window{"2026-07-01", "2027-06-30"}, MedicalAmountAssessed, -1},
		{"呼和浩特 (calendar year, published figures)", "150100", bj(2026, 11, 20), false, "202611-202612",
			Window{"2025-01-01", "2025-12-31"}, MedicalAmountPublished, 52346},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			terms, err := b.Terms(TermsInput{Scheme: SchemeFlexibleMedical, Region: tt.region, Year: 2026, Person: zhang,
				RegisteredAt: tt.registered, MedicalOption: MedicalCombined, Assessment: assessed, AssessmentKnown: tt.known})
			if err != nil {
				t.Fatal(err)
			}
			if got := span(terms.Months); got != tt.months || terms.Window != tt.window || terms.AmountBasis != tt.basis {
				t.Errorf("months %s window %v basis %s, want %s %v %s", got, terms.Window, terms.AmountBasis, tt.months, tt.window, tt.basis)
			}
			if tt.monthly < 0 {
				if len(terms.Options) != 0 || !errors.Is(terms.Blocked, ErrUnavailable) {
					t.Errorf("options %+v blocked %v, want none and unavailable", terms.Options, terms.Blocked)
				}
				return
			}
			if len(terms.Options) != 1 || terms.Options[0].AmountFen != tt.monthly || terms.Options[0].Code != MedicalCombined || terms.YearlyExtraFen != 10000 {
				t.Errorf("options %+v extra %d, want one combined of %d", terms.Options, terms.YearlyExtraFen, tt.monthly)
			}
		})
	}
}

func TestAProvisionalYearSaysSo(t *testing.T) {
	b := termsBook(t, 55).CarriedForwardTo(2029)
	terms, err := b.Terms(TermsInput{Scheme: SchemeFlexiblePension, Region: "150100", Year: 2029, Person: idOf(t, date(1990, 3, 7), 123), RegisteredAt: bj(2029, 2, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if !terms.Policy.Provisional || !slices.ContainsFunc(terms.Notices, func(n string) bool { return strings.Contains(n, "暂按上一年度标准") }) {
		t.Fatalf("2029 provisional=%v notices %q", terms.Policy.Provisional, terms.Notices)
	}
	// The test years all carry the window 2025-01-01..2025-12-31, so
	// 2027's moved by two years is 2027's dates.
	if w := terms.Window; w != (Window{"2027-01-01", "2027-12-31"}) {
		t.Fatalf("window %v, want the 2027 window moved by two years", w)
	}
	if src := terms.Policy.FlexiblePension.Source; src.Tag != SourceProvisional || src.Title != "暂定：2029年度标准未公布，沿用2027年度" ||
		len(src.Also) == 0 || src.Also[0] != testSource.SourceRef || terms.Policy.FlexiblePension.Verified {
		t.Fatalf("source %+v", src)
	}
	if err := validateSource(terms.Policy.FlexiblePension.Source, false); err != nil {
		t.Fatalf("a carried-over source is not well formed: %v", err)
	}
	if first, last := b.Years(); first != 2025 || last != 2029 {
		t.Fatalf("years %d–%d", first, last)
	}
	if b2 := termsBook(t, 55); b2.CarriedForwardTo(2026) == nil {
		t.Fatal("a covered year must keep the book")
	}
}

func TestRegionRulesAreChecked(t *testing.T) {
	b := termsBook(t, 55)
	good := RegionRules{FemaleFlexibleRetirementAge: 55, FemaleFlexibleRetirementAgeSource: "s",
		FlexibleMedicalYearStartMonth: 1, FlexibleMedicalYearStartSource: testSource}
	bad := map[string]func(*RegionRules){
		"female age 60":     func(r *RegionRules) { r.FemaleFlexibleRetirementAge = 60 },
		"no age source":     func(r *RegionRules) { r.FemaleFlexibleRetirementAgeSource = "" },
		"month 13":          func(r *RegionRules) { r.FlexibleMedicalYearStartMonth = 13 },
		"no medical source": func(r *RegionRules) { r.FlexibleMedicalYearStartSource = PolicySource{} },
	}
	for name, mutate := range bad {
		r := good
		mutate(&r)
		if _, err := b.WithRegionRules(map[string]RegionRules{"150100": r}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := b.WithRegionRules(map[string]RegionRules{"159900": good}); err == nil {
		t.Error("unknown region accepted")
	}
	if _, err := b.WithAssistedStatuses(map[string][]AssistanceStatus{"destitute_orphan": {StatusDestitute}}); err == nil {
		t.Error("a group with no statuses (minimum_living) accepted")
	}
	if _, err := b.WithAssistedStatuses(map[string][]AssistanceStatus{"destitute_orphan": {"rich"}, "minimum_living": {StatusMinimumLiving}}); err == nil {
		t.Error("an unknown status accepted")
	}
}
