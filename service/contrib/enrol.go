package contrib

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// EnrolInput is a flexible-worker or resident enrolment request.
type EnrolInput struct {
	Person        people.PersonRef `json:"person"`
	Scheme        models.Scheme    `json:"scheme"`
	RegionCode    string           `json:"region_code"`
	MedicalOption string           `json:"medical_option"`
}

// Enrolment is the view of a registration; ReceiptNo is the 回执 the
// seed's "当场送达" promises. A pay-only link sees neither it nor the
// registration date of an enrolment someone else made (RestrictedView).
type Enrolment struct {
	EnrolmentID    string        `json:"enrolment_id"`
	Scheme         models.Scheme `json:"scheme"`
	SchemeName     string        `json:"scheme_name"`
	Status         string        `json:"status"`
	RegionCode     string        `json:"region_code"`
	RegionName     string        `json:"region_name"`
	MedicalOption  string        `json:"medical_option,omitempty"`
	RegisteredAt   *time.Time    `json:"registered_at,omitempty"`
	ReceiptNo      string        `json:"receipt_no,omitempty"`
	PersonIDMasked string        `json:"person_id_number_masked"`
	// RestrictedView says the caller may only pay for the person: the
	// receipt and registration date are left out.
	RestrictedView bool `json:"restricted_view,omitempty"`
}

// EnrolmentActive is the only enrolment status self-service creates;
// suspension and transfer are done at the hall.
const EnrolmentActive = "active"

// schemeKind groups schemes a person can hold only one of: one pension and
// one medical insurance at a time.
func schemeKind(s models.Scheme) string {
	if s.Department() == models.DeptMedicalInsurance {
		return "medical"
	}
	return "pension"
}

