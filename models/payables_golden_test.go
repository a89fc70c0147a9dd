package models_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/catalog"
	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/models"
)

var update = flag.Bool("update", false, "rewrite testdata/payables.golden from the current policy and rules")

// goldenPerson is one person of the golden set with the facts the outside
// systems give about them.
type goldenPerson struct {
	name       string
	id         string
	registered time.Time
	record     *models.ContributionRecord
	statuses   []models.AssistanceStatus
	payables   []goldenPayable
}

type goldenPayable struct {
	scheme models.Scheme
	region string
	years  []int
	option string // flexible medical option
}

func goldenPeople() []goldenPerson {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	reg := func(y int, m time.Month) time.Time { return time.Date(y, m, 10, 10, 0, 0, 0, models.Beijing) }
	allYears := []int{2025, 2026, 2027}
	return []goldenPerson{
		{name: "张三明（1990年生，男）", id: models.MakeIDNumber("150102", d(1990, 3, 7), 123), registered: reg(2025, 1),
			payables: []goldenPayable{
				{models.SchemeFlexiblePension, "150100", allYears, ""},
				{models.SchemeFlexibleMedical, "150100", allYears, models.MedicalCombined},
				{models.SchemeFlexibleMedical, "150200", allYears, models.MedicalPoolingOnly}, // July policy year
				{models.SchemeFlexibleMedical, "150500", allYears, models.MedicalCombined},    // 通辽's own figures
			}},
		{name: "王小军（2026年11月参保）", id: models.MakeIDNumber("150203", d(1988, 6, 15), 345), registered: reg(2026, 11),
			payables: []goldenPayable{
				{models.SchemeFlexiblePension, "150200", []int{2026}, ""},
				{models.SchemeFlexibleMedical, "150200", []int{2026}, models.MedicalCombined},
			}},
		{name: "男，1966-03-20生，2026年7月达到退休年龄", id: models.MakeIDNumber("150102", d(1966, 3, 20), 11), registered: reg(2026, 1),
			record: &models.ContributionRecord{Months: 25 * 12, AsOf: "202512"},
			payables: []goldenPayable{
				{models.SchemeFlexiblePension, "150100", []int{2026, 2027}, ""},
				{models.SchemeFlexibleMedical, "150100", []int{2026}, models.MedicalCombined},
			}},
		{name: "刘建华（2025年4月达到退休年龄，缴费11年）", id: "150102196503081016", registered: reg(2024, 1),
			record:   &models.ContributionRecord{Months: 11 * 12, AsOf: "202504"},
			payables: []goldenPayable{{models.SchemeFlexiblePension, "150100", allYears, ""}}},
		{name: "女，1972-02-10生（原退休年龄55岁）", id: models.MakeIDNumber("150102", d(1972, 2, 10), 22), registered: reg(2025, 1),
			record:   &models.ContributionRecord{Months: 20 * 12, AsOf: "202612"},
			payables: []goldenPayable{{models.SchemeFlexiblePension, "150400", []int{2027}, ""}}},
		{name: "孙小梅（低保）", id: "150102198812082222", registered: reg(2025, 9),
			statuses: []models.AssistanceStatus{models.StatusMinimumLiving},
			payables: []goldenPayable{
				{models.SchemeResidentMedical, "150100", []int{2026, 2027}, ""},
				{models.SchemeResidentMedical, "150200", []int{2026, 2027}, ""},
				{models.SchemeResidentMedical, "150800", []int{2026}, ""},
				{models.SchemeResidentMedical, "150900", []int{2025, 2026}, ""},
				{models.SchemeResidentMedical, "150400", []int{2026}, ""}, // 赤峰 names no groups
			}},
		{name: "特困人员", id: models.MakeIDNumber("150203", d(1970, 5, 5), 24), registered: reg(2025, 9),
			statuses: []models.AssistanceStatus{models.StatusDestitute},
			payables: []goldenPayable{
				{models.SchemeResidentMedical, "150200", []int{2026}, ""},
				{models.SchemeResidentMedical, "150100", []int{2026}, ""}, // 呼和浩特 lists no figure for 特困
			}},
		{name: "城乡居民（无资助身份）", id: models.MakeIDNumber("152502", d(1995, 1, 1), 26), registered: reg(2023, 9),
			payables: []goldenPayable{
				{models.SchemeResidentMedical, "152500", []int{2024, 2025, 2026}, ""},
				{models.SchemeResidentPension, "152500", []int{2025, 2027}, ""},
			}},
	}
}

