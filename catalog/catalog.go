// Package catalog holds the data lianban serves as reference: the ten
// businesses of the 一厅联办 hall (services.yaml) and the fee policy per year
// and 盟市 (policy.yaml). Both files are embedded in the binary, so the
// figures a build charges are the figures that were reviewed with it, and
// both are parsed strictly: an unknown or misspelt key is an error, not a
// silently ignored figure.
package catalog

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/lianban/lianban/models"
)

// The embedded files are strings so that nothing can modify them at run
// time.
//
//go:embed services.yaml
var servicesYAML string

//go:embed policy.yaml
var policyYAML string

// Catalog is the parsed, validated reference data.
type Catalog struct {
	Services []models.Service
	Policy   *models.PolicyBook
}

// Load parses and validates the embedded files. It does the work on every
// call, keeping no package state: call it once at start-up and share the
// result, which is read-only.
func Load() (*Catalog, error) { return load([]byte(servicesYAML), []byte(policyYAML)) }

func load(servicesSrc, policySrc []byte) (*Catalog, error) {
	services, err := parseServices(servicesSrc)
	if err != nil {
		return nil, fmt.Errorf("catalog: services.yaml: %w", err)
	}
	book, err := parsePolicy(policySrc)
	if err != nil {
		return nil, fmt.Errorf("catalog: policy.yaml: %w", err)
	}
	return &Catalog{Services: services, Policy: book}, nil
}

// decodeStrict decodes exactly one YAML document into v, refusing keys v
// does not have.
func decodeStrict(src []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty document")
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

type servicesFile struct {
	Services []models.Service `yaml:"services"`
}

var serviceCode = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// ways are the three 办理方式 the seed uses.
var ways = []string{"现场办理", "网络办理", "掌上办理"}

func parseServices(src []byte) ([]models.Service, error) {
	var f servicesFile
	if err := decodeStrict(src, &f); err != nil {
		return nil, err
	}
	if len(f.Services) == 0 {
		return nil, errors.New("no services")
	}
	seen := make(map[string]bool, len(f.Services))
	for _, s := range f.Services {
		if err := validateService(s); err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Code, err)
		}
		if seen[s.Code] {
			return nil, fmt.Errorf("service %q listed twice", s.Code)
		}
		seen[s.Code] = true
	}
	return f.Services, nil
}

func validateService(s models.Service) error {
	switch {
	case !serviceCode.MatchString(s.Code):
		return errors.New("code must be snake_case")
	case s.Department != models.DeptMedicalInsurance && s.Department != models.DeptSocialInsurance && s.Department != models.DeptTax:
		return fmt.Errorf("unknown department %q", s.Department)
	case s.Name == "" || s.Who == "" || s.TimeLimit == "" || s.ResultDelivery == "":
		return errors.New("name, who, time_limit and result_delivery are required")
	case len(s.Ways) == 0 || len(s.Channels) == 0 || len(s.Steps) == 0 || len(s.Conditions) == 0:
		return errors.New("ways, channels, steps and conditions must not be empty")
	}
	for _, w := range s.Ways {
		if !slices.Contains(ways, w) {
			return fmt.Errorf("way %q is not one of %v", w, ways)
		}
	}
	for _, list := range [][]string{s.Channels, s.Steps, s.Conditions} {
		if slices.Contains(list, "") {
			return errors.New("empty entry in channels, steps or conditions")
		}
	}
	for _, m := range s.Materials {
		if m.Name == "" || m.Copies < 1 {
			return fmt.Errorf("material %q needs a name and at least one copy", m.Name)
		}
	}
	for _, f := range s.Compiled {
		if !slices.Contains(compilable, f) {
			return fmt.Errorf("compiled names %q, not one of %v", f, compilable)
		}
	}
	if len(s.OnlineSteps) > 0 && !slices.Contains(s.Compiled, "online_steps") {
		return errors.New("online_steps are never the seed's: list them in compiled")
	}
	for _, st := range s.OnlineSteps {
		if st.Step == "" || len(st.Operations) == 0 {
			return fmt.Errorf("online step %q needs its text and the operations that do it", st.Step)
		}
		for _, op := range st.Operations {
			if !operationID.MatchString(op) {
				return fmt.Errorf("online step %q: %q is not an operationId", st.Step, op)
			}
		}
	}
	return nil
}

