package models

import (
	"errors"
	"testing"
	"time"
)

// testSource is a well-formed source for fixtures whose figures are not
// from policy.yaml.
var testSource = PolicySource{SourceRef: SourceRef{Tag: SourceUnverified, Title: "test"}, Note: "test fixture"}

// pensionYear builds a PolicyYear with the published flexible-pension
// figures of one year (domain.md §1.1) and the figures of the other schemes
// used below.
func pensionYear(year int, avgYuan, minYuan, maxYuan int64) PolicyYear {
	return PolicyYear{
		Region: "150100", Year: year,
		FlexiblePension: FlexiblePensionPolicy{
			AverageWageFen: YuanToFen(avgYuan), BaseMinFen: YuanToFen(minYuan), BaseMaxFen: YuanToFen(maxYuan),
			RateBP: 2000, PooledBP: 1200, PersonalBP: 800,
			GradesPercent: []int64{60, 70, 80, 90, 100, 150, 200, 300},
			Window:        Window{From: "2025-01-01", To: "2025-12-31"}, Source: testSource,
		},
		FlexibleMedical: FlexibleMedicalPolicy{
			BaseFen: 654320, CombinedBP: 760, PoolingOnlyBP: 460, LongTermCareBP: 40, LargeAmountYearFen: 10000,
			Window: Window{From: "2025-01-01", To: "2025-12-31"}, Source: testSource,
		},
		ResidentMedical: ResidentMedicalPolicy{AmountFen: 40000, SubsidyFen: 70000, Window: Window{From: "2025-09-01", To: "2025-12-31"}, Source: testSource},
		ResidentPension: ResidentPensionPolicy{
			Grades: []PensionGrade{{20000, 4000}, {30000, 5000}, {100000, 7000}, {150000, 10000}, {500000, 14000}},
			Window: Window{From: "2025-01-01", To: "2025-12-31"}, Source: testSource,
		},
	}
}

func TestFlexiblePensionMonthlyLimitsMatchThePublishedFigures(t *testing.T) {
	tests := []struct {
		name             string
		p                PolicyYear
		minBase, maxBase Fen
		minFee, maxFee   Fen
	}{
		{"2025: base 4,907–24,537 gives 981.40–4,907.40 a month", pensionYear(2025, 8179, 4907, 24537), 490700, 2453700, 98140, 490740},
		{"2024: base 4,863–24,315 gives 972.60–4,863.00 a month", pensionYear(2024, 8105, 4863, 24315), 486300, 2431500, 97260, 486300},
		{"2023: base 4,481–22,407 gives 896.20–4,481.40 a month", pensionYear(2023, 7469, 4481, 22407), 448100, 2240700, 89620, 448140},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := FlexiblePensionOptions(tt.p)
			if len(opts) != 8 {
				t.Fatalf("got %d options, want 8", len(opts))
			}
			lo, hi := opts[0], opts[len(opts)-1]
			if lo.Code != "grade_60" || lo.BaseFen != tt.minBase || lo.AmountFen != tt.minFee {
				t.Fatalf("lowest option %+v, want grade_60 base %d amount %d", lo, tt.minBase, tt.minFee)
			}
			if hi.Code != "grade_300" || hi.BaseFen != tt.maxBase || hi.AmountFen != tt.maxFee {
				t.Fatalf("highest option %+v, want grade_300 base %d amount %d", hi, tt.maxBase, tt.maxFee)
			}
		})
	}
}

func TestFlexiblePensionGradesAreWholeYuanPercentagesOfTheAverageWage(t *testing.T) {
	opts := FlexiblePensionOptions(pensionYear(2025, 8179, 4907, 24537))
	want := []struct {
		code   string
		base   Fen
		amount Fen
		label  string
	}{
		{"grade_60", 490700, 98140, "缴费基数 4,907 元（60%档）"},
		{"grade_70", 572500, 114500, "缴费基数 5,725 元（70%档）"},     // 5,725.30 rounds down
		{"grade_80", 654300, 130860, "缴费基数 6,543 元（80%档）"},     // 6,543.20
		{"grade_90", 736100, 147220, "缴费基数 7,361 元（90%档）"},     // 7,361.10
		{"grade_100", 817900, 163580, "缴费基数 8,179 元（100%档）"},   // exact
		{"grade_150", 1226900, 245380, "缴费基数 12,269 元（150%档）"}, // 12,268.50 rounds half up
		{"grade_200", 1635800, 327160, "缴费基数 16,358 元（200%档）"},
		{"grade_300", 2453700, 490740, "缴费基数 24,537 元（300%档）"},
	}
	for i, w := range want {
		o := opts[i]
		if o.Code != w.code || o.BaseFen != w.base || o.AmountFen != w.amount || o.Label != w.label || o.SubsidyFen != 0 {
			t.Errorf("option %d = %+v, want %+v", i, o, w)
		}
	}
}

