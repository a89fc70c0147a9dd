package models

import (
	"errors"
	"fmt"
	"slices"
)

// The rules of what a unit and its employees owe each month (单位社保费核定).
//
// Base: the employee's declared monthly wage clamped to the region's
// limits for the period's year, 60%–300% of the prior-year average wage.
// These are the same published figures as the flexible workers' pension
// base (内人社办发〔2025〕160号 publishes one 缴费基数 range for 2025), so
// they are read from PolicyYear.FlexiblePension rather than copied; one
// base serves every unit scheme.
//
// Rounding, the one rule: each part — the unit's and the individual's —
// is base × rate rounded half up to the fen (Fen.MulBP), per employee, per
// scheme, per month; a scheme's totals are the plain sums of those parts.
// So a line an employee sees always adds up to the unit's total.

// UnitSchemeRates are one unit scheme's rates in one region: the unit's
// part and the part withheld from the employee, in basis points of the
// base, with their source.
type UnitSchemeRates struct {
	UnitBP       int64        `json:"unit_bp" yaml:"unit_bp"`
	IndividualBP int64        `json:"individual_bp" yaml:"individual_bp"`
	Source       PolicySource `json:"source" yaml:"source"`
	Verified     bool         `json:"verified" yaml:"verified"`
}

// UnitRates are a region's rates of the four unit schemes. Medical
// includes maternity insurance (生育保险, merged into 职工医保 since 2019).
type UnitRates struct {
	EnterprisePension  UnitSchemeRates `json:"enterprise_pension" yaml:"enterprise_pension"`
	EnterpriseMedical  UnitSchemeRates `json:"enterprise_medical" yaml:"enterprise_medical"`
	InstitutionPension UnitSchemeRates `json:"institution_pension" yaml:"institution_pension"`
	InstitutionMedical UnitSchemeRates `json:"institution_medical" yaml:"institution_medical"`
}

// For returns the rates of a unit scheme; false for any other scheme.
func (r UnitRates) For(s Scheme) (UnitSchemeRates, bool) {
	switch s {
	case SchemeEnterprisePension:
		return r.EnterprisePension, true
	case SchemeEnterpriseMedical:
		return r.EnterpriseMedical, true
	case SchemeInstitutionPension:
		return r.InstitutionPension, true
	case SchemeInstitutionMedical:
		return r.InstitutionMedical, true
	}
	return UnitSchemeRates{}, false
}

func (r UnitRates) clone() UnitRates {
	r.EnterprisePension.Source = cloneSource(r.EnterprisePension.Source)
	r.EnterpriseMedical.Source = cloneSource(r.EnterpriseMedical.Source)
	r.InstitutionPension.Source = cloneSource(r.InstitutionPension.Source)
	r.InstitutionMedical.Source = cloneSource(r.InstitutionMedical.Source)
	return r
}

