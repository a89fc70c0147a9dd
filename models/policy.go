package models

// The fee policy is data (catalog/policy.yaml), not code: rates, base
// limits, fixed amounts, grades, subsidies and collection windows per year
// and 盟市, each block with its source (PolicySource) and a Verified flag:
// true only when the figures that decide what a person pays rest on an
// official page that was read, false for everything else. These types hold one region's figures for
// one year; the rules that turn them into amounts are in policy_rules.go.

// Window is a collection window (征缴期), inclusive, as Beijing dates
// "YYYY-MM-DD". An empty From or To leaves that side open.
type Window struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// FlexiblePensionPolicy: base chosen within 60%–300% of the prior-year
// average wage, 20% of it due each month (12% pooled, 8% personal account).
type FlexiblePensionPolicy struct {
	AverageWageFen Fen          `json:"average_wage_fen" yaml:"average_wage_fen"`
	BaseMinFen     Fen          `json:"base_min_fen" yaml:"base_min_fen"`
	BaseMaxFen     Fen          `json:"base_max_fen" yaml:"base_max_fen"`
	RateBP         int64        `json:"rate_bp" yaml:"rate_bp"`
	PooledBP       int64        `json:"pooled_bp" yaml:"pooled_bp"`
	PersonalBP     int64        `json:"personal_bp" yaml:"personal_bp"`
	GradesPercent  []int64      `json:"grades_percent" yaml:"grades_percent"`
	Window         Window       `json:"window" yaml:"window"`
	Source         PolicySource `json:"source" yaml:"source"`
	Verified       bool         `json:"verified" yaml:"verified"`
}

// FlexibleMedicalPolicy: the agency assesses (核定) a monthly amount from a
// base and the rate of the chosen option, plus long-term care and a yearly
// large-amount (大额) fee.
type FlexibleMedicalPolicy struct {
	BaseFen            Fen          `json:"base_fen" yaml:"base_fen"`
	CombinedBP         int64        `json:"combined_bp" yaml:"combined_bp"`
	PoolingOnlyBP      int64        `json:"pooling_only_bp" yaml:"pooling_only_bp"`
	LongTermCareBP     int64        `json:"long_term_care_bp" yaml:"long_term_care_bp"`
	LargeAmountYearFen Fen          `json:"large_amount_year_fen" yaml:"large_amount_year_fen"`
	Window             Window       `json:"window" yaml:"window"`
	Source             PolicySource `json:"source" yaml:"source"`
	Verified           bool         `json:"verified" yaml:"verified"`
}

// AssistedGroup is a reduced resident medical amount for a group the
// government helps (资助参保).
type AssistedGroup struct {
	Code      string `json:"code" yaml:"code"`
	Label     string `json:"label" yaml:"label"`
	AmountFen Fen    `json:"amount_fen" yaml:"amount_fen"`
}

// ResidentMedicalPolicy: a fixed amount per 待遇年度, collected in advance
// inside a window in the previous year. The PolicyYear's Year is the
// 待遇年度 (treatment year), not the year it is collected in.
type ResidentMedicalPolicy struct {
	AmountFen      Fen             `json:"amount_fen" yaml:"amount_fen"`
	SubsidyFen     Fen             `json:"subsidy_fen" yaml:"subsidy_fen"`
	AssistedGroups []AssistedGroup `json:"assisted_groups" yaml:"assisted_groups"`
	Window         Window          `json:"window" yaml:"window"`
	Source         PolicySource    `json:"source" yaml:"source"`
	Verified       bool            `json:"verified" yaml:"verified"`
}

// PensionGrade is a 城乡居民养老 yearly grade (档次) and its government subsidy.
type PensionGrade struct {
	AmountFen  Fen `json:"amount_fen" yaml:"amount_fen"`
	SubsidyFen Fen `json:"subsidy_fen" yaml:"subsidy_fen"`
}

// ResidentPensionPolicy: a yearly grade chosen by the person. An
// unverified year may list no grades, when its source gives only the range
// and not the grades themselves: nothing is offered rather than a guess.
type ResidentPensionPolicy struct {
	Grades   []PensionGrade `json:"grades" yaml:"grades"`
	Window   Window         `json:"window" yaml:"window"`
	Source   PolicySource   `json:"source" yaml:"source"`
	Verified bool           `json:"verified" yaml:"verified"`
}

// PolicyYear is one 盟市's fee standards for one year. Provisional marks a
// year whose figures are not yet published and were carried over from the
// previous year; when the real figures arrive the difference becomes a
// 调差 item.
type PolicyYear struct {
	Region          string                `json:"region_code" yaml:"region_code"`
	RegionName      string                `json:"region_name" yaml:"region_name"`
	Year            int                   `json:"year" yaml:"year"`
	Provisional     bool                  `json:"provisional" yaml:"provisional"`
	Source          string                `json:"source" yaml:"source"`
	FlexiblePension FlexiblePensionPolicy `json:"flexible_pension" yaml:"flexible_pension"`
	FlexibleMedical FlexibleMedicalPolicy `json:"flexible_medical" yaml:"flexible_medical"`
	ResidentMedical ResidentMedicalPolicy `json:"resident_medical" yaml:"resident_medical"`
	ResidentPension ResidentPensionPolicy `json:"resident_pension" yaml:"resident_pension"`
}

// PayOption is one way to pay a payable: a pension base grade, a custom
// base, a medical option, a resident pension grade. For the flexible
// schemes AmountFen is per month.
type PayOption struct {
	Code       string `json:"code"`
	Label      string `json:"label"`
	BaseFen    Fen    `json:"base_fen"`
	AmountFen  Fen    `json:"amount_fen"`
	SubsidyFen Fen    `json:"subsidy_fen"`
}
