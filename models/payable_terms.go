package models

import (
	"fmt"
	"time"
)

// TermsInput is everything that decides what a person may pay for one
// enrolment and year: the enrolment, the person, and the facts the
// outside systems gave (nil or false when not asked or not answered).
type TermsInput struct {
	Scheme        Scheme
	Region        string
	Year          int // for a flexible medical July policy year: the year it starts in
	Person        IDNumber
	RegisteredAt  time.Time
	MedicalOption string

	// Contribution is the 社保 agency's record, asked only when the
	// statutory age falls within or before the payable (NeedsContribution).
	Contribution      ContributionRecord
	ContributionKnown bool
	// Assessment is the 医保 agency's assessment, for flexible medical in a
	// region whose amount is assessed.
	Assessment      MedicalAssessment
	AssessmentKnown bool
	// Statuses are the person's assistance statuses, for resident medical.
	Statuses      []AssistanceStatus
	StatusesKnown bool
}

// Terms is what a person may pay for one enrolment and year, and why.
type Terms struct {
	Policy         PolicyYear
	Months         []string // the periods that may be paid, in order
	PeriodTo       string   // the last period the payable covers (resident schemes: December)
	Window         Window
	Options        []PayOption
	YearlyExtraFen Fen

	// RetirementPeriod is the month the statutory age is reached, for
	// flexible schemes whose payable reaches it; ExtendedThrough the last
	// month of 延长缴费 when months after it are offered.
	RetirementPeriod string
	ExtendedThrough  string
	// EndReason explains, when the months stop at retirement, why later
	// months may not be paid (and whether extension is open).
	EndReason string
	// AmountBasis says for flexible medical whether the amount is a
	// published figure or the agency's assessment.
	AmountBasis string
	Assistance  *Assistance
	// Blocked is set when nothing can be declared now and says why: no
	// assessment or no answer from civil affairs (Options empty), an
	// assisted status with no figure (Options empty), or full assistance
	// (the option shows 0 and there is nothing to pay).
	Blocked error
	// Notices are what the person must be told about the amounts.
	Notices []string
}

// policyYearRange is the first and last month index of a payable year.
func (b *PolicyBook) policyYearRange(in TermsInput) (int, int) {
	start := in.Year * 12
	if in.Scheme == SchemeFlexibleMedical {
		start += b.Rules(in.Region).FlexibleMedicalYearStartMonth - 1
	}
	return start, start + 11
}

// NeedsContribution reports whether the 社保 agency's record matters for
// this payable: a flexible pension payable that reaches the statutory age
// of someone reaching it after 2025-01-01.
func (b *PolicyBook) NeedsContribution(in TermsInput) bool {
	if in.Scheme != SchemeFlexiblePension {
		return false
	}
	retire := monthIndex(b.FlexibleRetirementMonth(in.Region, in.Person))
	_, end := b.policyYearRange(in)
	return retire <= end && retire >= extensionFrom
}

// NeedsAssessment reports whether the 医保 agency's assessment is the
// amount of this payable: flexible medical where the region's figures
// for the year are not verified.
func (b *PolicyBook) NeedsAssessment(in TermsInput) bool {
	if in.Scheme != SchemeFlexibleMedical {
		return false
	}
	py, err := b.Year(in.Region, in.Year)
	return err == nil && !py.FlexibleMedical.Verified
}

// Terms derives what a person may pay. Amounts come from PayOptions
// unchanged wherever a published figure applies.
func (b *PolicyBook) Terms(in TermsInput) (Terms, error) {
	py, err := b.Year(in.Region, in.Year)
	if err != nil {
		return Terms{}, err
	}
	t := Terms{Policy: py}
	if provisionalFigures(py, in.Scheme) {
		t.Notices = append(t.Notices, fmt.Sprintf("%d年度%s缴费标准尚未公布，暂按上一年度标准收取，公布后按新标准多退少补（调差）", py.Year, in.Scheme.Name()))
	}
	switch in.Scheme {
	case SchemeFlexiblePension, SchemeFlexibleMedical:
		b.monthlyTerms(in, &t)
	case SchemeResidentMedical, SchemeResidentPension:
		t.Months = []string{indexPeriod(in.Year * 12)}
		t.PeriodTo = indexPeriod(in.Year*12 + 11)
		if in.Scheme == SchemeResidentPension {
			t.Window = py.ResidentPension.Window
			t.Options = PayOptions(py, in.Scheme, "")
			break
		}
		t.Window = py.ResidentMedical.Window
		b.residentMedicalOptions(in, &t)
	default:
		return Terms{}, ErrSchemeInvalid
	}
	return t, nil
}

// provisionalFigures reports whether a scheme's figures in a year are
// carried over rather than published. A provisional year may hold some
// published figures (2026: resident medical is published, the pension
// base is not), so the scheme's own source tag decides; the year's flag
// alone would tell a 低保 payer her published amount is provisional.
func provisionalFigures(py PolicyYear, scheme Scheme) bool {
	switch scheme {
	case SchemeFlexiblePension:
		return py.FlexiblePension.Source.Tag == SourceProvisional
	case SchemeFlexibleMedical:
		return py.FlexibleMedical.Source.Tag == SourceProvisional
	case SchemeResidentMedical:
		return py.ResidentMedical.Source.Tag == SourceProvisional
	case SchemeResidentPension:
		return py.ResidentPension.Source.Tag == SourceProvisional
	}
	return false
}

