package models

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// RegionRules are the rules of one 盟市 that are policy rather than fee
// figures and that the fee rules need: which original retirement age its
// female flexible workers have, and in which month its flexible medical
// policy year starts. Each carries its source, like every figure in the
// policy file. (Whether a flexible medical amount is a published figure
// or the agency's assessment follows the figures' own verified flag.)
type RegionRules struct {
	FemaleFlexibleRetirementAge       int    `json:"female_flexible_retirement_age" yaml:"female_flexible_retirement_age"`
	FemaleFlexibleRetirementAgeSource string `json:"female_flexible_retirement_age_source" yaml:"female_flexible_retirement_age_source"`
	// FlexibleMedicalYearStartMonth is 1 for a calendar policy year, or the
	// month (e.g. 7) in which the region adjusts its medical base each
	// year; that policy year takes the figures of the year it starts in.
	FlexibleMedicalYearStartMonth  int          `json:"flexible_medical_year_start_month" yaml:"flexible_medical_year_start_month"`
	FlexibleMedicalYearStartSource PolicySource `json:"flexible_medical_year_start_source" yaml:"flexible_medical_year_start_source"`
}

// How a flexible medical amount is known (Payable.amount_basis).
const (
	MedicalAmountPublished = "published" // computed from the region's verified figures
	MedicalAmountAssessed  = "assessed"  // the agency's assessment (核定) for the person
)

func validateRegionRules(r RegionRules) error {
	switch {
	case r.FemaleFlexibleRetirementAge != 50 && r.FemaleFlexibleRetirementAge != 55:
		return fmt.Errorf("female_flexible_retirement_age must be 50 or 55, got %d", r.FemaleFlexibleRetirementAge)
	case r.FemaleFlexibleRetirementAgeSource == "":
		return errors.New("female_flexible_retirement_age_source is empty")
	case r.FlexibleMedicalYearStartMonth < 1 || r.FlexibleMedicalYearStartMonth > 12:
		return fmt.Errorf("flexible_medical_year_start_month %d not in 1..12", r.FlexibleMedicalYearStartMonth)
	}
	if err := validateSource(r.FlexibleMedicalYearStartSource, false); err != nil {
		return fmt.Errorf("flexible_medical_year_start_source: %w", err)
	}
	return nil
}

// defaultRegionRules are the rules of a region the policy file does not
// describe: the book's female age and a calendar medical year.
func (b *PolicyBook) defaultRegionRules() RegionRules {
	return RegionRules{
		FemaleFlexibleRetirementAge:       b.femaleAge,
		FemaleFlexibleRetirementAgeSource: "默认值（政策文件未单列本盟市）",
		FlexibleMedicalYearStartMonth:     1,
		FlexibleMedicalYearStartSource: PolicySource{SourceRef: SourceRef{Tag: SourceUnverified, Title: "默认按自然年度"},
			Note: "政策文件未单列本盟市的医保年度"},
	}
}

// WithRegionRules returns a copy of the book with rules for the regions
// listed; the others keep the defaults. An unknown region or a rule out
// of range is an error, as for any figure.
func (b *PolicyBook) WithRegionRules(rules map[string]RegionRules) (*PolicyBook, error) {
	for code, r := range rules {
		if _, ok := b.Region(code); !ok {
			return nil, fmt.Errorf("policy: region rules for unknown region %q", code)
		}
		if err := validateRegionRules(r); err != nil {
			return nil, fmt.Errorf("policy: region rules %s: %w", code, err)
		}
	}
	c := *b
	c.rules = maps.Clone(rules)
	return &c, nil
}

// Rules returns a region's rules (the defaults for a region without its
// own).
// The source's list is copied (and never nil, so it renders as []).
func (b *PolicyBook) Rules(region string) RegionRules {
	r, ok := b.rules[region]
	if !ok {
		r = b.defaultRegionRules()
	}
	r.FlexibleMedicalYearStartSource = cloneSource(r.FlexibleMedicalYearStartSource)
	return r
}

