package units

import (
	"context"
	"sort"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// SchemeTotal is a unit's month of one scheme: the sums of its employees'
// parts.
type SchemeTotal struct {
	Scheme        string `json:"scheme"`
	RegionCode    string `json:"region_code"`
	UnitFen       int64  `json:"unit_fen"`
	IndividualFen int64  `json:"individual_fen"`
	TotalFen      int64  `json:"total_fen"`
	Headcount     int    `json:"headcount"`
}

// PayableLine is one employee's month of one scheme as the agency
// assesses it.
type PayableLine struct {
	EmployeeID    string `json:"employee_id"`
	NameMasked    string `json:"name_masked"`
	Scheme        string `json:"scheme"`
	BaseFen       int64  `json:"base_fen"`
	UnitFen       int64  `json:"unit_fen"`
	IndividualFen int64  `json:"individual_fen"`
}

// Payables is a unit's 预处理数据 of one month: totals per scheme, a page
// of the employees' lines and the month's declaration, if any.
type Payables struct {
	Period        string        `json:"period"`
	UnitFen       int64         `json:"unit_fen"`
	IndividualFen int64         `json:"individual_fen"`
	TotalFen      int64         `json:"total_fen"`
	Schemes       []SchemeTotal `json:"schemes"`
	Lines         []PayableLine `json:"lines"`
	NextPageToken string        `json:"next_page_token,omitempty"`
	Declared      string        `json:"declared,omitempty"` // the month's declaration id
}

// assessment is a unit's month as the agency assesses it now: lines
// ordered by employee id, and totals per scheme in the order of the
// unit's registrations.
type assessment struct {
	period  models.Period
	lines   []store.UnitDeclarationLineRow // DeclarationID and ID unset
	schemes []SchemeTotal
}

// assess computes the month's assessment of every employee active in
// period, per registered scheme, with the rates of the scheme's
// registration region (models.UnitTerms.AssessScheme: each part rounded
// per employee; totals are sums).
func (s *Units) assess(ctx context.Context, unitID string, p models.Period) (assessment, error) {
	regs, err := s.registrations(ctx, unitID)
	if err != nil {
		return assessment{}, err
	}
	if len(regs) == 0 {
		return assessment{}, models.ErrUnitNotRegistered
	}
	per := p.String()
	var spells []store.UnitEmployeeRow
	if err := s.Conn(ctx).Where("unit_id = ? AND from_period <= ? AND (to_period = '' OR to_period >= ?)", unitID, per, per).
		Order("id").Find(&spells).Error; err != nil {
		return assessment{}, kernel.Internal("active employees", err)
	}
	out := assessment{period: p}
	for _, reg := range regs {
		var mine []store.UnitEmployeeRow
		wages := []models.Fen{}
		for _, sp := range spells {
			if sp.Scheme == reg.Scheme {
				mine = append(mine, sp)
				wages = append(wages, models.Fen(sp.WageFen))
			}
		}
		terms, err := s.Policy.UnitTerms(reg.RegionCode, p)
		if err != nil {
			return assessment{}, err
		}
		a, err := terms.AssessScheme(models.Scheme(reg.Scheme), wages)
		if err != nil {
			return assessment{}, err
		}
		out.schemes = append(out.schemes, SchemeTotal{Scheme: reg.Scheme, RegionCode: reg.RegionCode, UnitFen: int64(a.UnitFen),
			IndividualFen: int64(a.IndividualFen), TotalFen: int64(a.TotalFen), Headcount: a.Headcount})
		for i, e := range a.Employees {
			out.lines = append(out.lines, store.UnitDeclarationLineRow{EmployeeID: mine[i].ID, PersonID: mine[i].PersonID,
				Scheme: reg.Scheme, RegionCode: reg.RegionCode, BaseFen: int64(e.BaseFen), UnitFen: int64(e.UnitFen),
				IndividualFen: int64(e.IndividualFen), AmountFen: int64(e.TotalFen())})
		}
	}
	sort.Slice(out.lines, func(i, j int) bool { return out.lines[i].EmployeeID < out.lines[j].EmployeeID })
	return out, nil
}

// UnitPayables is the unit's 预处理数据 for period: totals per scheme and
// the page of employee lines after page.After (employee ids ascending).
func (s *Units) UnitPayables(ctx context.Context, userID, unitID, period string, page kernel.Page) (Payables, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return Payables{}, err
	}
	p, err := models.ParsePeriod(period)
	if err != nil {
		return Payables{}, err
	}
	a, err := s.assess(ctx, unitID, p)
	if err != nil {
		return Payables{}, err
	}
	out := Payables{Period: p.String(), Schemes: a.schemes, Lines: []PayableLine{}}
	for _, t := range a.schemes {
		out.UnitFen += t.UnitFen
		out.IndividualFen += t.IndividualFen
		out.TotalFen += t.TotalFen
	}
	from := sort.Search(len(a.lines), func(i int) bool { return a.lines[i].EmployeeID > page.After })
	to := min(from+page.Size, len(a.lines))
	lines := a.lines[from:to]
	if to < len(a.lines) && to > from {
		out.NextPageToken = lines[len(lines)-1].EmployeeID
	}
	if out.Lines, err = s.linesOf(ctx, lines); err != nil {
		return Payables{}, err
	}
	var d store.UnitDeclarationRow
	err = s.Conn(ctx).Where("unit_id = ? AND period = ? AND seq = 0", unitID, p.String()).Take(&d).Error
	if err != nil && !kernel.IsNotFound(err) {
		return Payables{}, kernel.Internal("load declaration", err)
	}
	out.Declared = d.ID
	return out, nil
}

// linesOf turns lines into what the unit sees, names masked.
func (s *Units) linesOf(ctx context.Context, lines []store.UnitDeclarationLineRow) ([]PayableLine, error) {
	ids := make([]string, 0, len(lines))
	for _, l := range lines {
		ids = append(ids, l.PersonID)
	}
	persons, err := s.personsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]PayableLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, PayableLine{EmployeeID: l.EmployeeID, NameMasked: models.MaskName(persons[l.PersonID].Name), Scheme: l.Scheme,
			BaseFen: l.BaseFen, UnitFen: l.UnitFen, IndividualFen: l.IndividualFen})
	}
	return out, nil
}