// compilable are the fields Compiled may name: those the seed leaves
// empty for some business, and online_steps.
var compilable = []string{"who", "ways", "channels", "steps", "materials", "time_limit", "conditions", "result_delivery", "online_steps"}

// operationID is the shape of miniprogram-api.yaml's operationIds.
var operationID = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)

// policyFile is policy.yaml: per year a defaults block for every region
// and overrides that change single fields for one region.
type policyFile struct {
	Version                           string                               `yaml:"version"`
	FemaleFlexibleRetirementAge       int                                  `yaml:"female_flexible_retirement_age"`
	FemaleFlexibleRetirementAgeSource string                               `yaml:"female_flexible_retirement_age_source"`
	Regions                           []models.Region                      `yaml:"regions"`
	Years                             []policyYearBlock                    `yaml:"years"`
	RegionRules                       regionRulesBlock                     `yaml:"region_rules"`
	AssistedGroupStatuses             map[string][]models.AssistanceStatus `yaml:"assisted_group_statuses"`
	UnitRates                         []unitRatesBlock                     `yaml:"unit_rates"`
}

// unitRatesBlock is one entry of unit_rates: the rates of the four unit
// schemes from a year on, for every region (defaults) and per region code
// the scheme blocks that differ.
type unitRatesBlock struct {
	FromYear  int                  `yaml:"from_year"`
	Defaults  models.UnitRates     `yaml:"defaults"`
	Overrides map[string]yaml.Node `yaml:"overrides"`
}

// regionRulesBlock is region_rules: rules every region has (defaults) and
// per region code the fields that differ. The female retirement age
// defaults to the top-level female_flexible_retirement_age.
type regionRulesBlock struct {
	Defaults  models.RegionRules   `yaml:"defaults"`
	Overrides map[string]yaml.Node `yaml:"overrides"`
}

type policyYearBlock struct {
	Year        int                  `yaml:"year"`
	Provisional bool                 `yaml:"provisional"`
	Source      string               `yaml:"source"`
	Defaults    schemeFigures        `yaml:"defaults"`
	Overrides   map[string]yaml.Node `yaml:"overrides"`
}

type schemeFigures struct {
	FlexiblePension models.FlexiblePensionPolicy `yaml:"flexible_pension"`
	FlexibleMedical models.FlexibleMedicalPolicy `yaml:"flexible_medical"`
	ResidentMedical models.ResidentMedicalPolicy `yaml:"resident_medical"`
	ResidentPension models.ResidentPensionPolicy `yaml:"resident_pension"`
}

func parsePolicy(src []byte) (*models.PolicyBook, error) {
	var f policyFile
	if err := decodeStrict(src, &f); err != nil {
		return nil, err
	}
	if f.FemaleFlexibleRetirementAgeSource == "" {
		return nil, errors.New("female_flexible_retirement_age_source is empty")
	}
	known := make(map[string]bool, len(f.Regions))
	for _, r := range f.Regions {
		known[r.Code] = true
	}
	if err := checkBlocksNameTheirSources(src); err != nil {
		return nil, err
	}
	var years []models.PolicyYear
	for _, block := range f.Years {
		if block.Source == "" {
			return nil, fmt.Errorf("year %d: source is empty", block.Year)
		}
		for code := range block.Overrides {
			if !known[code] {
				return nil, fmt.Errorf("year %d: override for unknown region %q", block.Year, code)
			}
		}
		for _, r := range f.Regions {
			figures := block.Defaults.clone()
			if node, ok := block.Overrides[r.Code]; ok {
				if err := applyOverride(&figures, &node); err != nil {
					return nil, fmt.Errorf("year %d, region %s: %w", block.Year, r.Code, err)
				}
			}
			years = append(years, models.PolicyYear{
				Region:          r.Code,
				RegionName:      r.Name,
				Year:            block.Year,
				Provisional:     block.Provisional,
				Source:          block.Source,
				FlexiblePension: figures.FlexiblePension,
				FlexibleMedical: figures.FlexibleMedical,
				ResidentMedical: figures.ResidentMedical,
				ResidentPension: figures.ResidentPension,
			})
		}
	}
	book, err := models.NewPolicyBook(f.Version, f.FemaleFlexibleRetirementAge, f.Regions, years)
	if err != nil {
		return nil, err
	}
	rules, err := f.regionRules()
	if err != nil {
		return nil, err
	}
	if book, err = book.WithRegionRules(rules); err != nil {
		return nil, err
	}
	unitRates, err := f.unitRates(src)
	if err != nil {
		return nil, err
	}
	if book, err = book.WithUnitRates(unitRates); err != nil {
		return nil, err
	}
	return book.WithAssistedStatuses(f.AssistedGroupStatuses)
}