// WithAssistedStatuses returns a copy of the book that knows which civil
// affairs statuses each assisted group code of the policy covers. Every
// group code any year uses must be mapped, so that nobody in a group the
// notice names is charged the standard amount for want of a mapping.
func (b *PolicyBook) WithAssistedStatuses(m map[string][]AssistanceStatus) (*PolicyBook, error) {
	for code, statuses := range m {
		if len(statuses) == 0 {
			return nil, fmt.Errorf("policy: assisted group %q covers no status", code)
		}
		for _, s := range statuses {
			if !s.Valid() {
				return nil, fmt.Errorf("policy: assisted group %q: unknown status %q", code, s)
			}
		}
	}
	for _, byYear := range b.years {
		for _, y := range byYear {
			for _, g := range y.ResidentMedical.AssistedGroups {
				if _, ok := m[g.Code]; !ok {
					return nil, fmt.Errorf("policy %s %d: assisted group %q has no statuses", y.Region, y.Year, g.Code)
				}
			}
		}
	}
	c := *b
	c.assisted = make(map[string][]AssistanceStatus, len(m))
	for k, v := range m {
		c.assisted[k] = slices.Clone(v)
	}
	return &c, nil
}

// CarriedForwardTo returns a copy of the book that also has every year
// after its last up to year, each a copy of the last published year's
// figures with the windows moved by the years between, marked provisional
// and saying so in its sources. It is for tests whose clock is the wall
// clock (the payment SDKs check timestamps against it): on a date the
// policy file does not cover they need some figures, and these are never
// passed off as published ones.
func (b *PolicyBook) CarriedForwardTo(year int) *PolicyBook {
	if year <= b.last {
		return b
	}
	c := *b
	c.years = make(map[string]map[int]PolicyYear, len(b.years))
	for code, byYear := range b.years {
		c.years[code] = maps.Clone(byYear)
		from := byYear[b.last]
		for y := b.last + 1; y <= year; y++ {
			n := clonePolicyYear(from)
			shift := y - b.last
			n.Year, n.Provisional = y, true
			title := fmt.Sprintf("暂定：%d年度标准未公布，沿用%d年度", y, b.last)
			n.Source = "[暂定] " + title + "：" + from.Source
			n.FlexiblePension.Window = shiftWindow(from.FlexiblePension.Window, shift)
			n.FlexiblePension.Source, n.FlexiblePension.Verified = carriedSource(title, from.FlexiblePension.Source), false
			n.FlexibleMedical.Window = shiftWindow(from.FlexibleMedical.Window, shift)
			n.FlexibleMedical.Source, n.FlexibleMedical.Verified = carriedSource(title, from.FlexibleMedical.Source), false
			n.ResidentMedical.Window = shiftWindow(from.ResidentMedical.Window, shift)
			n.ResidentMedical.Source, n.ResidentMedical.Verified = carriedSource(title, from.ResidentMedical.Source), false
			n.ResidentPension.Window = shiftWindow(from.ResidentPension.Window, shift)
			n.ResidentPension.Source, n.ResidentPension.Verified = carriedSource(title, from.ResidentPension.Source), false
			c.years[code][y] = n
		}
	}
	c.last = year
	return &c
}

// carriedSource is the source of a block carried over: provisional, and
// naming the source of the figures it copies.
func carriedSource(title string, from PolicySource) PolicySource {
	return PolicySource{SourceRef: SourceRef{Tag: SourceProvisional, Title: title},
		Note: "[暂定] " + title + "，公布后调差；原注：" + from.Note,
		Also: append([]SourceRef{from.SourceRef}, from.Also...)}
}

func shiftWindow(w Window, years int) Window {
	shift := func(d string) string {
		if d == "" {
			return ""
		}
		t, _ := time.Parse(time.DateOnly, d)
		return t.AddDate(years, 0, 0).Format(time.DateOnly)
	}
	return Window{From: shift(w.From), To: shift(w.To)}
}

// WithFlexibleWindowsOpen returns a copy of the book in which the flexible
// schemes' collection windows of year span the whole calendar year. It is
// for tests whose clock is the wall clock and that test payment channels,
// not collection windows: a notice's window (2025: 10-09 to 12-20) would
// make them fail on most days of the year with no change to the code.
// Sandbox mode uses it too, so the README's walk-through works on any day.
func (b *PolicyBook) WithFlexibleWindowsOpen(year int) *PolicyBook {
	whole := Window{From: fmt.Sprintf("%04d-01-01", year), To: fmt.Sprintf("%04d-12-31", year)}
	c := *b
	c.years = make(map[string]map[int]PolicyYear, len(b.years))
	for code, byYear := range b.years {
		c.years[code] = maps.Clone(byYear)
		if y, ok := byYear[year]; ok {
			y.FlexiblePension.Window, y.FlexibleMedical.Window = whole, whole
			c.years[code][year] = y
		}
	}
	return &c
}
