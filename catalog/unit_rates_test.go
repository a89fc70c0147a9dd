package catalog

import (
	"strings"
	"testing"

	"github.com/lianban/lianban/models"
)

func TestUnitRatesPerRegion(t *testing.T) {
	book := mustLoad(t).Policy
	type want struct{ unit, individual int64 }
	// 盟市 → enterprise medical, institution medical (unit bp), from
	// domain.md "Units"; pension is 16% + 8% everywhere.
	medical := map[string][2]int64{
		"150100": {670, 670}, "150200": {650, 650}, "150300": {750, 730}, "150400": {700, 700},
		"150500": {650, 650}, "150600": {700, 640}, "150700": {840, 840}, "150800": {650, 610},
		"150900": {850, 850}, "152200": {650, 650}, "152500": {650, 650}, "152900": {650, 620},
	}
	for _, r := range book.Regions() {
		for _, year := range []int{2023, 2025, 2027} {
			terms, err := book.UnitTerms(r.Code, models.Period{Year: year, Month: 6})
			if err != nil {
				t.Fatalf("UnitTerms(%s, %d): %v", r.Code, year, err)
			}
			m, ok := medical[r.Code]
			if !ok {
				t.Fatalf("region %s missing from the test", r.Code)
			}
			wants := map[models.Scheme]want{
				models.SchemeEnterprisePension:  {1600, 800},
				models.SchemeInstitutionPension: {1600, 800},
				models.SchemeEnterpriseMedical:  {m[0], 200},
				models.SchemeInstitutionMedical: {m[1], 200},
			}
			for s, w := range wants {
				got, _ := terms.Rates.For(s)
				if got.UnitBP != w.unit || got.IndividualBP != w.individual {
					t.Errorf("%s %d %s: %d + %d bp, want %d + %d", r.Code, year, s, got.UnitBP, got.IndividualBP, w.unit, w.individual)
				}
				if got.Verified {
					t.Errorf("%s %s: verified, but no official page on unit rates was read", r.Code, s)
				}
				if got.Source.Tag == "" || got.Source.Note == "" {
					t.Errorf("%s %s: source %+v has no tag or note", r.Code, s, got.Source)
				}
			}
		}
	}
}

func TestUnitRatesSayWhereEachRegionsFigureComesFrom(t *testing.T) {
	book := mustLoad(t).Policy
	at := func(region string) models.UnitRates {
		terms, err := book.UnitTerms(region, models.Period{Year: 2026, Month: 1})
		if err != nil {
			t.Fatal(err)
		}
		return terms.Rates
	}
	// A block built on an anchor with its own note keeps its note.
	if n := at("150300").InstitutionMedical.Source.Note; !strings.Contains(n, "乌海行政事业单位7.3%") {
		t.Errorf("乌海 institution medical note %q", n)
	}
	// 兴安盟 has no figure in the research: the default, saying so.
	if s := at("152200").EnterpriseMedical.Source; s.Tag != models.SourceUnverified || !strings.Contains(s.Note, "兴安盟") {
		t.Errorf("兴安盟 source %+v, want UNVERIFIED naming 兴安盟", s)
	}
	// An override of the unit rate keeps the default individual rate and
	// the other schemes' sources.
	hohhot := at("150100")
	if hohhot.EnterpriseMedical.IndividualBP != 200 || hohhot.EnterprisePension.Source.URL != at("152500").EnterprisePension.Source.URL {
		t.Errorf("呼和浩特 rates %+v", hohhot)
	}
}

func TestTheLoaderRefusesUnitRatesWithMistakes(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced once in policy.yaml
		want     string
	}{
		{"a misspelt rate", "unit_bp: 1600 # 16%", "unit_bps: 1600 # 16%", "field unit_bps not found"},
		{"a rate of zero", "unit_bp: 670 # 6.7%", "unit_bp: 0 # 6.7%", "unit_bp 0 not in 1..10000"},
		{"a negative individual rate", "individual_bp: 200 # 2%", "individual_bp: -200 # 2%", "individual_bp -200"},
		{"an override for a region that does not exist", `"152900": # 阿拉善盟
        institution_medical:`, `"152999": # 阿拉善盟
        institution_medical:`, `unit_rates from 2023: override for unknown region "152999"`},
		{"an override without its own verified flag", "          unit_bp: 610 # 财政供养 6.1%\n          source:\n            <<: *weante_medical\n            note: \"巴彦淖尔财政供养单位6.1%（企业6.5%同默认）取自第三方 GitHub 计算器（未确认），个人2%同默认；UNVERIFIED\"\n          verified: false\n",
			"          unit_bp: 610 # 财政供养 6.1%\n          source:\n            <<: *weante_medical\n            note: \"巴彦淖尔财政供养单位6.1%（企业6.5%同默认）取自第三方 GitHub 计算器（未确认），个人2%同默认；UNVERIFIED\"\n",
			"override 150800, institution_medical: needs its own source and verified"},
		{"rates that start after the first year", "  - from_year: 2023", "  - from_year: 2024", "first entry from 2024, but the book starts 2023"},
		{"no unit rates at all", "\nunit_rates:\n", "\nunit_rates_old:\n", "field unit_rates_old not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(policyYAML, tt.old) {
				t.Fatalf("policy.yaml has no %q; update the test", tt.old)
			}
			src := strings.Replace(policyYAML, tt.old, tt.new, 1)
			_, err := load([]byte(servicesYAML), []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