func validateUnitRates(r UnitRates) error {
	for _, s := range UnitSchemes {
		sr, _ := r.For(s)
		switch {
		case sr.UnitBP <= 0 || sr.UnitBP > 10000:
			return fmt.Errorf("%s: unit_bp %d not in 1..10000", s, sr.UnitBP)
		case sr.IndividualBP < 0 || sr.IndividualBP > 10000:
			return fmt.Errorf("%s: individual_bp %d not in 0..10000", s, sr.IndividualBP)
		case sr.UnitBP+sr.IndividualBP > 10000:
			return fmt.Errorf("%s: unit_bp + individual_bp over 100%%", s)
		}
		if err := validateSource(sr.Source, sr.Verified); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// UnitRatesFrom are every region's unit rates from FromYear on, until the
// FromYear of the next entry. Rates change rarely (the pension cut to 16%
// of 2019-05), so they are not repeated per year.
type UnitRatesFrom struct {
	FromYear int
	Regions  map[string]UnitRates // region code → rates
}

// WithUnitRates returns a copy of the book with unit rates. Entries must
// ascend by FromYear, the first must start no later than the book's first
// year (no year without rates), and each must give every region of the
// book valid rates with sources.
func (b *PolicyBook) WithUnitRates(entries []UnitRatesFrom) (*PolicyBook, error) {
	if len(entries) == 0 {
		return nil, errors.New("policy: unit_rates: no entries")
	}
	if entries[0].FromYear > b.first {
		return nil, fmt.Errorf("policy: unit_rates: first entry from %d, but the book starts %d", entries[0].FromYear, b.first)
	}
	out := make([]UnitRatesFrom, 0, len(entries))
	for i, e := range entries {
		if i > 0 && e.FromYear <= entries[i-1].FromYear {
			return nil, fmt.Errorf("policy: unit_rates: from years must ascend, got %d after %d", e.FromYear, entries[i-1].FromYear)
		}
		c := UnitRatesFrom{FromYear: e.FromYear, Regions: make(map[string]UnitRates, len(e.Regions))}
		for code, r := range e.Regions {
			if _, ok := b.Region(code); !ok {
				return nil, fmt.Errorf("policy: unit_rates from %d: unknown region %q", e.FromYear, code)
			}
			if err := validateUnitRates(r); err != nil {
				return nil, fmt.Errorf("policy: unit_rates from %d, region %s: %w", e.FromYear, code, err)
			}
			c.Regions[code] = r.clone()
		}
		for _, r := range b.regions {
			if _, ok := c.Regions[r.Code]; !ok {
				return nil, fmt.Errorf("policy: unit_rates from %d: region %s has no rates", e.FromYear, r.Code)
			}
		}
		out = append(out, c)
	}
	c := *b
	c.unitRates = out
	return &c, nil
}

// UnitTerms is everything the unit rules need for one region and month:
// the base limits of the period's year and the rates in force.
type UnitTerms struct {
	Region         string
	RegionName     string
	Period         Period
	PolicyVersion  string
	Provisional    bool // the year's base figures are carried over, not yet published (调差 later)
	AverageWageFen Fen
	BaseMinFen     Fen
	BaseMaxFen     Fen
	BaseSource     PolicySource
	BaseVerified   bool
	Rates          UnitRates
}

// UnitTerms returns the terms of a region and period. An unknown region is
// ErrRegionInvalid; a year outside the book, or a book loaded without unit
// rates, is ErrPolicyUnavailable.
func (b *PolicyBook) UnitTerms(region string, p Period) (UnitTerms, error) {
	y, err := b.Year(region, p.Year)
	if err != nil {
		return UnitTerms{}, err
	}
	i := slices.IndexFunc(b.unitRates, func(e UnitRatesFrom) bool { return e.FromYear > p.Year })
	if i < 0 {
		i = len(b.unitRates)
	}
	if i == 0 {
		return UnitTerms{}, ErrPolicyUnavailable.WithReason("暂无该地区该年度的单位缴费费率")
	}
	fp := y.FlexiblePension
	return UnitTerms{
		Region:         region,
		RegionName:     y.RegionName,
		Period:         p,
		PolicyVersion:  b.version,
		Provisional:    y.Provisional,
		AverageWageFen: fp.AverageWageFen,
		BaseMinFen:     fp.BaseMinFen,
		BaseMaxFen:     fp.BaseMaxFen,
		BaseSource:     fp.Source,
		BaseVerified:   fp.Verified,
		Rates:          b.unitRates[i-1].Regions[region].clone(),
	}, nil
}

// ContributionBase is an employee's 缴费基数: the declared wage, validated
// (ValidateWage), clamped into [BaseMinFen, BaseMaxFen].
func (t UnitTerms) ContributionBase(wage Fen) (Fen, error) {
	if err := ValidateWage(wage); err != nil {
		return 0, err
	}
	return min(max(wage, t.BaseMinFen), t.BaseMaxFen), nil
}

// EmployeeAssessment is one employee's month of one scheme.
type EmployeeAssessment struct {
	Scheme        Scheme
	WageFen       Fen // as declared
	BaseFen       Fen // clamped
	UnitFen       Fen
	IndividualFen Fen
}

// TotalFen is the unit's and the individual's parts together.
func (a EmployeeAssessment) TotalFen() Fen { return a.UnitFen + a.IndividualFen }

// AssessEmployee computes one employee's parts of a unit scheme for the
// month: each part rounded half up to the fen on its own.
func (t UnitTerms) AssessEmployee(s Scheme, wage Fen) (EmployeeAssessment, error) {
	rates, ok := t.Rates.For(s)
	if !ok {
		return EmployeeAssessment{}, ErrSchemeInvalid.WithReason("不是单位险种：" + string(s))
	}
	base, err := t.ContributionBase(wage)
	if err != nil {
		return EmployeeAssessment{}, err
	}
	return EmployeeAssessment{
		Scheme:        s,
		WageFen:       wage,
		BaseFen:       base,
		UnitFen:       base.MulBP(rates.UnitBP),
		IndividualFen: base.MulBP(rates.IndividualBP),
	}, nil
}

// SchemeAssessment is a unit's month of one scheme: the sums of its
// employees' parts, and the parts themselves in the order given.
type SchemeAssessment struct {
	Scheme        Scheme
	Headcount     int
	BaseFen       Fen
	UnitFen       Fen
	IndividualFen Fen
	TotalFen      Fen
	Employees     []EmployeeAssessment
}

// AssessScheme computes a unit's month of one scheme from its employees'
// declared wages. Any bad wage fails the whole assessment, its error
// naming the employee's position (1-based) in wages, so that nothing is
// declared from a partly wrong roster.
func (t UnitTerms) AssessScheme(s Scheme, wages []Fen) (SchemeAssessment, error) {
	if _, ok := t.Rates.For(s); !ok {
		return SchemeAssessment{}, ErrSchemeInvalid.WithReason("不是单位险种：" + string(s))
	}
	out := SchemeAssessment{Scheme: s, Headcount: len(wages), Employees: make([]EmployeeAssessment, 0, len(wages))}
	for i, w := range wages {
		a, err := t.AssessEmployee(s, w)
		if err != nil {
			if e, ok := AsError(err); ok {
				return SchemeAssessment{}, e.WithReason(fmt.Sprintf("第%d人：%s", i+1, e.Reason))
			}
			return SchemeAssessment{}, err
		}
		out.BaseFen += a.BaseFen
		out.UnitFen += a.UnitFen
		out.IndividualFen += a.IndividualFen
		out.Employees = append(out.Employees, a)
	}
	out.TotalFen = out.UnitFen + out.IndividualFen
	return out, nil
}
