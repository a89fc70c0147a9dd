package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// Payable statuses (the tax side's 预处理数据 as the payer sees it).
const (
	PayableOpen     = "open"
	PayableDeclared = "declared"
	PayablePaying   = "paying"
	PayablePaid     = "paid"
	PayableCredited = "credited"
	PayableBooked   = "booked"
)

// Payable is what a person owes for one scheme and year. It is derived
// from the enrolment and the fee policy each time, so a policy update is
// seen at once; its id is stable (enrolment id + year).
type Payable struct {
	PayableID        string             `json:"payable_id"`
	PersonNameMasked string             `json:"person_name_masked"`
	Scheme           models.Scheme      `json:"scheme"`
	SchemeName       string             `json:"scheme_name"`
	Year             int                `json:"year"`
	PeriodFrom       string             `json:"period_from"`
	PeriodTo         string             `json:"period_to"`
	PeriodUnit       string             `json:"period_unit"`
	UnpaidPeriods    []string           `json:"unpaid_periods"`
	Status           string             `json:"status"`
	RegionCode       string             `json:"region_code"`
	DueBy            string             `json:"due_by"`
	WindowFrom       string             `json:"window_from"`
	InWindow         bool               `json:"in_collection_period"`
	AmountFen        *models.Fen        `json:"amount_fen,omitempty"`
	YearlyExtraFen   models.Fen         `json:"yearly_extra_fen,omitempty"`
	Options          []models.PayOption `json:"options"`
	Provisional      bool               `json:"provisional"`

	enrolment store.EnrolmentRow
	policy    models.PolicyYear
	months    []string // every period of the payable
	first     string   // the month that carries the yearly extra fee
}

// QueryPayables lists what a person owes: self, a family member, or an
// inline name and ID number (paying for someone else).
func (s *Service) QueryPayables(ctx context.Context, userID string, ref PersonRef) ([]Payable, error) {
	p, err := s.resolveForPaying(ctx, userID, ref)
	if err != nil {
		return nil, err
	}
	var rows []store.EnrolmentRow
	if err := s.db(ctx).Where("person_id = ? AND status = ?", p.ID, EnrolmentActive).Order("registered_at, id").Find(&rows).Error; err != nil {
		return nil, internal("enrolments", err)
	}
	if len(rows) == 0 {
		return nil, models.ErrNotEnrolled.WithReason("该人员尚未参保登记，请先办理参保登记")
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return nil, err
	}
	acc, err := s.accessTo(ctx, u, p.ID)
	if err != nil {
		return nil, err
	}
	var out []Payable
	for _, e := range rows {
		for _, year := range s.payableYears(e) {
			pb, err := s.payable(ctx, e, year, p)
			if err != nil {
				return nil, err
			}
			if acc == AccessPayOnly && (pb.Status == PayableCredited || pb.Status == PayableBooked) {
				// Paying needs to know it is paid, not how far the money
				// has gone through the treasury and the agency's books.
				pb.Status = PayablePaid
			}
			out = append(out, pb)
		}
	}
	return out, nil
}

// payableYears: the flexible and resident pension schemes are paid for the
// current year; resident medical for the 待遇年度 whose collection window is
// open now (normally next year's), or the next one if none is open.
func (s *Service) payableYears(e store.EnrolmentRow) []int {
	now := s.now()
	year := now.In(models.Beijing).Year()
	if models.Scheme(e.Scheme) != models.SchemeResidentMedical {
		return []int{year}
	}
	var open []int
	for _, y := range []int{year, year + 1} {
		if py, err := s.Policy.Year(e.RegionCode, y); err == nil && py.ResidentMedical.Window.Contains(now) {
			open = append(open, y)
		}
	}
	if len(open) == 0 {
		return []int{year + 1}
	}
	return open
}

func payableID(enrolmentID string, year int) string { return fmt.Sprintf("%s-%d", enrolmentID, year) }

func parsePayableID(id string) (string, int, bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return "", 0, false
	}
	y, err := strconv.Atoi(id[i+1:])
	return id[:i], y, err == nil
}

func period(year int, m time.Month) string { return fmt.Sprintf("%04d%02d", year, int(m)) }