func TestAGradeOutsideThePublishedLimitsIsClampedToThem(t *testing.T) {
	p := pensionYear(2025, 8179, 4907, 24537)
	p.FlexiblePension.GradesPercent = []int64{50, 400}
	opts := FlexiblePensionOptions(p)
	if opts[0].BaseFen != 490700 || opts[1].BaseFen != 2453700 {
		t.Fatalf("bases %d and %d, want the limits 490700 and 2453700", opts[0].BaseFen, opts[1].BaseFen)
	}
}

func TestResolveOption(t *testing.T) {
	p := pensionYear(2025, 8179, 4907, 24537)
	tests := []struct {
		name          string
		scheme        Scheme
		medicalOption string
		code          string
		want          PayOption
		err           error
		reason        string
	}{
		{name: "a listed pension grade resolves to its amounts", scheme: SchemeFlexiblePension, code: "grade_100",
			want: PayOption{Code: "grade_100", Label: "缴费基数 8,179 元（100%档）", BaseFen: 817900, AmountFen: 163580}},
		{name: "a custom base within the limits is 20% of it", scheme: SchemeFlexiblePension, code: "base_5000",
			want: PayOption{Code: "base_5000", Label: "缴费基数 5,000 元（自选基数）", BaseFen: 500000, AmountFen: 100000}},
		{name: "a custom base at the lower limit is accepted", scheme: SchemeFlexiblePension, code: "base_4907",
			want: PayOption{Code: "base_4907", Label: "缴费基数 4,907 元（自选基数）", BaseFen: 490700, AmountFen: 98140}},
		{name: "a custom base at the upper limit is accepted", scheme: SchemeFlexiblePension, code: "base_24537",
			want: PayOption{Code: "base_24537", Label: "缴费基数 24,537 元（自选基数）", BaseFen: 2453700, AmountFen: 490740}},
		{name: "a custom base one yuan below the 2025 limit is out of range", scheme: SchemeFlexiblePension, code: "base_4906",
			err: ErrBaseOutOfRange, reason: "缴费基数须在 4,907 元至 24,537 元之间"},
		{name: "a custom base one yuan above the 2025 limit is out of range", scheme: SchemeFlexiblePension, code: "base_24538",
			err: ErrBaseOutOfRange, reason: "缴费基数须在 4,907 元至 24,537 元之间"},
		{name: "a custom base with a leading zero is not a base", scheme: SchemeFlexiblePension, code: "base_05000", err: ErrInvalid, reason: "缴费基数应为整数元"},
		{name: "a custom base with fen is not a base", scheme: SchemeFlexiblePension, code: "base_5000.50", err: ErrInvalid, reason: "缴费基数应为整数元"},
		{name: "a negative custom base is not a base", scheme: SchemeFlexiblePension, code: "base_-5000", err: ErrInvalid, reason: "缴费基数应为整数元"},
		{name: "a huge custom base does not overflow into range", scheme: SchemeFlexiblePension, code: "base_92233720368547758", err: ErrInvalid, reason: "缴费基数应为整数元"},
		{name: "a grade that is not published is unknown", scheme: SchemeFlexiblePension, code: "grade_65", err: ErrInvalid, reason: "缴费档次不存在，请重新选择"},
		{name: "custom bases exist only for the flexible pension", scheme: SchemeResidentPension, code: "base_5000", err: ErrInvalid, reason: "缴费档次不存在，请重新选择"},
		{name: "the combined medical option is base × (7.6% + 0.4%)", scheme: SchemeFlexibleMedical, medicalOption: MedicalCombined, code: "combined",
			want: PayOption{Code: "combined", Label: "统账结合：缴费基数 6,543.20 元 × 8%（含长期护理保险 0.4%）", BaseFen: 654320, AmountFen: 52346}},
		{name: "the pooling-only medical option is base × (4.6% + 0.4%)", scheme: SchemeFlexibleMedical, medicalOption: MedicalPoolingOnly, code: "pooling_only",
			want: PayOption{Code: "pooling_only", Label: "单建统筹：缴费基数 6,543.20 元 × 5%（含长期护理保险 0.4%）", BaseFen: 654320, AmountFen: 32716}},
		{name: "a medical option other than the enrolled one is refused", scheme: SchemeFlexibleMedical, medicalOption: MedicalCombined, code: "pooling_only",
			err: ErrInvalid, reason: "所选医保缴费方式与参保登记的不一致"},
		{name: "resident medical has one standard option with the subsidy shown", scheme: SchemeResidentMedical, code: "standard",
			want: PayOption{Code: "standard", Label: "个人缴费 400 元/年（财政补助 700 元）", AmountFen: 40000, SubsidyFen: 70000}},
		{name: "resident pension grade 200 carries a subsidy of 40", scheme: SchemeResidentPension, code: "grade_200",
			want: PayOption{Code: "grade_200", Label: "200 元/年档（政府补贴 40 元）", AmountFen: 20000, SubsidyFen: 4000}},
		{name: "resident pension grade 5000 carries a subsidy of 140", scheme: SchemeResidentPension, code: "grade_5000",
			want: PayOption{Code: "grade_5000", Label: "5,000 元/年档（政府补贴 140 元）", AmountFen: 500000, SubsidyFen: 14000}},
		{name: "an unknown scheme is refused", scheme: Scheme("unemployment"), code: "grade_60", err: ErrSchemeInvalid},
		{name: "an empty code is unknown", scheme: SchemeResidentMedical, code: "", err: ErrInvalid, reason: "缴费档次不存在，请重新选择"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveOption(p, tt.scheme, tt.medicalOption, tt.code)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ResolveOption(%q) error = %v, want %v", tt.code, err, tt.err)
				}
				if e, _ := AsError(err); tt.reason != "" && e.Reason != tt.reason {
					t.Fatalf("reason = %q, want %q", e.Reason, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveOption(%q): %v", tt.code, err)
			}
			if got != tt.want {
				t.Fatalf("ResolveOption(%q) = %+v, want %+v", tt.code, got, tt.want)
			}
		})
	}
}