// unitSchemeKeys are the scheme blocks of a unit_rates defaults block or
// override.
var unitSchemeKeys = []string{"enterprise_pension", "enterprise_medical", "institution_pension", "institution_medical"}

// unitRates resolves unit_rates for every region: the entry's defaults,
// then the region's override. Like the yearly figures, every scheme block
// of the defaults and every block an override touches must state its own
// source and verified flag.
func (f policyFile) unitRates(src []byte) ([]models.UnitRatesFrom, error) {
	var raw struct {
		UnitRates []struct {
			FromYear  int                             `yaml:"from_year"`
			Defaults  map[string]yaml.Node            `yaml:"defaults"`
			Overrides map[string]map[string]yaml.Node `yaml:"overrides"`
		} `yaml:"unit_rates"`
	}
	if err := yaml.Unmarshal(src, &raw); err != nil {
		return nil, err
	}
	for _, e := range raw.UnitRates {
		for _, scheme := range unitSchemeKeys {
			node, ok := e.Defaults[scheme]
			if !ok {
				return nil, fmt.Errorf("unit_rates from %d: defaults has no %s block", e.FromYear, scheme)
			}
			if err := hasOwnSource(&node); err != nil {
				return nil, fmt.Errorf("unit_rates from %d, defaults, %s: %w", e.FromYear, scheme, err)
			}
		}
		for code, blocks := range e.Overrides {
			for scheme, node := range blocks {
				if err := hasOwnSource(&node); err != nil {
					return nil, fmt.Errorf("unit_rates from %d, override %s, %s: %w", e.FromYear, code, scheme, err)
				}
			}
		}
	}
	known := make(map[string]bool, len(f.Regions))
	for _, r := range f.Regions {
		known[r.Code] = true
	}
	out := make([]models.UnitRatesFrom, 0, len(f.UnitRates))
	for _, e := range f.UnitRates {
		for code := range e.Overrides {
			if !known[code] {
				return nil, fmt.Errorf("unit_rates from %d: override for unknown region %q", e.FromYear, code)
			}
		}
		entry := models.UnitRatesFrom{FromYear: e.FromYear, Regions: make(map[string]models.UnitRates, len(f.Regions))}
		for _, r := range f.Regions {
			rates := e.Defaults
			if node, ok := e.Overrides[r.Code]; ok {
				src, err := yaml.Marshal(expandAliases(&node))
				if err != nil {
					return nil, err
				}
				if err := decodeStrict(src, &rates); err != nil {
					return nil, fmt.Errorf("unit_rates from %d, region %s: %w", e.FromYear, r.Code, err)
				}
			}
			entry.Regions[r.Code] = rates
		}
		out = append(out, entry)
	}
	return out, nil
}

