package models

import (
	"errors"
	"strings"
	"testing"
)

var testRegions = []Region{{Code: "150100", Name: "呼和浩特市"}, {Code: "150200", Name: "包头市"}}

// testYears gives every test region the years first..last.
func testYears(first, last int) []PolicyYear {
	var ys []PolicyYear
	for _, r := range testRegions {
		for y := first; y <= last; y++ {
			p := pensionYear(y, 8179, 4907, 24537)
			p.Region = r.Code
			ys = append(ys, p)
		}
	}
	return ys
}

func TestNewPolicyBookAcceptsAConsistentPolicy(t *testing.T) {
	b, err := NewPolicyBook("2026.11-1", 55, testRegions, testYears(2024, 2026))
	if err != nil {
		t.Fatal(err)
	}
	if b.Version() != "2026.11-1" || b.FemaleFlexibleRetirementAge() != 55 {
		t.Fatalf("version %q, female age %d", b.Version(), b.FemaleFlexibleRetirementAge())
	}
	if first, last := b.Years(); first != 2024 || last != 2026 {
		t.Fatalf("Years() = %d, %d", first, last)
	}
	p, err := b.Year("150200", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if p.RegionName != "包头市" {
		t.Fatalf("RegionName %q was not filled from the region list", p.RegionName)
	}
	if r, ok := b.Region("150100"); !ok || r.Name != "呼和浩特市" {
		t.Fatalf("Region(150100) = %+v, %v", r, ok)
	}
	if _, ok := b.Region("110100"); ok {
		t.Fatal("Region(110100) found a region outside the book")
	}
}

func TestPolicyBookYearErrors(t *testing.T) {
	b, err := NewPolicyBook("v", 55, testRegions, testYears(2024, 2026))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		region string
		year   int
		want   error
	}{
		{"a region outside Inner Mongolia is an invalid region", "110100", 2025, ErrRegionInvalid},
		{"a known region before the first year has no policy", "150100", 2023, ErrPolicyUnavailable},
		{"a known region after the last year has no policy", "150100", 2027, ErrPolicyUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.Year(tt.region, tt.year); !errors.Is(err, tt.want) {
				t.Fatalf("Year(%s, %d) error = %v, want %v", tt.region, tt.year, err, tt.want)
			}
		})
	}
}

func TestThePolicyBookCannotBeChangedThroughWhatItReturnsOrWasGiven(t *testing.T) {
	years := testYears(2025, 2025)
	for i := range years {
		years[i].ResidentMedical.Source.Also = []SourceRef{{Tag: SourceGeneral, Title: "national notice"}}
	}
	regions := []Region{testRegions[0], testRegions[1]}
	b, err := NewPolicyBook("v", 55, regions, years)
	if err != nil {
		t.Fatal(err)
	}
	years[0].FlexiblePension.GradesPercent[0] = 1
	years[0].ResidentMedical.Source.Also[0].Title = "changed"
	regions[0].Name = "changed"
	p, _ := b.Year("150100", 2025)
	p.ResidentPension.Grades[0].AmountFen = 1
	p.ResidentMedical.Source.Also[0].Title = "changed"
	b.Regions()[0].Name = "changed"

	again, _ := b.Year("150100", 2025)
	if again.FlexiblePension.GradesPercent[0] != 60 || again.ResidentPension.Grades[0].AmountFen != 20000 {
		t.Fatalf("figures changed: %+v", again)
	}
	if again.ResidentMedical.Source.Also[0].Title != "national notice" {
		t.Fatalf("source changed: %+v", again.ResidentMedical.Source)
	}
	if b.Regions()[0].Name != "呼和浩特市" {
		t.Fatalf("region list changed: %+v", b.Regions())
	}
}

