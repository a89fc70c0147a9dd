package contrib

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
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
	// RetirementPeriod is the month the person reaches the statutory age
	// when it falls within or before this flexible-worker payable; months
	// after it are offered only under 延长缴费, through ExtendedThrough.
	RetirementPeriod string `json:"retirement_period,omitempty"`
	ExtendedThrough  string `json:"extended_through,omitempty"`
	// AmountBasis (flexible_medical): published figures or the agency's
	// assessment (核定).
	AmountBasis string `json:"amount_basis,omitempty"`
	// Assistance (resident_medical): the standard amount, the assistance
	// and the amount due for an assisted group (资助参保).
	Assistance *models.Assistance `json:"assistance,omitempty"`
	// NotPayableReason says why nothing can be declared now.
	NotPayableReason string `json:"not_payable_reason,omitempty"`
	// Notices are what the payer must know about the amounts (provisional
	// figures, assessed amounts, extension).
	Notices []string `json:"notices,omitempty"`

	enrolment store.EnrolmentRow
	policy    models.PolicyYear
	months    []string // every period of the payable
	first     string   // the month that carries the yearly extra fee
	blocked   error    // why nothing can be declared now
	endReason string   // why months after the last stop (retirement)
}

// QueryPayables lists what a person owes: self, a family member, or an
// inline name and ID number (paying for someone else).
func (s *Contrib) QueryPayables(ctx context.Context, userID string, ref people.PersonRef) ([]Payable, error) {
	p, err := s.people.ResolveForPaying(ctx, userID, ref)
	if err != nil {
		return nil, err
	}
	payOnly := false
	if !ref.Self {
		// Self is the caller's own bound person (AccessSelf): only a member
		// or an inline person needs the access check and its look-ups.
		u, err := s.User(ctx, userID)
		if err != nil {
			return nil, err
		}
		acc, err := s.people.AccessTo(ctx, u, p.ID)
		if err != nil {
			return nil, err
		}
		payOnly = acc == people.AccessPayOnly
	}
	// The enrolments and the claims and records come from the payables
	// cache (payables_cache.go) when it holds them, else from the read
	// pool, and are cached for the next request.
	version, entry, cacheUp := s.loadPayables(ctx, p.ID)
	var rows []store.EnrolmentRow
	if entry != nil {
		rows = entry.Enrolments
	} else {
		var err error
		if rows, err = readActiveEnrolments(s.Read(ctx), p.ID); err != nil {
			return nil, err
		}
	}
	if len(rows) == 0 {
		if entry == nil && cacheUp {
			s.storePayables(ctx, p.ID, payablesEntry{Version: version, Enrolments: rows})
		}
		return nil, errNotEnrolled()
	}
	return s.payablesOf(ctx, p, rows, payOnly, func(schemes, months []string) ([]periodMark, error) {
		if entry != nil && entry.covers(schemes, months) {
			return entry.Marks, nil
		}
		marks, err := readPeriodMarks(s.Read(ctx), p.ID, schemes, months)
		if err == nil && cacheUp {
			s.storePayables(ctx, p.ID, payablesEntry{Version: version, Enrolments: rows,
				Schemes: dedupe(schemes), Months: dedupe(months), Marks: marks})
		}
		return marks, err
	})
}

func errNotEnrolled() error {
	return models.ErrNotEnrolled.WithReason("该人员尚未参保登记，请先办理参保登记")
}

// activeEnrolments are the person's active enrolments read on db, oldest
// first; none is NOT_ENROLLED.
func (s *Contrib) activeEnrolments(db *gorm.DB, p kernel.Person) ([]store.EnrolmentRow, error) {
	rows, err := readActiveEnrolments(db, p.ID)
	if err == nil && len(rows) == 0 {
		err = errNotEnrolled()
	}
	return rows, err
}