func (b *PolicyBook) monthlyTerms(in TermsInput, t *Terms) {
	py := t.Policy
	start, end := b.policyYearRange(in)
	first := max(start, monthIndex(in.RegisteredAt.In(Beijing)))
	retirement := b.FlexibleRetirementMonth(in.Region, in.Person)
	last := monthIndex(retirement)
	if last <= end {
		t.RetirementPeriod = indexPeriod(last)
		x := Extension{Reason: "延长缴费仅适用于养老保险"}
		if in.Scheme == SchemeFlexiblePension {
			x = ExtensionFor(retirement, in.Contribution, in.ContributionKnown)
		}
		if through, ok := x.Through(in.Contribution, retirement, first); ok && through > last {
			last = through
			t.ExtendedThrough = indexPeriod(through)
			t.Notices = append(t.Notices, fmt.Sprintf("延长缴费：%s，可缴至%d年%d月", x.Reason, through/12, through%12+1))
		} else {
			t.EndReason = fmt.Sprintf("%d年%d月达到法定退休年龄，此后的月份不能以灵活就业人员身份缴费。%s",
				retirement.Year(), int(retirement.Month()), x.Reason)
		}
	}
	for m := first; m <= min(end, last); m++ {
		t.Months = append(t.Months, indexPeriod(m))
	}
	if len(t.Months) > 0 {
		t.PeriodTo = t.Months[len(t.Months)-1]
	}
	if in.Scheme == SchemeFlexiblePension {
		t.Window = py.FlexiblePension.Window
		t.Options = FlexiblePensionOptions(py)
		return
	}
	rules := b.Rules(in.Region)
	t.Window = py.FlexibleMedical.Window
	if rules.FlexibleMedicalYearStartMonth != 1 {
		// The region's policy year runs from its start month to the month
		// before it a year later, and so does its collection.
		t.Window = Window{
			From: time.Date(in.Year, time.Month(rules.FlexibleMedicalYearStartMonth), 1, 0, 0, 0, 0, Beijing).Format(time.DateOnly),
			To:   time.Date(in.Year+1, time.Month(rules.FlexibleMedicalYearStartMonth), 0, 0, 0, 0, 0, Beijing).Format(time.DateOnly),
		}
	}
	if py.FlexibleMedical.Verified {
		t.AmountBasis = MedicalAmountPublished
		t.Options = PayOptions(py, in.Scheme, in.MedicalOption)
		t.YearlyExtraFen = py.FlexibleMedical.LargeAmountYearFen
		return
	}
	t.AmountBasis = MedicalAmountAssessed
	if !in.AssessmentKnown {
		t.Blocked = ErrUnavailable.WithReason("暂时无法取得医保经办机构核定的缴费金额，请稍后再试")
		t.Options = []PayOption{}
		return
	}
	a := in.Assessment
	name := "统账结合"
	if in.MedicalOption == MedicalPoolingOnly {
		name = "单建统筹"
	}
	t.Options = []PayOption{{Code: in.MedicalOption, BaseFen: a.BaseFen, AmountFen: a.MonthlyFen,
		Label: fmt.Sprintf("%s：医保经办机构核定缴费基数 %s 元，月缴 %s 元", name, groupedYuan(a.BaseFen), groupedYuan(a.MonthlyFen))}}
	t.YearlyExtraFen = a.LargeAmountYearFen
	t.Notices = append(t.Notices, "缴费金额为医保经办机构核定金额（本盟市缴费标准尚未核实，以核定为准）")
}

func (b *PolicyBook) residentMedicalOptions(in TermsInput, t *Terms) {
	t.Options = PayOptions(t.Policy, SchemeResidentMedical, "")
	if !in.StatusesKnown {
		t.Blocked = ErrUnavailable.WithReason("暂时无法核实资助参保身份，请稍后再试")
		t.Options = []PayOption{}
		return
	}
	a, err := b.ResidentMedicalAssistance(t.Policy, in.Statuses)
	if err != nil {
		t.Blocked = err
		t.Options = []PayOption{}
		return
	}
	if a == nil {
		return
	}
	t.Assistance = a
	if a.DueFen == 0 {
		reason := fmt.Sprintf("%s个人缴费由政府全额资助，无需自行缴费，由医保经办机构办理参保", a.GroupLabel)
		t.Blocked = ErrNotEligible.WithReason(reason)
		t.Notices = append(t.Notices, reason)
	}
	o := &t.Options[0]
	o.AmountFen = a.DueFen
	o.Label = fmt.Sprintf("个人缴费 %s 元/年（%s，标准 %s 元，资助 %s 元；财政补助 %s 元）", groupedYuan(a.DueFen), a.GroupLabel,
		groupedYuan(a.StandardFen), groupedYuan(a.AssistanceFen), groupedYuan(o.SubsidyFen))
}
