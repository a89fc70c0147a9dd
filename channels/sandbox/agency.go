package sandbox

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
)

// Agency stands in for the 社保 agency's contribution records, the 医保
// agency's assessment (核定) of flexible medical amounts, and civil affairs'
// assistance statuses. Its facts are the demo people's; anyone else has no
// contribution record, no status, and an assessment equal to the policy's
// own figures, which is what an agency applying the published rule would
// assess.
type Agency struct {
	policy *models.PolicyBook
	people map[string]DemoPerson
}

// NewAgency returns the sandbox agency over people, assessing from policy.
func NewAgency(policy *models.PolicyBook, people []DemoPerson) *Agency {
	a := &Agency{policy: policy, people: map[string]DemoPerson{}}
	for _, p := range people {
		a.people[strings.ToUpper(p.IDNumber)] = p
	}
	return a
}

var (
	_ models.ContributionRecords = (*Agency)(nil)
	_ models.MedicalAssessor     = (*Agency)(nil)
	_ models.CivilAffairs        = (*Agency)(nil)
)

// PensionContribution implements models.ContributionRecords.
func (a *Agency) PensionContribution(ctx context.Context, idNumber string) (models.ContributionRecord, error) {
	p, ok := a.people[strings.ToUpper(idNumber)]
	if !ok || p.Contribution == nil {
		return models.ContributionRecord{}, models.ErrNotFound
	}
	return *p.Contribution, nil
}

// AssessFlexibleMedical implements models.MedicalAssessor from the
// policy's figures for the region and year.
func (a *Agency) AssessFlexibleMedical(ctx context.Context, req models.MedicalAssessmentRequest) (models.MedicalAssessment, error) {
	py, err := a.policy.Year(req.Region, req.Year)
	if err != nil {
		return models.MedicalAssessment{}, err
	}
	opts := models.PayOptions(py, models.SchemeFlexibleMedical, req.Option)
	if len(opts) != 1 {
		return models.MedicalAssessment{}, models.ErrNotFound
	}
	return models.MedicalAssessment{BaseFen: opts[0].BaseFen, MonthlyFen: opts[0].AmountFen,
		LargeAmountYearFen: py.FlexibleMedical.LargeAmountYearFen}, nil
}

// AssistanceStatuses implements models.CivilAffairs.
func (a *Agency) AssistanceStatuses(ctx context.Context, idNumber string, at time.Time) ([]models.AssistanceStatus, error) {
	return slices.Clone(a.people[strings.ToUpper(idNumber)].Assistance), nil
}
