package models

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// PolicyBook is the loaded fee policy: every 盟市's figures for a run of
// years, checked once at start-up so that a typo in the policy file stops
// the service instead of charging someone a wrong amount. It is immutable
// and safe for concurrent use; accessors return copies.
type PolicyBook struct {
	version   string
	femaleAge int
	regions   []Region
	years     map[string]map[int]PolicyYear // region code → year → figures
	first     int
	last      int
	rules     map[string]RegionRules        // region code → rules; see region_rules.go
	assisted  map[string][]AssistanceStatus // assisted group code → the statuses it covers
	unitRates []UnitRatesFrom               // ascending by FromYear; see unit_rules.go
}

// NewPolicyBook validates and indexes the policy. Every region must have
// every year from the first to the last with no gap, because a payable for
// a region and year must never find "no policy" in the middle of a range.
// A PolicyYear's RegionName may be left empty and is filled from regions.
func NewPolicyBook(version string, femaleFlexibleRetirementAge int, regions []Region, years []PolicyYear) (*PolicyBook, error) {
	if version == "" {
		return nil, errors.New("policy: version is empty")
	}
	if femaleFlexibleRetirementAge != 50 && femaleFlexibleRetirementAge != 55 {
		return nil, fmt.Errorf("policy: female_flexible_retirement_age must be 50 or 55, got %d", femaleFlexibleRetirementAge)
	}
	if len(regions) == 0 || len(years) == 0 {
		return nil, errors.New("policy: no regions or no years")
	}
	b := &PolicyBook{
		version:   version,
		femaleAge: femaleFlexibleRetirementAge,
		regions:   slices.Clone(regions),
		years:     make(map[string]map[int]PolicyYear, len(regions)),
	}
	names := make(map[string]string, len(regions))
	for _, r := range regions {
		if !isRegionCode(r.Code) || r.Name == "" {
			return nil, fmt.Errorf("policy: region %q %q: want a 6-digit code starting 15 and a name", r.Code, r.Name)
		}
		if _, dup := names[r.Code]; dup {
			return nil, fmt.Errorf("policy: region %s listed twice", r.Code)
		}
		names[r.Code] = r.Name
		b.years[r.Code] = make(map[int]PolicyYear)
	}
	b.first, b.last = years[0].Year, years[0].Year
	for _, y := range years {
		name, ok := names[y.Region]
		if !ok {
			return nil, fmt.Errorf("policy: year %d names unknown region %q", y.Year, y.Region)
		}
		if y.RegionName == "" {
			y.RegionName = name
		} else if y.RegionName != name {
			return nil, fmt.Errorf("policy %s %d: region name %q, want %q", y.Region, y.Year, y.RegionName, name)
		}
		if _, dup := b.years[y.Region][y.Year]; dup {
			return nil, fmt.Errorf("policy %s %d: listed twice", y.Region, y.Year)
		}
		if err := validatePolicyYear(y); err != nil {
			return nil, fmt.Errorf("policy %s %d: %w", y.Region, y.Year, err)
		}
		b.years[y.Region][y.Year] = clonePolicyYear(y)
		b.first, b.last = min(b.first, y.Year), max(b.last, y.Year)
	}
	for _, r := range regions {
		for year := b.first; year <= b.last; year++ {
			if _, ok := b.years[r.Code][year]; !ok {
				return nil, fmt.Errorf("policy %s %d: missing (every region needs every year %d–%d)", r.Code, year, b.first, b.last)
			}
		}
	}
	return b, nil
}

