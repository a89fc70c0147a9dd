package sandbox

import (
	"context"
	"fmt"

	"github.com/lianban/lianban/models"
)

// DemoUnit is a fixed unit of the sandbox unit registry (API.md, "Sandbox
// demo data"), so a demo can bind a known enterprise and a known
// institution and show a legal-representative mismatch.
type DemoUnit struct {
	USCC     string
	Name     string
	Type     models.UnitType
	Region   string
	LegalRep string // the name of a DemoPerson; their ID number is the person registry's
	Note     string
}

// USCCUnitRegistryDown is a valid code the sandbox unit registry answers
// with models.ErrUnavailable, so a demo or a test can show what an outage
// of the registry looks like.
const USCCUnitRegistryDown = "91150100MA0LB99999"

// DemoUnits returns the sandbox registry's fixed units.
func DemoUnits() []DemoUnit {
	return []DemoUnit{
		{USCC: "91150100MA0LB00013", Name: "内蒙古联办示范科技有限公司", Type: models.UnitEnterprise, Region: "150100",
			LegalRep: "张三明", Note: "企业，呼和浩特"},
		{USCC: "12150000MB1LB0002E", Name: "内蒙古自治区联办示范服务中心", Type: models.UnitInstitution, Region: "150000",
			LegalRep: "张三明", Note: "事业单位，自治区本级"},
	}
}

// UnitRegistry is the sandbox unit registry behind binding a unit. It
// knows the fixed units; any other valid code is models.ErrUnitUnknown,
// which the service takes, in sandbox mode only, as a new unit whose
// binder is its legal representative (as the person registry accepts new
// people), of the type its code suggests (models.USCC.SuggestedUnitType).
// USCCUnitRegistryDown is unreachable.
type UnitRegistry struct {
	units map[string]models.UnitRecord // USCC → record
}

var _ models.UnitRegistry = (*UnitRegistry)(nil)

// NewUnitRegistry returns a registry of units whose legal representatives
// are found by name among people. It panics on a unit whose code does not
// parse or whose legal representative is not among people: the demo data
// is code, and a unit nobody can bind would make a demo fail for the
// wrong reason.
func NewUnitRegistry(units []DemoUnit, people []DemoPerson) *UnitRegistry {
	ids := make(map[string]string, len(people))
	for _, p := range people {
		ids[p.Name] = p.IDNumber
	}
	r := &UnitRegistry{units: make(map[string]models.UnitRecord, len(units))}
	for _, u := range units {
		code, err := models.ParseUSCC(u.USCC)
		if err != nil {
			panic(fmt.Sprintf("sandbox unit %s: %v", u.USCC, err))
		}
		id, ok := ids[u.LegalRep]
		if !ok {
			panic(fmt.Sprintf("sandbox unit %s: legal representative %s is not a demo person", u.USCC, u.LegalRep))
		}
		if !u.Type.Valid() || len(u.Region) != 6 || u.Name == "" {
			panic(fmt.Sprintf("sandbox unit %s: needs a name, a unit type and a 6-digit region", u.USCC))
		}
		r.units[code.Code] = models.UnitRecord{USCC: code.Code, Name: u.Name, Type: u.Type, Region: u.Region,
			LegalRepName: u.LegalRep, LegalRepIDNumber: id}
	}
	return r
}

// LookupUnit implements models.UnitRegistry.
func (r *UnitRegistry) LookupUnit(ctx context.Context, uscc models.USCC) (models.UnitRecord, error) {
	if err := ctx.Err(); err != nil {
		return models.UnitRecord{}, models.ErrUnavailable
	}
	if uscc.Code == USCCUnitRegistryDown {
		return models.UnitRecord{}, models.ErrUnavailable
	}
	u, ok := r.units[uscc.Code]
	if !ok {
		return models.UnitRecord{}, models.ErrUnitUnknown
	}
	return u, nil
}