// CreateEnrolment registers a person in a scheme at once (即时办理) or says
// why they are not eligible.
func (s *Contrib) CreateEnrolment(ctx context.Context, userID string, in EnrolInput) (Enrolment, error) {
	if !in.Scheme.Valid() {
		return Enrolment{}, models.ErrSchemeInvalid
	}
	region, ok := s.Policy.Region(in.RegionCode)
	if !ok {
		return Enrolment{}, models.ErrRegionInvalid
	}
	if in.Scheme == models.SchemeFlexibleMedical {
		if in.MedicalOption != models.MedicalCombined && in.MedicalOption != models.MedicalPoolingOnly {
			return Enrolment{}, models.ErrInvalid.WithReason("灵活就业人员医疗保险请选择 medical_option：combined（统账结合）或 pooling_only（单建统筹）")
		}
	} else if in.MedicalOption != "" {
		return Enrolment{}, models.ErrInvalid.WithReason("medical_option 仅适用于 flexible_medical")
	}
	p, err := s.people.ResolveForPaying(ctx, userID, in.Person)
	if err != nil {
		return Enrolment{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return Enrolment{}, err
	}
	acc, err := s.people.AccessTo(ctx, u, p.ID)
	if err != nil {
		return Enrolment{}, err
	}
	now := s.Now()
	if err := s.eligible(ctx, p, in.Scheme, region.Code, now, acc != people.AccessPayOnly); err != nil {
		return Enrolment{}, err
	}
	row := store.EnrolmentRow{ID: kernel.NewID("en"), PersonID: p.ID, Scheme: string(in.Scheme), RegionCode: region.Code,
		MedicalOption: in.MedicalOption, Status: EnrolmentActive, RegisteredAt: now, EnrolledByUserID: userID}
	ok, err = kernel.InsertNumbered(s.Conn(ctx), &row, &store.EnrolmentRow{}, "receipt_no", func() string {
		row.ReceiptNo = kernel.NewNumber("CB", now, 6)
		return row.ReceiptNo
	})
	if err != nil {
		return Enrolment{}, kernel.Internal("enrol", err)
	}
	if !ok {
		return Enrolment{}, models.ErrAlreadyEnrolled
	}
	s.ForgetPayables(ctx, p.ID)
	s.Log.InfoContext(ctx, "enrolled", "enrolment_id", row.ID, "scheme", row.Scheme, "region", row.RegionCode,
		"person", models.MaskIDNumber(p.IDNumber))
	return s.enrolmentView(row, p), nil
}

// eligible says why p may not enrol. sees is whether the caller may see
// p's records: a pay-only link is not told p's employer or contribution
// years, only that p cannot enrol here.
func (s *Contrib) eligible(ctx context.Context, p kernel.Person, scheme models.Scheme, region string, now time.Time, sees bool) error {
	switch scheme {
	case models.SchemeFlexiblePension, models.SchemeFlexibleMedical:
		if err := s.checkFlexibleAge(ctx, p, scheme, region, now, sees); err != nil {
			return err
		}
	case models.SchemeResidentPension:
		age := p.Parsed.AgeAt(now)
		if age < 16 {
			return models.ErrNotEligible.WithReason("城乡居民基本养老保险须年满16周岁（在校学生除外）")
		}
		if age >= 60 {
			return models.ErrNotEligible.WithReason("已年满60周岁，请到社保经办机构办理待遇领取或补缴事宜")
		}
	}
	kind := schemeKind(scheme)
	var unit store.UnitInsuranceRow
	err := s.Conn(ctx).Where("person_id = ? AND scheme = ?", p.ID, kind).Take(&unit).Error
	if err == nil {
		what := "养老保险"
		if kind == "medical" {
			what = "医疗保险"
		}
		if !sees {
			return models.ErrNotEligible.WithReason(fmt.Sprintf("该人员已通过单位参加职工%s，不能重复参保", what))
		}
		return models.ErrNotEligible.WithReason(fmt.Sprintf("您已通过单位（%s）参加职工%s，不能重复参保", unit.UnitName, what))
	}
	if !kernel.IsNotFound(err) {
		return kernel.Internal("unit insurance", err)
	}
	if scheme == models.SchemeFlexiblePension || scheme == models.SchemeFlexibleMedical {
		// A unit's employee (增员 through a unit, an open spell) is in the
		// same fund already: enterprise or institution pension for the
		// flexible pension, the employee medical schemes for the flexible
		// medical.
		var spells []store.UnitEmployeeRow
		if err := s.Conn(ctx).Where("person_id = ? AND to_period = ''", p.ID).Find(&spells).Error; err != nil {
			return kernel.Internal("unit spells", err)
		}
		for _, sp := range spells {
			if schemeKind(models.Scheme(sp.Scheme)) == kind {
				return models.ErrNotEligible.WithReason(fmt.Sprintf("已通过单位参加%s，不能以灵活就业人员身份重复参保", models.Scheme(sp.Scheme).Name()))
			}
		}
	}
	var existing []store.EnrolmentRow
	if err := s.Conn(ctx).Where("person_id = ? AND status = ?", p.ID, EnrolmentActive).Find(&existing).Error; err != nil {
		return kernel.Internal("enrolments", err)
	}
	for _, e := range existing {
		if e.Scheme == string(scheme) {
			return models.ErrAlreadyEnrolled
		}
		if schemeKind(models.Scheme(e.Scheme)) == kind {
			return models.ErrNotEligible.WithReason("已参加" + models.Scheme(e.Scheme).Name() + "，同一类保险只能参加一种")
		}
	}
	return nil
}

func (s *Contrib) enrolmentView(row store.EnrolmentRow, p kernel.Person) Enrolment {
	region, _ := s.Policy.Region(row.RegionCode)
	return Enrolment{EnrolmentID: row.ID, Scheme: models.Scheme(row.Scheme), SchemeName: models.Scheme(row.Scheme).Name(),
		Status: row.Status, RegionCode: row.RegionCode, RegionName: region.Name, MedicalOption: row.MedicalOption,
		RegisteredAt: &row.RegisteredAt, ReceiptNo: row.ReceiptNo, PersonIDMasked: models.MaskIDNumber(p.IDNumber)}
}

// ListEnrolments lists a person's enrolments (self or a family member).
func (s *Contrib) ListEnrolments(ctx context.Context, userID string, ref people.PersonRef) ([]Enrolment, error) {
	if !ref.Self && ref.MemberID == "" {
		return nil, models.ErrInvalid
	}
	p, err := s.people.ResolveForPaying(ctx, userID, ref)
	if err != nil {
		return nil, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	acc, err := s.people.AccessTo(ctx, u, p.ID)
	if err != nil {
		return nil, err
	}
	var rows []store.EnrolmentRow
	if err := s.Conn(ctx).Where("person_id = ?", p.ID).Order("registered_at, id").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("list enrolments", err)
	}
	out := make([]Enrolment, 0, len(rows))
	for _, r := range rows {
		v := s.enrolmentView(r, p)
		if acc == people.AccessPayOnly && r.EnrolledByUserID != userID {
			// Paying needs the scheme and region, not the 回执 or when.
			v.RegisteredAt, v.ReceiptNo, v.RestrictedView = nil, "", true
		}
		out = append(out, v)
	}
	return out, nil
}

// checkFlexibleAge is the age test of flexible-worker enrolment, with the
// original female age of the region enrolled in. Past the statutory age,
// flexible pension is still open to someone the 2024 decision lets extend
// their contributions (延长缴费); otherwise NOT_ELIGIBLE says why and
// whether extension is open to them.
func (s *Contrib) checkFlexibleAge(ctx context.Context, p kernel.Person, scheme models.Scheme, region string, now time.Time, sees bool) error {
	err := models.CheckWorkingAge(p.Parsed, s.Policy.Rules(region).FemaleFlexibleRetirementAge, now)
	if err == nil || p.Parsed.AgeAt(now) < 16 {
		return err
	}
	x := s.extension(ctx, p, region)
	if x.Open && scheme == models.SchemeFlexiblePension {
		return nil
	}
	reason := "已达到法定退休年龄，不能再以灵活就业人员身份参保"
	if e, ok := models.AsError(err); ok {
		reason = e.Reason
	}
	if !sees {
		// x.Reason tells the person's contribution years.
		return models.ErrNotEligible.WithReason(reason + "。能否延长缴费（仅适用于养老保险）请本人查询或到社保经办机构咨询")
	}
	if x.Open {
		return models.ErrNotEligible.WithReason(reason + "。" + x.Reason + "；延长缴费仅适用于养老保险")
	}
	return models.ErrNotEligible.WithReason(reason + "。" + x.Reason)
}

// extension decides 延长缴费 for a person from the agency's record.
func (s *Contrib) extension(ctx context.Context, p kernel.Person, region string) models.Extension {
	rec, known := s.contribution(ctx, p)
	return models.ExtensionFor(s.Policy.FlexibleRetirementMonth(region, p.Parsed), rec, known)
}

// contribution asks the 社保 agency for a person's contribution record.
// No record is a known record of no contributions; no answer (or no
// connector) is unknown, and the rules then offer no extension and say so.
func (s *Contrib) contribution(ctx context.Context, p kernel.Person) (models.ContributionRecord, bool) {
	if s.Contributions == nil {
		return models.ContributionRecord{}, false
	}
	rec, err := s.Contributions.PensionContribution(ctx, p.IDNumber)
	switch {
	case err == nil:
		return rec, true
	case errors.Is(err, models.ErrNotFound):
		return models.ContributionRecord{}, true
	}
	s.Log.WarnContext(ctx, "contribution record unavailable", "err", err)
	return models.ContributionRecord{}, false
}
