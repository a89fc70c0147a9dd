package models

import (
	"context"
	"time"
)

// The outside systems the fee rules need facts from. Each is an interface
// with a sandbox implementation (channels/sandbox); production connectors
// go behind the same interfaces.

// ContributionRecord is a person's contribution history for the pension
// minimum as the 社保 agency keeps it: Months of contributions counted up
// to and including the month AsOf ("YYYYMM").
type ContributionRecord struct {
	Months int
	AsOf   string
}

// ContributionRecords is the 社保 agency's record of contribution years,
// asked when a flexible worker reaches retirement age with perhaps too few
// years (延长缴费). ErrNotFound means the agency has no record.
type ContributionRecords interface {
	PensionContribution(ctx context.Context, idNumber string) (ContributionRecord, error)
}

// MedicalAssessmentRequest asks the 医保 agency what it assessed (核定) for
// a flexible worker's medical insurance in a policy year.
type MedicalAssessmentRequest struct {
	IDNumber string
	Region   string
	Year     int    // the policy year (its first month may be July)
	Option   string // MedicalCombined or MedicalPoolingOnly
}

// MedicalAssessment is the agency's assessed (核定) amount: a monthly
// amount on a base, and the yearly large-amount (大额) fee.
type MedicalAssessment struct {
	BaseFen            Fen
	MonthlyFen         Fen
	LargeAmountYearFen Fen
}

// MedicalAssessor is the 医保 agency's assessment of flexible medical
// amounts, used where no region figure of ours is verified.
type MedicalAssessor interface {
	AssessFlexibleMedical(ctx context.Context, req MedicalAssessmentRequest) (MedicalAssessment, error)
}

// CivilAffairs answers which assistance statuses (特困, 低保, 返贫监测 …) a
// person holds on a day, for the resident medical assistance (资助参保). No
// status is an empty list, not an error.
type CivilAffairs interface {
	AssistanceStatuses(ctx context.Context, idNumber string, at time.Time) ([]AssistanceStatus, error)
}

// UnitRegistry is the unit registry (市场监管 / 机构编制 登记信息) a unit's
// binding is checked against. LookupUnit returns ErrUnitUnknown for a code
// the registry has no unit for (a distinct answer: the caller decides what
// a new unit means), ErrUnavailable when the registry did not answer, and
// otherwise the unit with its legal representative.
type UnitRegistry interface {
	LookupUnit(ctx context.Context, uscc USCC) (UnitRecord, error)
}