// regionRules resolves region_rules for every region: defaults, the
// top-level female age where the defaults leave it out, then the region's
// override.
func (f policyFile) regionRules() (map[string]models.RegionRules, error) {
	d := f.RegionRules.Defaults
	if d.FemaleFlexibleRetirementAge == 0 {
		d.FemaleFlexibleRetirementAge = f.FemaleFlexibleRetirementAge
		d.FemaleFlexibleRetirementAgeSource = f.FemaleFlexibleRetirementAgeSource
	}
	known := make(map[string]bool, len(f.Regions))
	out := make(map[string]models.RegionRules, len(f.Regions))
	for _, r := range f.Regions {
		known[r.Code] = true
		rules := d
		if node, ok := f.RegionRules.Overrides[r.Code]; ok {
			src, err := yaml.Marshal(expandAliases(&node))
			if err != nil {
				return nil, err
			}
			if err := decodeStrict(src, &rules); err != nil {
				return nil, fmt.Errorf("region_rules %s: %w", r.Code, err)
			}
		}
		out[r.Code] = rules
	}
	for code := range f.RegionRules.Overrides {
		if !known[code] {
			return nil, fmt.Errorf("region_rules: override for unknown region %q", code)
		}
	}
	return out, nil
}

// schemeKeys are the scheme blocks of a defaults block or an override.
var schemeKeys = []string{"flexible_pension", "flexible_medical", "resident_medical", "resident_pension"}

// checkBlocksNameTheirSources requires every scheme block of every year's
// defaults, and every scheme block an override touches, to state its own
// `source` and `verified`. Decoding alone cannot see this: a block built on
// a YAML anchor (`<<: *x`) or a region override would silently inherit the
// source and the verified flag of figures from another year or region.
func checkBlocksNameTheirSources(src []byte) error {
	var raw struct {
		Years []struct {
			Year      int                             `yaml:"year"`
			Defaults  map[string]yaml.Node            `yaml:"defaults"`
			Overrides map[string]map[string]yaml.Node `yaml:"overrides"`
		} `yaml:"years"`
	}
	if err := yaml.Unmarshal(src, &raw); err != nil {
		return err
	}
	for _, y := range raw.Years {
		for _, scheme := range schemeKeys {
			node, ok := y.Defaults[scheme]
			if !ok {
				return fmt.Errorf("year %d: defaults has no %s block", y.Year, scheme)
			}
			if err := hasOwnSource(&node); err != nil {
				return fmt.Errorf("year %d, defaults, %s: %w", y.Year, scheme, err)
			}
		}
		for code, blocks := range y.Overrides {
			for scheme, node := range blocks {
				if err := hasOwnSource(&node); err != nil {
					return fmt.Errorf("year %d, override %s, %s: %w", y.Year, code, scheme, err)
				}
			}
		}
	}
	return nil
}

// hasOwnSource checks a mapping lists `source` and `verified` itself, not
// through a merge key.
func hasOwnSource(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return errors.New("not a mapping")
	}
	var source, verified bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "source":
			source = true
		case "verified":
			verified = true
		}
	}
	if !source || !verified {
		return errors.New("needs its own source and verified (an inherited one describes other figures)")
	}
	return nil
}

// clone copies the slices so one region's override cannot reach into the
// defaults another region starts from.
func (s schemeFigures) clone() schemeFigures {
	s.FlexiblePension.GradesPercent = slices.Clone(s.FlexiblePension.GradesPercent)
	s.ResidentMedical.AssistedGroups = slices.Clone(s.ResidentMedical.AssistedGroups)
	s.ResidentPension.Grades = slices.Clone(s.ResidentPension.Grades)
	return s
}

// applyOverride decodes an override on top of figures: yaml.v3 sets only
// the keys present, so an override lists just what differs. The node is
// re-encoded and decoded with KnownFields, because Node.Decode would skip
// the strict check; aliases are expanded first since an alias to an anchor
// outside the override would not survive re-encoding on its own.
func applyOverride(figures *schemeFigures, node *yaml.Node) error {
	src, err := yaml.Marshal(expandAliases(node))
	if err != nil {
		return err
	}
	return decodeStrict(src, figures)
}

// expandAliases returns a copy of n with every alias replaced by a copy of
// the node it names and anchors dropped. YAML forbids alias cycles in the
// data yaml.v3 accepts, so the recursion ends.
func expandAliases(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return expandAliases(n.Alias)
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = expandAliases(child)
	}
	return &c
}
