package catalog

import (
	"strings"
	"testing"

	"github.com/lianban/lianban/models"
)

func TestTheRegionRulesOfThePolicyFile(t *testing.T) {
	book := mustLoad(t).Policy
	for _, r := range book.Regions() {
		rules := book.Rules(r.Code)
		if rules.FemaleFlexibleRetirementAge != 55 || !strings.Contains(rules.FemaleFlexibleRetirementAgeSource, "UNVERIFIED") {
			t.Errorf("%s: female age %d (%q), want the unverified default 55 with its source", r.Code, rules.FemaleFlexibleRetirementAge, rules.FemaleFlexibleRetirementAgeSource)
		}
		wantStart := 1
		if r.Code == "150200" {
			wantStart = 7 // 包头 sets its medical base July to June
		}
		if rules.FlexibleMedicalYearStartMonth != wantStart || rules.FlexibleMedicalYearStartSource.Title == "" {
			t.Errorf("%s: medical policy year starts in month %d (%+v), want %d with a source", r.Code, rules.FlexibleMedicalYearStartMonth, rules.FlexibleMedicalYearStartSource, wantStart)
		}
		// No region's flexible medical figures are verified: every amount is
		// the agency's assessment.
		for y := 2023; y <= 2027; y++ {
			in := models.TermsInput{Scheme: models.SchemeFlexibleMedical, Region: r.Code, Year: y}
			if !book.NeedsAssessment(in) {
				t.Errorf("%s %d: flexible medical is not the agency's assessment", r.Code, y)
			}
		}
	}
	py, err := book.Year("150200", 2026)
	if err != nil {
		t.Fatal(err)
	}
	a, err := book.ResidentMedicalAssistance(py, []models.AssistanceStatus{models.StatusPovertyMonitoring})
	if err != nil || a == nil || a.DueFen != 12000 {
		t.Fatalf("包头 2026 返贫监测: %+v, %v; want the 低保对象等 amount 120 元", a, err)
	}
}

func TestTheLoaderRefusesMistakesInTheRegionRules(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced once in policy.yaml
		want     string
	}{
		{"a misspelt rule", "flexible_medical_year_start_month: 7", "flexible_medical_year_start: 7", "field flexible_medical_year_start not found"},
		{"a month that does not exist", "flexible_medical_year_start_month: 7", "flexible_medical_year_start_month: 13", "not in 1..12"},
		{"a start month without a tagged source", "        tag: MEDIA\n        title: \"〔概括〕包头", "        tag: NEWS\n        title: \"〔概括〕包头", `source tag "NEWS"`},
		{"rules for a region that does not exist", `    "150200": # 包头
      flexible_medical_year_start_month`, `    "150299": # 包头
      flexible_medical_year_start_month`, `unknown region "150299"`},
		{"a female age that is not 50 or 55 for one region", "      flexible_medical_year_start_month: 7", "      flexible_medical_year_start_month: 7\n      female_flexible_retirement_age: 52", "must be 50 or 55"},
		{"an assisted group with no statuses", "  minimum_living: [minimum_living, poverty_monitoring, low_income]\n", "", `"minimum_living" has no statuses`},
		{"an unknown status", "[destitute, orphan]", "[destitute, orphans]", `unknown status "orphans"`},
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