// isRegionCode accepts the 盟市-level codes of Inner Mongolia (15xx00).
func isRegionCode(s string) bool {
	if len(s) != 6 || s[:2] != "15" || s[4:] != "00" {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}

func validatePolicyYear(y PolicyYear) error {
	if y.Year < 2000 || y.Year > 2100 {
		return fmt.Errorf("year %d out of range", y.Year)
	}
	fp := y.FlexiblePension
	switch {
	case fp.AverageWageFen <= 0:
		return errors.New("flexible_pension: average_wage_fen must be positive")
	case fp.BaseMinFen <= 0 || fp.BaseMinFen > fp.BaseMaxFen:
		return fmt.Errorf("flexible_pension: need 0 < base_min_fen (%d) <= base_max_fen (%d)", fp.BaseMinFen, fp.BaseMaxFen)
	case fp.RateBP <= 0 || fp.RateBP > 10000:
		return fmt.Errorf("flexible_pension: rate_bp %d not in 1..10000", fp.RateBP)
	case fp.PooledBP < 0 || fp.PersonalBP < 0 || fp.PooledBP+fp.PersonalBP != fp.RateBP:
		return fmt.Errorf("flexible_pension: pooled_bp %d + personal_bp %d must equal rate_bp %d", fp.PooledBP, fp.PersonalBP, fp.RateBP)
	case len(fp.GradesPercent) == 0:
		return errors.New("flexible_pension: grades_percent is empty")
	}
	if err := validateSource(fp.Source, fp.Verified); err != nil {
		return fmt.Errorf("flexible_pension: %w", err)
	}
	for i, g := range fp.GradesPercent {
		if g <= 0 || (i > 0 && g <= fp.GradesPercent[i-1]) {
			return fmt.Errorf("flexible_pension: grades_percent must be positive and ascending, got %v", fp.GradesPercent)
		}
	}
	if err := validateWindow(fp.Window); err != nil {
		return fmt.Errorf("flexible_pension: %w", err)
	}

	fm := y.FlexibleMedical
	switch {
	case fm.BaseFen <= 0:
		return errors.New("flexible_medical: base_fen must be positive")
	case fm.CombinedBP <= 0 || fm.PoolingOnlyBP <= 0 || fm.CombinedBP > 10000 || fm.PoolingOnlyBP > 10000:
		return fmt.Errorf("flexible_medical: combined_bp %d and pooling_only_bp %d must be in 1..10000", fm.CombinedBP, fm.PoolingOnlyBP)
	case fm.LongTermCareBP < 0 || fm.LongTermCareBP > 10000:
		return fmt.Errorf("flexible_medical: long_term_care_bp %d not in 0..10000", fm.LongTermCareBP)
	case fm.LargeAmountYearFen < 0:
		return errors.New("flexible_medical: large_amount_year_fen is negative")
	}
	if err := validateSource(fm.Source, fm.Verified); err != nil {
		return fmt.Errorf("flexible_medical: %w", err)
	}
	if err := validateWindow(fm.Window); err != nil {
		return fmt.Errorf("flexible_medical: %w", err)
	}

	rm := y.ResidentMedical
	switch {
	case rm.AmountFen <= 0:
		return errors.New("resident_medical: amount_fen must be positive")
	case rm.SubsidyFen < 0:
		return errors.New("resident_medical: subsidy_fen is negative")
	}
	if err := validateSource(rm.Source, rm.Verified); err != nil {
		return fmt.Errorf("resident_medical: %w", err)
	}
	groups := make(map[string]bool, len(rm.AssistedGroups))
	for _, g := range rm.AssistedGroups {
		if g.Code == "" || g.Label == "" || groups[g.Code] {
			return fmt.Errorf("resident_medical: assisted group %q needs a unique code and a label", g.Code)
		}
		if g.AmountFen < 0 || g.AmountFen > rm.AmountFen {
			return fmt.Errorf("resident_medical: assisted group %s amount %d not in 0..%d", g.Code, g.AmountFen, rm.AmountFen)
		}
		groups[g.Code] = true
	}
	if err := validateWindow(rm.Window); err != nil {
		return fmt.Errorf("resident_medical: %w", err)
	}

	rp := y.ResidentPension
	if len(rp.Grades) == 0 && rp.Verified {
		return errors.New("resident_pension: no grades (only an unverified year may withhold them)")
	}
	if err := validateSource(rp.Source, rp.Verified); err != nil {
		return fmt.Errorf("resident_pension: %w", err)
	}
	for i, g := range rp.Grades {
		if g.AmountFen <= 0 || g.SubsidyFen < 0 || (i > 0 && g.AmountFen <= rp.Grades[i-1].AmountFen) {
			return fmt.Errorf("resident_pension: grades must be positive and ascending with non-negative subsidies, got %+v", rp.Grades)
		}
		if g.AmountFen%100 != 0 {
			// Grade codes are grade_<yuan>: a grade in fen would have no code.
			return fmt.Errorf("resident_pension: grade %d fen is not whole yuan", g.AmountFen)
		}
	}
	if err := validateWindow(rp.Window); err != nil {
		return fmt.Errorf("resident_pension: %w", err)
	}
	// A year is provisional exactly when some of its figures are carried
	// over, so the flag a client sees and the sources agree.
	carried := slices.ContainsFunc([]string{fp.Source.Tag, fm.Source.Tag, rm.Source.Tag, rp.Source.Tag},
		func(tag string) bool { return tag == SourceProvisional })
	switch {
	case carried && !y.Provisional:
		return errors.New("a block is sourced PROVISIONAL but the year is not provisional")
	case !carried && y.Provisional:
		return errors.New("the year is provisional but no block is sourced PROVISIONAL")
	}
	return nil
}

// validateWindow requires real YYYY-MM-DD dates (Window.Contains compares
// them as strings, which is only right for that exact form) with From <= To.
func validateWindow(w Window) error {
	for _, d := range []string{w.From, w.To} {
		if d == "" {
			continue
		}
		if t, err := time.Parse(time.DateOnly, d); err != nil || t.Format(time.DateOnly) != d {
			return fmt.Errorf("window date %q is not YYYY-MM-DD", d)
		}
	}
	if w.From != "" && w.To != "" && w.From > w.To {
		return fmt.Errorf("window %s → %s ends before it starts", w.From, w.To)
	}
	return nil
}

// clonePolicyYear copies the slices so neither the caller that built the
// book nor one that reads from it can change the figures inside it.
// Empty lists come back as empty, never nil, so getPolicy renders [] and
// not null.
func clonePolicyYear(y PolicyYear) PolicyYear {
	y.FlexiblePension.GradesPercent = cloneList(y.FlexiblePension.GradesPercent)
	y.ResidentMedical.AssistedGroups = cloneList(y.ResidentMedical.AssistedGroups)
	y.ResidentPension.Grades = cloneList(y.ResidentPension.Grades)
	y.FlexiblePension.Source = cloneSource(y.FlexiblePension.Source)
	y.FlexibleMedical.Source = cloneSource(y.FlexibleMedical.Source)
	y.ResidentMedical.Source = cloneSource(y.ResidentMedical.Source)
	y.ResidentPension.Source = cloneSource(y.ResidentPension.Source)
	return y
}

func cloneList[T any](s []T) []T { return append(make([]T, 0, len(s)), s...) }

// Version is the policy file's version, shown with every figure so a
// payment can be traced to the policy it was computed under.
func (b *PolicyBook) Version() string { return b.version }

// FemaleFlexibleRetirementAge is the default original retirement age (50
// or 55) of female flexible workers; a region may set its own, so the
// rules use Rules(region).FemaleFlexibleRetirementAge.
func (b *PolicyBook) FemaleFlexibleRetirementAge() int { return b.femaleAge }

// Regions lists the 盟市 in the order of the policy file.
func (b *PolicyBook) Regions() []Region { return slices.Clone(b.regions) }

// Region looks a 盟市 up by code.
func (b *PolicyBook) Region(code string) (Region, bool) {
	for _, r := range b.regions {
		if r.Code == code {
			return r, true
		}
	}
	return Region{}, false
}

// Year returns a region's figures for a year. An unknown region is
// ErrRegionInvalid; a known region without that year is
// ErrPolicyUnavailable, with the years that exist as the reason.
func (b *PolicyBook) Year(region string, year int) (PolicyYear, error) {
	byYear, ok := b.years[region]
	if !ok {
		return PolicyYear{}, ErrRegionInvalid
	}
	y, ok := byYear[year]
	if !ok {
		return PolicyYear{}, ErrPolicyUnavailable.WithReason(fmt.Sprintf("目前可查询%d年至%d年的缴费标准", b.first, b.last))
	}
	return clonePolicyYear(y), nil
}

// Years returns the first and last year every region has figures for.
func (b *PolicyBook) Years() (first, last int) { return b.first, b.last }