// payable derives one payable and its status from claims and records.
func (s *Service) payable(ctx context.Context, e store.EnrolmentRow, year int, p person) (Payable, error) {
	scheme := models.Scheme(e.Scheme)
	py, err := s.Policy.Year(e.RegionCode, year)
	if err != nil {
		return Payable{}, err
	}
	pb := Payable{PayableID: payableID(e.ID, year), PersonNameMasked: models.MaskName(p.Name), Scheme: scheme,
		SchemeName: scheme.Name(), Year: year, RegionCode: e.RegionCode, Provisional: py.Provisional,
		enrolment: e, policy: py}
	var window models.Window
	if scheme.Monthly() {
		pb.PeriodUnit = "month"
		start := time.January
		reg := e.RegisteredAt.In(models.Beijing)
		if reg.Year() == year {
			start = reg.Month()
		} else if reg.Year() > year {
			start = time.December + 1
		}
		for m := start; m <= time.December; m++ {
			pb.months = append(pb.months, period(year, m))
		}
		if scheme == models.SchemeFlexiblePension {
			window = py.FlexiblePension.Window
		} else {
			window = py.FlexibleMedical.Window
			pb.YearlyExtraFen = py.FlexibleMedical.LargeAmountYearFen
		}
	} else {
		pb.PeriodUnit = "year"
		pb.months = []string{period(year, time.January)}
		if scheme == models.SchemeResidentMedical {
			window = py.ResidentMedical.Window
		} else {
			window = py.ResidentPension.Window
		}
	}
	if len(pb.months) > 0 {
		pb.first = pb.months[0]
		pb.PeriodFrom, pb.PeriodTo = pb.months[0], pb.months[len(pb.months)-1]
		if !scheme.Monthly() {
			pb.PeriodTo = period(year, time.December)
		}
	}
	pb.DueBy, pb.WindowFrom = window.To, window.From
	pb.InWindow = window.Contains(s.now())
	pb.Options = models.PayOptions(py, scheme, e.MedicalOption)
	if len(pb.Options) == 1 {
		a := pb.Options[0].AmountFen
		pb.AmountFen = &a
	}
	status, unpaid, err := s.payableStatus(ctx, e.PersonID, scheme, pb.months)
	if err != nil {
		return Payable{}, err
	}
	pb.Status, pb.UnpaidPeriods = status, unpaid
	if len(unpaid) > 0 && scheme.Monthly() {
		pb.PeriodFrom = unpaid[0]
	}
	return pb, nil
}

// payableStatus: open while a month is neither declared nor paid; then the
// least advanced state of its months.
func (s *Service) payableStatus(ctx context.Context, personID string, scheme models.Scheme, months []string) (string, []string, error) {
	var claims []store.ClaimRow
	if err := s.db(ctx).Where("person_id = ? AND scheme = ? AND period IN ?", personID, string(scheme), months).Find(&claims).Error; err != nil {
		return "", nil, internal("claims", err)
	}
	var records []store.RecordRow
	if err := s.db(ctx).Where("person_id = ? AND scheme = ? AND period IN ?", personID, string(scheme), months).Find(&records).Error; err != nil {
		return "", nil, internal("records", err)
	}
	claimed := map[string]store.ClaimRow{}
	for _, c := range claims {
		claimed[c.Period] = c
	}
	recorded := map[string]string{}
	for _, r := range records {
		recorded[r.Period] = r.Status
	}
	var unpaid []string
	declared, paying := false, false
	for _, m := range months {
		if _, ok := recorded[m]; ok {
			continue
		}
		c, ok := claimed[m]
		switch {
		case !ok:
			unpaid = append(unpaid, m)
		case c.State == ClaimPaying:
			paying = true
		default:
			declared = true
		}
	}
	if unpaid == nil {
		unpaid = []string{}
	}
	switch {
	case len(unpaid) > 0:
		return PayableOpen, unpaid, nil
	case paying:
		return PayablePaying, unpaid, nil
	case declared:
		return PayableDeclared, unpaid, nil
	}
	rank := map[string]int{RecordPaid: 0, RecordCredited: 1, RecordBooked: 2}
	least := RecordBooked
	for _, st := range recorded {
		if r, ok := rank[st]; ok && r < rank[least] {
			least = st
		}
	}
	return least, unpaid, nil
}
