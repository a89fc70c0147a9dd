package models_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lianban/lianban/catalog"
	"github.com/lianban/lianban/models"
)

// goldenUnit is a unit of the golden set: its type, where it insures its
// staff, and its employees' declared monthly wages.
type goldenUnit struct {
	name    string
	typ     models.UnitType
	region  string
	periods []string
	wages   []models.Fen
}

func goldenUnits() []goldenUnit {
	return []goldenUnit{
		{name: "内蒙古联办示范科技有限公司", typ: models.UnitEnterprise, region: "150100", periods: []string{"202501", "202606"},
			// under the lower limit, inside, odd fen, over the upper limit
			wages: []models.Fen{350000, 650000, 654321, 3000000}},
		{name: "乌海某企业", typ: models.UnitEnterprise, region: "150300", periods: []string{"202412"},
			wages: []models.Fen{486300, 812345}},
		{name: "内蒙古自治区联办示范服务中心", typ: models.UnitInstitution, region: "150100", periods: []string{"202503"},
			wages: []models.Fen{720000, 1099999}},
		{name: "鄂尔多斯某事业单位", typ: models.UnitInstitution, region: "150600", periods: []string{"202503", "202701"},
			wages: []models.Fen{500010, 980000, 2453700}},
		{name: "兴安盟某企业（费率未查到，按默认）", typ: models.UnitEnterprise, region: "152200", periods: []string{"202309"},
			wages: []models.Fen{448100, 2240800}},
	}
}

// TestUnitAssessmentsGolden renders what a fixed set of units and their
// employees owe under the embedded policy, so that a change of a unit
// rate, a base limit or the rounding shows up as a readable diff of
// testdata/unit_assessments.golden.
// Regenerate with: go test ./models/ -run TestUnitAssessmentsGolden -update
func TestUnitAssessmentsGolden(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	book := cat.Policy
	var out bytes.Buffer
	fmt.Fprintf(&out, "# What each unit and employee owes per month, from catalog/policy.yaml and models.UnitTerms.\n")
	fmt.Fprintf(&out, "# Amounts in fen; each part rounded half up per employee. Regenerate: go test ./models/ -run TestUnitAssessmentsGolden -update\n")
	for _, u := range goldenUnits() {
		for _, p := range u.periods {
			period, err := models.ParsePeriod(p)
			if err != nil {
				t.Fatal(err)
			}
			terms, err := book.UnitTerms(u.region, period)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "\n## %s (%s) %s %s %s: base %d..%d (average %d)", u.name, u.typ, u.region, terms.RegionName, period, terms.BaseMinFen, terms.BaseMaxFen, terms.AverageWageFen)
			if terms.Provisional {
				out.WriteString(", PROVISIONAL")
			}
			out.WriteString("\n")
			for _, s := range u.typ.Schemes() {
				rates, _ := terms.Rates.For(s)
				a, err := terms.AssessScheme(s, u.wages)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "%-19s unit %4d bp + individual %3d bp (%s, verified %v): headcount %d, base %d, unit %d, individual %d, total %d\n",
					s, rates.UnitBP, rates.IndividualBP, rates.Source.Tag, rates.Verified, a.Headcount, a.BaseFen, a.UnitFen, a.IndividualFen, a.TotalFen)
				for _, e := range a.Employees {
					fmt.Fprintf(&out, "    wage %8d  base %8d  unit %7d  individual %7d\n", e.WageFen, e.BaseFen, e.UnitFen, e.IndividualFen)
				}
			}
			for _, s := range models.UnitSchemes {
				if err := u.typ.MayRegister(s); err != nil {
					fmt.Fprintf(&out, "%-19s not for this unit: %v\n", s, err)
				}
			}
		}
	}
	path := filepath.Join("testdata", "unit_assessments.golden")
	if *update {
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
		t.Errorf("unit assessments differ from %s; if the change is intended, run with -update and review the diff:\n%s", path, lineDiff(string(want), out.String()))
	}
}