func readActiveEnrolments(db *gorm.DB, personID string) ([]store.EnrolmentRow, error) {
	var rows []store.EnrolmentRow
	if err := db.Where("person_id = ? AND status = ?", personID, EnrolmentActive).Order("registered_at, id").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("enrolments", err)
	}
	return rows, nil
}

// payablesOf lists the payables of the enrolments rows of p, every year
// still open; payOnly shows them as payOnlyView does. The claims and
// records of all of them come from one call of marksOf (one query, not
// one pair per scheme and year: this list is what every payer opens
// first).
func (s *Contrib) payablesOf(ctx context.Context, p kernel.Person, rows []store.EnrolmentRow, payOnly bool,
	marksOf func(schemes, months []string) ([]periodMark, error)) ([]Payable, error) {
	out := []Payable{}
	var schemes, months []string
	for _, e := range rows {
		for _, year := range s.payableYears(e) {
			pb, err := s.payableTerms(ctx, e, year, p)
			if err != nil {
				return nil, err
			}
			if len(pb.months) == 0 {
				continue // past retirement age with nothing left to pay this year
			}
			schemes = append(schemes, e.Scheme)
			months = append(months, pb.months...)
			out = append(out, pb)
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	rs, err := marksOf(schemes, months)
	if err != nil {
		return nil, err
	}
	marks := indexMarks(rs)
	for i := range out {
		marks.apply(&out[i])
		if payOnly {
			payOnlyView(&out[i])
		}
	}
	return out, nil
}

// payOnlyView is a payable as a link that may pay for the person but not
// see their history sees it: open periods and amounts. Paying needs to
// know a year is paid, not how far the money has gone through the
// treasury and the agency's books; the assisted amounts, not which group
// (低保, 特困…) the person is in; nor how many years they have contributed
// (the 延长缴费 notice), which extended_through already accounts for.
func payOnlyView(pb *Payable) {
	if pb.Status == PayableCredited || pb.Status == PayableBooked {
		pb.Status = PayablePaid
	}
	label := ""
	if pb.Assistance != nil {
		// The amounts stay: they are what the payer pays and why.
		a := *pb.Assistance
		label, a.GroupCode, a.GroupLabel = a.GroupLabel, "", ""
		pb.Assistance = &a
	}
	var notices []string
	for _, n := range pb.Notices {
		if strings.HasPrefix(n, "延长缴费：") {
			continue
		}
		if label != "" {
			n = strings.ReplaceAll(n, label, "")
		}
		notices = append(notices, n)
	}
	pb.Notices = notices
	if label != "" {
		pb.NotPayableReason = strings.ReplaceAll(pb.NotPayableReason, label, "")
		if be, ok := models.AsError(pb.blocked); ok {
			pb.blocked = be.WithReason(strings.ReplaceAll(be.Reason, label, ""))
		}
	}
	// Past retirement the end reason goes on to the contribution years:
	// keep its first sentence, the retirement month.
	if i := strings.Index(pb.endReason, "。"); i >= 0 {
		pb.endReason = pb.endReason[:i+len("。")]
	}
}

// payableFor is payable as userID may see it (payOnlyView for a pay-only
// link), for the errors declaring and paying give.
func (s *Contrib) payableFor(ctx context.Context, u store.UserRow, e store.EnrolmentRow, year int, p kernel.Person) (Payable, error) {
	pb, err := s.payable(ctx, e, year, p)
	if err != nil {
		return pb, err
	}
	acc, err := s.people.AccessTo(ctx, u, p.ID)
	if err != nil {
		return pb, err
	}
	if acc == people.AccessPayOnly {
		payOnlyView(&pb)
	}
	return pb, nil
}

// payableYears: the flexible and resident pension schemes are paid for the
// current year; resident medical for the 待遇年度 whose collection window is
// open now (normally next year's), or the next one if none is open.
func (s *Contrib) payableYears(e store.EnrolmentRow) []int {
	now := s.Now()
	year := now.In(models.Beijing).Year()
	if models.Scheme(e.Scheme) == models.SchemeFlexibleMedical &&
		int(now.In(models.Beijing).Month()) < s.Policy.Rules(e.RegionCode).FlexibleMedicalYearStartMonth {
		// A region whose medical policy year starts in July is still in
		// last year's policy year until then.
		return []int{year - 1}
	}
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

// terms are the policy's terms of an enrolment's year for p, with the
// facts the rules need: the months, window and amounts of a payable
// before any claim or record is looked at.
func (s *Contrib) terms(ctx context.Context, e store.EnrolmentRow, year int, p kernel.Person) (models.Terms, error) {
	in := models.TermsInput{Scheme: models.Scheme(e.Scheme), Region: e.RegionCode, Year: year, Person: p.Parsed,
		RegisteredAt: e.RegisteredAt, MedicalOption: e.MedicalOption}
	s.gatherFacts(ctx, p, &in)
	return s.Policy.Terms(in)
}

// payable derives one payable and its status from claims and records,
// read on the writer: declaring and paying decide on it.
func (s *Contrib) payable(ctx context.Context, e store.EnrolmentRow, year int, p kernel.Person) (Payable, error) {
	pb, err := s.payableTerms(ctx, e, year, p)
	if err != nil || len(pb.months) == 0 {
		return pb, err
	}
	rs, err := readPeriodMarks(s.Conn(ctx), e.PersonID, []string{e.Scheme}, pb.months)
	if err != nil {
		return Payable{}, err
	}
	indexMarks(rs).apply(&pb)
	return pb, nil
}

// payableTerms derives one payable without its status: the months,
// window and amounts come from models.Terms, with the facts the agencies
// and civil affairs give for this person.
func (s *Contrib) payableTerms(ctx context.Context, e store.EnrolmentRow, year int, p kernel.Person) (Payable, error) {
	scheme := models.Scheme(e.Scheme)
	t, err := s.terms(ctx, e, year, p)
	if err != nil {
		return Payable{}, err
	}
	py := t.Policy
	pb := Payable{PayableID: payableID(e.ID, year), PersonNameMasked: models.MaskName(p.Name), Scheme: scheme,
		SchemeName: scheme.Name(), Year: year, RegionCode: e.RegionCode, Provisional: py.Provisional,
		RetirementPeriod: t.RetirementPeriod, ExtendedThrough: t.ExtendedThrough, AmountBasis: t.AmountBasis,
		Assistance: t.Assistance, Notices: t.Notices, YearlyExtraFen: t.YearlyExtraFen,
		enrolment: e, policy: py, months: t.Months, blocked: t.Blocked, endReason: t.EndReason}
	pb.PeriodUnit = "year"
	if scheme.Monthly() {
		pb.PeriodUnit = "month"
	}
	if be, ok := models.AsError(t.Blocked); ok {
		pb.NotPayableReason = be.Reason
	}
	if len(pb.months) > 0 {
		pb.first = pb.months[0]
		pb.PeriodFrom, pb.PeriodTo = pb.months[0], t.PeriodTo
	}
	pb.DueBy, pb.WindowFrom = t.Window.To, t.Window.From
	pb.InWindow = t.Window.Contains(s.Now())
	pb.Options = t.Options
	if len(pb.Options) == 1 {
		a := pb.Options[0].AmountFen
		pb.AmountFen = &a
	}
	// Until apply says otherwise (and for good when nothing is payable,
	// past retirement age): open, nothing unpaid.
	pb.Status, pb.UnpaidPeriods = PayableOpen, []string{}
	return pb, nil
}

// gatherFacts asks the outside systems what the terms of a payable need.
// A system that is not connected or does not answer leaves its fact
// unknown, and the terms then say so rather than guess: no extension
// months, no assessed amount, no resident medical amount.
func (s *Contrib) gatherFacts(ctx context.Context, p kernel.Person, in *models.TermsInput) {
	if s.Policy.NeedsContribution(*in) {
		in.Contribution, in.ContributionKnown = s.contribution(ctx, p)
	}
	if s.Policy.NeedsAssessment(*in) && s.MedicalAssessor != nil {
		a, err := s.MedicalAssessor.AssessFlexibleMedical(ctx, models.MedicalAssessmentRequest{IDNumber: p.IDNumber,
			Region: in.Region, Year: in.Year, Option: in.MedicalOption})
		if err == nil {
			in.Assessment, in.AssessmentKnown = a, true
		} else {
			s.Log.WarnContext(ctx, "medical assessment unavailable", "err", err)
		}
	}
	if in.Scheme == models.SchemeResidentMedical && s.CivilAffairs != nil {
		st, err := s.CivilAffairs.AssistanceStatuses(ctx, p.IDNumber, s.Now())
		if err == nil {
			in.Statuses, in.StatusesKnown = st, true
		} else {
			s.Log.WarnContext(ctx, "assistance statuses unavailable", "err", err)
		}
	}
}

// periodMarks are a person's claims (declared or paying) and records of
// some months, by scheme and period.
type periodMarks struct {
	claims  map[string]string   // scheme/period → claim state
	records map[string][]string // scheme/period → record statuses (adjustments too)
}

// periodMark is one row of readPeriodMarks' query.
type periodMark struct {
	Kind   string `json:"k"` // "c" claim, "r" record
	Scheme string `json:"s"`
	Period string `json:"p"`
	State  string `json:"t"`
}

// readPeriodMarks reads on db the claims and records of personID in the
// given schemes and months, both tables in one round trip.
func readPeriodMarks(db *gorm.DB, personID string, schemes, months []string) ([]periodMark, error) {
	schemes, months = dedupe(schemes), dedupe(months)
	var rows []periodMark
	err := db.Raw("SELECT 'c' AS kind, scheme, period, state FROM period_claims WHERE person_id = ? AND scheme IN ? AND period IN ?"+
		" UNION ALL SELECT 'r' AS kind, scheme, period, status AS state FROM records WHERE person_id = ? AND scheme IN ? AND period IN ?",
		personID, schemes, months, personID, schemes, months).Scan(&rows).Error
	if err != nil {
		return nil, kernel.Internal("claims and records", err)
	}
	return rows, nil
}

// indexMarks indexes rows by scheme and period.
func indexMarks(rows []periodMark) periodMarks {
	m := periodMarks{claims: map[string]string{}, records: map[string][]string{}}
	for _, r := range rows {
		k := r.Scheme + "/" + r.Period
		if r.Kind == "c" {
			m.claims[k] = r.State
		} else {
			m.records[k] = append(m.records[k], r.State)
		}
	}
	return m
}

func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// apply sets pb's status and unpaid periods: open while a month is
// neither declared nor paid; then the least advanced state of its months.
func (m periodMarks) apply(pb *Payable) {
	if len(pb.months) == 0 {
		return
	}
	scheme := string(pb.Scheme)
	unpaid := []string{}
	declared, paying := false, false
	rank := map[string]int{RecordPaid: 0, RecordCredited: 1, RecordBooked: 2}
	least := RecordBooked
	for _, mo := range pb.months {
		k := scheme + "/" + mo
		if sts, ok := m.records[k]; ok {
			for _, st := range sts {
				if r, ok := rank[st]; ok && r < rank[least] {
					least = st
				}
			}
			continue
		}
		state, ok := m.claims[k]
		switch {
		case !ok:
			unpaid = append(unpaid, mo)
		case state == ClaimPaying:
			paying = true
		default:
			declared = true
		}
	}
	pb.UnpaidPeriods = unpaid
	switch {
	case len(unpaid) > 0:
		pb.Status = PayableOpen
	case paying:
		pb.Status = PayablePaying
	case declared:
		pb.Status = PayableDeclared
	default:
		pb.Status = least
	}
	if len(unpaid) > 0 && pb.Scheme.Monthly() {
		pb.PeriodFrom = unpaid[0]
	}
}