func TestNewPolicyBookRejectsInconsistentPolicy(t *testing.T) {
	tests := []struct {
		name         string
		emptyVersion bool
		female       int
		regions      []Region
		mutate       func([]PolicyYear) []PolicyYear
		want         string
	}{
		{name: "an empty version", emptyVersion: true, want: "version is empty"},
		{name: "a female retirement age that is neither 50 nor 55", female: 60, want: "must be 50 or 55"},
		{name: "a region outside Inner Mongolia", regions: []Region{{Code: "110100", Name: "北京"}}, want: "6-digit code starting 15"},
		{name: "a region listed twice", regions: []Region{testRegions[0], testRegions[0]}, want: "listed twice"},
		{name: "a year for a region not in the list", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].Region = "150300"; return ys }, want: "unknown region"},
		{name: "a region missing a year in the middle", mutate: func(ys []PolicyYear) []PolicyYear { return append(ys[:1], ys[2:]...) }, want: "150100 2025: missing"},
		{name: "the same region and year twice", mutate: func(ys []PolicyYear) []PolicyYear { return append(ys, ys[0]) }, want: "listed twice"},
		{name: "a region name that disagrees with the list", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].RegionName = "包头市"; return ys }, want: "region name"},
		{name: "a pension lower limit above the upper", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].FlexiblePension.BaseMinFen = ys[0].FlexiblePension.BaseMaxFen + 1
			return ys
		}, want: "base_min_fen"},
		{name: "a zero pension rate", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].FlexiblePension.RateBP = 0; return ys }, want: "rate_bp 0"},
		{name: "pooled and personal shares that do not add up to the rate", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].FlexiblePension.PooledBP = 1100; return ys }, want: "must equal rate_bp"},
		{name: "pension grades out of order", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].FlexiblePension.GradesPercent = []int64{60, 80, 70}
			return ys
		}, want: "ascending"},
		{name: "a figure without a source", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].FlexibleMedical.Source = PolicySource{}; return ys }, want: "flexible_medical: source is empty"},
		{name: "a source without a reliability tag", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].FlexiblePension.Source.Tag = "OFFICIAL"; return ys }, want: `flexible_pension: source tag "OFFICIAL"`},
		{name: "a third-party source without an address", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].ResidentMedical.Source = PolicySource{SourceRef: SourceRef{Tag: SourceThirdParty, Title: "a page"}, Note: "400 元"}
			return ys
		}, want: "tagged 3P but has no url"},
		{name: "a source that does not say what it supports", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].ResidentPension.Source.Note = ""; return ys }, want: "has no note"},
		{name: "verified figures from a third-party page", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].FlexibleMedical.Source = PolicySource{SourceRef: SourceRef{Tag: SourceThirdParty, Title: "a page", URL: "https://example.com/p"}, Note: "7.6%"}
			ys[0].FlexibleMedical.Verified = true
			return ys
		}, want: "verified figures need an official (OFF) source"},
		{name: "a further reference without a title", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].FlexiblePension.Source.Also = []SourceRef{{Tag: SourceGeneral}}
			return ys
		}, want: "also: source has no title"},
		{name: "a carried-over figure in a published year", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].FlexiblePension.Source.Tag = SourceProvisional
			return ys
		}, want: "year is not provisional"},
		{name: "a provisional year that names no carried-over figure", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].Provisional = true; return ys }, want: "no block is sourced PROVISIONAL"},
		{name: "a verified resident pension year without grades", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].ResidentPension.Grades = nil
			ys[0].ResidentPension.Verified = true
			ys[0].ResidentPension.Source = PolicySource{SourceRef: SourceRef{Tag: SourceOfficial, Title: "notice", URL: "https://example.gov.cn/n"}, Note: "grades"}
			return ys
		}, want: "resident_pension: no grades"},
		{name: "a zero medical rate", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].FlexibleMedical.PoolingOnlyBP = 0; return ys }, want: "pooling_only_bp 0"},
		{name: "a zero resident medical amount", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].ResidentMedical.AmountFen = 0; return ys }, want: "amount_fen must be positive"},
		{name: "an assisted group paying more than everyone else", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].ResidentMedical.AssistedGroups = []AssistedGroup{{Code: "minimum_living", Label: "低保", AmountFen: 50000}}
			return ys
		}, want: "assisted group minimum_living"},
		{name: "a resident pension grade in fen", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].ResidentPension.Grades = []PensionGrade{{20050, 4000}}
			return ys
		}, want: "not whole yuan"},
		{name: "a window that is not a date", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].ResidentMedical.Window.From = "2025-9-1"; return ys }, want: "not YYYY-MM-DD"},
		{name: "an impossible window date", mutate: func(ys []PolicyYear) []PolicyYear { ys[0].ResidentMedical.Window.To = "2025-02-30"; return ys }, want: "not YYYY-MM-DD"},
		{name: "a window ending before it starts", mutate: func(ys []PolicyYear) []PolicyYear {
			ys[0].ResidentPension.Window = Window{From: "2025-12-31", To: "2025-01-01"}
			return ys
		}, want: "ends before it starts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version, female, regions := "v", 55, testRegions
			if tt.emptyVersion {
				version = ""
			}
			if tt.female != 0 {
				female = tt.female
			}
			if tt.regions != nil {
				regions = tt.regions
			}
			years := testYears(2024, 2026)
			if tt.mutate != nil {
				years = tt.mutate(years)
			}
			_, err := NewPolicyBook(version, female, regions, years)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPolicyBook error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAnEmptyListOfAssistedGroupsComesBackEmptyNotNil(t *testing.T) {
	years := testYears(2025, 2025)
	years[0].ResidentMedical.AssistedGroups = nil
	b, err := NewPolicyBook("v", 55, testRegions, years)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.Year(years[0].Region, 2025)
	if p.ResidentMedical.AssistedGroups == nil {
		t.Fatal("AssistedGroups is nil; JSON would render null")
	}
}
