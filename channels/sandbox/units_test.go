package sandbox

import (
	"context"
	"errors"
	"testing"

	"github.com/lianban/lianban/models"
)

func lookup(t *testing.T, r *UnitRegistry, code string) (models.UnitRecord, error) {
	t.Helper()
	u, err := models.ParseUSCC(code)
	if err != nil {
		t.Fatalf("ParseUSCC(%s): %v", code, err)
	}
	return r.LookupUnit(context.Background(), u)
}

func TestTheSandboxUnitRegistryKnowsTheDemoUnitsOfAPIMD(t *testing.T) {
	r := NewUnitRegistry(DemoUnits(), DemoPeople())
	var zhang string
	for _, p := range DemoPeople() {
		if p.Name == "张三明" {
			zhang = p.IDNumber
		}
	}
	tests := []struct {
		code, name  string
		typ         models.UnitType
		region      string
		mayRegister models.Scheme
	}{
		{"91150100MA0LB00013", "内蒙古联办示范科技有限公司", models.UnitEnterprise, "150100", models.SchemeEnterprisePension},
		{"12150000MB1LB0002E", "内蒙古自治区联办示范服务中心", models.UnitInstitution, "150000", models.SchemeInstitutionMedical},
	}
	for _, tt := range tests {
		u, err := lookup(t, r, tt.code)
		if err != nil {
			t.Fatalf("LookupUnit(%s): %v", tt.code, err)
		}
		want := models.UnitRecord{USCC: tt.code, Name: tt.name, Type: tt.typ, Region: tt.region, LegalRepName: "张三明", LegalRepIDNumber: zhang}
		if u != want {
			t.Errorf("LookupUnit(%s) = %+v, want %+v", tt.code, u, want)
		}
		if err := u.Type.MayRegister(tt.mayRegister); err != nil {
			t.Errorf("%s may not register %s: %v", tt.name, tt.mayRegister, err)
		}
	}
	// A lower-case code parses to the same unit.
	if u, err := lookup(t, r, "12150000mb1lb0002e"); err != nil || u.Name != "内蒙古自治区联办示范服务中心" {
		t.Errorf("lower-case code: %+v, %v", u, err)
	}
}

func TestAnyOtherValidCodeIsUnknownAndTheOutageCodeIsUnavailable(t *testing.T) {
	r := NewUnitRegistry(DemoUnits(), DemoPeople())
	for _, code := range []string{"91150100MA0LB00039", "9144030071526726XG"} {
		if _, err := lookup(t, r, code); !errors.Is(err, models.ErrUnitUnknown) {
			t.Errorf("LookupUnit(%s) error = %v, want ErrUnitUnknown", code, err)
		}
	}
	if _, err := lookup(t, r, USCCUnitRegistryDown); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("outage code: %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	u, _ := models.ParseUSCC("91150100MA0LB00013")
	if _, err := r.LookupUnit(ctx, u); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("cancelled context: %v, want ErrUnavailable", err)
	}
}

func TestDemoUnitsWhoseLegalRepresentativeIsNobodyAreRefused(t *testing.T) {
	for name, units := range map[string][]DemoUnit{
		"an unknown legal representative": {{USCC: "91150100MA0LB00013", Name: "x", Type: models.UnitEnterprise, Region: "150100", LegalRep: "无此人"}},
		"an invalid code":                 {{USCC: "91150100MA0LB00014", Name: "x", Type: models.UnitEnterprise, Region: "150100", LegalRep: "张三明"}},
		"no unit type":                    {{USCC: "91150100MA0LB00013", Name: "x", Region: "150100", LegalRep: "张三明"}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewUnitRegistry accepted it")
				}
			}()
			NewUnitRegistry(units, DemoPeople())
		})
	}
}