// TestPayablesGolden renders what a fixed set of people may pay across
// regions and years under the embedded policy, so that any change of a
// figure or a rule shows up as a readable diff of testdata/payables.golden.
// Regenerate with: go test ./models/ -run TestPayablesGolden -update
func TestPayablesGolden(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	book := cat.Policy
	agency := sandbox.NewAgency(book, nil) // assesses as the policy's own figures
	var out bytes.Buffer
	fmt.Fprintf(&out, "# What each person may pay, from catalog/policy.yaml and models.Terms.\n")
	fmt.Fprintf(&out, "# Amounts in fen. Regenerate: go test ./models/ -run TestPayablesGolden -update\n")
	for _, gp := range goldenPeople() {
		id, err := models.ParseIDNumber(gp.id)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "\n## %s %s, enrolled %s", gp.name, gp.id, gp.registered.Format("2006-01"))
		if gp.record != nil {
			fmt.Fprintf(&out, ", agency record %d months to %s", gp.record.Months, gp.record.AsOf)
		}
		if len(gp.statuses) > 0 {
			fmt.Fprintf(&out, ", statuses %v", gp.statuses)
		}
		out.WriteString("\n")
		for _, p := range gp.payables {
			for _, year := range p.years {
				in := models.TermsInput{Scheme: p.scheme, Region: p.region, Year: year, Person: id, RegisteredAt: gp.registered,
					MedicalOption: p.option, Statuses: gp.statuses, StatusesKnown: true, ContributionKnown: true}
				if gp.record != nil {
					in.Contribution = *gp.record
				}
				if book.NeedsAssessment(in) {
					a, err := agency.AssessFlexibleMedical(context.Background(), models.MedicalAssessmentRequest{Region: p.region, Year: year, Option: p.option})
					if err != nil {
						t.Fatal(err)
					}
					in.Assessment, in.AssessmentKnown = a, true
				}
				writeTerms(&out, book, in)
			}
		}
	}
	path := filepath.Join("testdata", "payables.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, out.Bytes()) {
		t.Errorf("payables differ from %s; if the change is intended, run with -update and review the diff:\n%s", path, lineDiff(string(want), out.String()))
	}
}

func writeTerms(out *bytes.Buffer, book *models.PolicyBook, in models.TermsInput) {
	region, _ := book.Region(in.Region)
	fmt.Fprintf(out, "%s %s %s %d", in.Scheme, in.Region, region.Name, in.Year)
	t, err := book.Terms(in)
	if err != nil {
		fmt.Fprintf(out, ": error %v\n", err)
		return
	}
	months := "none"
	if len(t.Months) > 0 {
		months = t.Months[0] + "-" + t.PeriodTo
	}
	fmt.Fprintf(out, ": months %s (%d), window %s..%s", months, len(t.Months), t.Window.From, t.Window.To)
	if t.Policy.Provisional {
		out.WriteString(", PROVISIONAL")
	}
	if t.AmountBasis != "" {
		fmt.Fprintf(out, ", amount %s", t.AmountBasis)
	}
	if t.RetirementPeriod != "" {
		fmt.Fprintf(out, ", retirement %s", t.RetirementPeriod)
	}
	if t.ExtendedThrough != "" {
		fmt.Fprintf(out, ", extended through %s", t.ExtendedThrough)
	}
	if t.YearlyExtraFen != 0 {
		fmt.Fprintf(out, ", yearly extra %d", t.YearlyExtraFen)
	}
	out.WriteString("\n")
	for _, o := range t.Options {
		fmt.Fprintf(out, "    %-14s base %8d  amount %7d  subsidy %6d  %s\n", o.Code, o.BaseFen, o.AmountFen, o.SubsidyFen, o.Label)
	}
	if a := t.Assistance; a != nil {
		fmt.Fprintf(out, "    assistance %s (%s): standard %d, assisted %d, due %d\n", a.GroupCode, a.GroupLabel, a.StandardFen, a.AssistanceFen, a.DueFen)
	}
	if t.Blocked != nil {
		reason := t.Blocked.Error()
		if e, ok := models.AsError(t.Blocked); ok {
			reason = e.Code + ": " + e.Reason
		}
		fmt.Fprintf(out, "    not payable: %s\n", reason)
	}
	if t.EndReason != "" {
		fmt.Fprintf(out, "    ends: %s\n", t.EndReason)
	}
	for _, n := range t.Notices {
		fmt.Fprintf(out, "    notice: %s\n", n)
	}
}

// lineDiff lists the lines only in want (-) or only in got (+), enough for
// a reader to see which figures moved.
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