func TestPayOptionsForFlexibleMedical(t *testing.T) {
	p := pensionYear(2025, 8179, 4907, 24537)
	tests := []struct {
		name          string
		medicalOption string
		want          []string
	}{
		{"before an option is chosen both are listed", "", []string{"combined", "pooling_only"}},
		{"after enrolment only the enrolled option is listed", MedicalPoolingOnly, []string{"pooling_only"}},
		{"an unknown option lists nothing", "gold", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, o := range PayOptions(p, SchemeFlexibleMedical, tt.medicalOption) {
				got = append(got, o.Code)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("codes %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("codes %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestAMedicalOptionWithoutLongTermCareSaysNothingAboutIt(t *testing.T) {
	p := pensionYear(2023, 7469, 4481, 22407)
	p.FlexibleMedical = FlexibleMedicalPolicy{BaseFen: 746900, CombinedBP: 800, PoolingOnlyBP: 480}
	got := PayOptions(p, SchemeFlexibleMedical, MedicalPoolingOnly)[0]
	// 通辽 2023: 7,469 × 4.8% = 358.512 → 358.51 a month.
	if got.AmountFen != 35851 || got.Label != "单建统筹：缴费基数 7,469 元 × 4.8%" {
		t.Fatalf("got %+v", got)
	}
}

func TestEveryListedOptionResolvesToItself(t *testing.T) {
	p := pensionYear(2025, 8179, 4907, 24537)
	for _, s := range Schemes {
		for _, o := range PayOptions(p, s, "") {
			got, err := ResolveOption(p, s, "", o.Code)
			if err != nil || got != o {
				t.Errorf("%s %s: ResolveOption = %+v, %v; listed %+v", s, o.Code, got, err, o)
			}
		}
	}
}

func TestWindowContains(t *testing.T) {
	w := Window{From: "2025-09-01", To: "2025-12-31"}
	tests := []struct {
		name string
		w    Window
		t    time.Time
		want bool
	}{
		{"the first day is inside", w, time.Date(2025, 9, 1, 0, 0, 0, 0, Beijing), true},
		{"the last day is inside until Beijing midnight", w, time.Date(2025, 12, 31, 23, 59, 59, 0, Beijing), true},
		{"the day after is outside", w, time.Date(2026, 1, 1, 0, 0, 0, 0, Beijing), false},
		{"16:00 UTC on the last day is already the next day in Beijing", w, time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC), false},
		{"16:00 UTC the day before the first is the first day in Beijing", w, time.Date(2025, 8, 31, 16, 0, 0, 0, time.UTC), true},
		{"the day before is outside", w, time.Date(2025, 8, 31, 23, 59, 0, 0, Beijing), false},
		{"an empty start is open", Window{To: "2025-12-31"}, time.Date(1990, 1, 1, 0, 0, 0, 0, Beijing), true},
		{"an empty end is open", Window{From: "2025-09-01"}, time.Date(2090, 1, 1, 0, 0, 0, 0, Beijing), true},
		{"an empty window is always open", Window{}, time.Date(2026, 11, 28, 0, 0, 0, 0, Beijing), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Contains(tt.t); got != tt.want {
				t.Fatalf("%+v.Contains(%s) = %v, want %v", tt.w, tt.t, got, tt.want)
			}
		})
	}
}

func TestGroupedYuanAndPercent(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"thousands are separated", groupedYuan(2453700), "24,537"},
		{"fen are shown only when present", groupedYuan(654320), "6,543.20"},
		{"millions get two separators", groupedYuan(123456789), "1,234,567.89"},
		{"small amounts have no separator", groupedYuan(4000), "40"},
		{"zero is 0", groupedYuan(0), "0"},
		{"whole percentages have no decimals", percentBP(2000), "20%"},
		{"tenths keep one decimal", percentBP(760), "7.6%"},
		{"below one percent keeps the leading zero", percentBP(40), "0.4%"},
		{"hundredths keep two decimals", percentBP(25), "0.25%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
