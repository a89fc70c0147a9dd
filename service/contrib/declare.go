package contrib

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Declaration statuses.
const (
	DeclOpen    = "open"    // declared, no order yet (or its order was closed)
	DeclPaying  = "paying"  // an order is open
	DeclPaid    = "paid"    // settled
	DeclExpired = "expired" // not paid in time; its months were released
)

// Claim states of a declared month.
const (
	ClaimDeclared = "declared"
	ClaimPaying   = "paying"
	ClaimPaid     = "paid"
)

// DeclareInput declares months of a payable with a chosen option.
type DeclareInput struct {
	PayableID  string `json:"payable_id"`
	OptionCode string `json:"option_code"`
	PeriodFrom string `json:"period_from"`
	PeriodTo   string `json:"period_to"`
}

// Declaration is the view of a declaration (申报).
type Declaration struct {
	DeclarationID    string        `json:"declaration_id"`
	PayableID        string        `json:"payable_id"`
	Scheme           models.Scheme `json:"scheme"`
	PersonNameMasked string        `json:"person_name_masked"`
	OptionCode       string        `json:"option_code"`
	BaseFen          models.Fen    `json:"base_fen"`
	MonthlyFen       models.Fen    `json:"monthly_fen"`
	ExtraFen         models.Fen    `json:"extra_fen"`
	PeriodFrom       string        `json:"period_from"`
	PeriodTo         string        `json:"period_to"`
	Months           int           `json:"months"`
	AmountFen        models.Fen    `json:"amount_fen"`
	Status           string        `json:"status"`
	OrderNo          string        `json:"order_no,omitempty"`
	ExpiresAt        time.Time     `json:"expires_at"`
}

func declarationView(r store.DeclarationRow, p kernel.Person) Declaration {
	months := 1
	if models.Scheme(r.Scheme).Monthly() {
		months = monthsBetween(r.PeriodFrom, r.PeriodTo)
	}
	return Declaration{DeclarationID: r.ID, PayableID: r.PayableID, Scheme: models.Scheme(r.Scheme),
		PersonNameMasked: models.MaskName(p.Name), OptionCode: r.OptionCode, BaseFen: models.Fen(r.BaseFen),
		MonthlyFen: models.Fen(r.MonthlyFen), ExtraFen: models.Fen(r.ExtraFen), PeriodFrom: r.PeriodFrom,
		PeriodTo: r.PeriodTo, Months: months, AmountFen: models.Fen(r.AmountFen), Status: r.Status,
		OrderNo: r.OrderNo, ExpiresAt: r.ExpiresAt}
}

func monthsBetween(from, to string) int {
	f, _ := time.Parse("200601", from)
	t, _ := time.Parse("200601", to)
	return (t.Year()-f.Year())*12 + int(t.Month()-f.Month()) + 1
}

// CreateDeclaration declares months of a payable. At most one open
// declaration may hold a person's scheme and month: the period_claims
// primary key decides races, so twenty simultaneous requests make one
// declaration.
func (s *Contrib) CreateDeclaration(ctx context.Context, userID string, in DeclareInput) (Declaration, error) {
	enrolmentID, year, ok := parsePayableID(in.PayableID)
	if !ok {
		return Declaration{}, models.ErrNotFound
	}
	var e store.EnrolmentRow
	// Reads before the transaction go to the read pool (SQLite's would
	// queue behind the writer); the claims' key decides races, not them.
	if err := s.Read(ctx).Where("id = ?", enrolmentID).Take(&e).Error; err != nil {
		if kernel.IsNotFound(err) {
			return Declaration{}, models.ErrNotFound
		}
		return Declaration{}, kernel.Internal("enrolment", err)
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return Declaration{}, err
	}
	if err := s.people.MayPayForUser(ctx, u, e.PersonID); err != nil {
		return Declaration{}, err
	}
	p, err := s.Person(ctx, e.PersonID)
	if err != nil {
		return Declaration{}, err
	}
	valid := false
	for _, y := range s.payableYears(e) {
		valid = valid || y == year
	}
	if !valid {
		return Declaration{}, models.ErrOutOfCollection.WithReason("该年度费款不在自助缴费范围内，请到办税服务厅办理")
	}
	pb, err := s.payableFor(ctx, u, e, year, p)
	if err != nil {
		return Declaration{}, err
	}
	return s.declare(ctx, e, year, p, pb, in, userID)
}

// declare writes a declaration of pb's months for p, declared by by (a
// user id, or a counter's "partner:…" / the hall's "staff:…").
func (s *Contrib) declare(ctx context.Context, e store.EnrolmentRow, year int, p kernel.Person, pb Payable, in DeclareInput, by string) (Declaration, error) {
	if !pb.InWindow {
		return Declaration{}, models.ErrOutOfCollection.WithReason("缴费期为 " + pb.WindowFrom + " 至 " + pb.DueBy)
	}
	months, err := declaredMonths(pb, in)
	if err != nil {
		return Declaration{}, err
	}
	if pb.blocked != nil {
		return Declaration{}, pb.blocked
	}
	opt, err := resolveOption(pb, e.MedicalOption, in.OptionCode)
	if err != nil {
		return Declaration{}, err
	}
	amount := opt.AmountFen * models.Fen(len(months))
	var extra models.Fen
	if pb.YearlyExtraFen > 0 && months[0] == pb.first {
		extra = pb.YearlyExtraFen // the 大额 fee rides with the year's first month
	}
	now := s.Now()
	row := store.DeclarationRow{ID: kernel.NewID("d"), PersonID: p.ID, EnrolmentID: e.ID, PayableID: pb.PayableID,
		Scheme: e.Scheme, Year: year, RegionCode: e.RegionCode, OptionCode: opt.Code, BaseFen: int64(opt.BaseFen),
		MonthlyFen: int64(opt.AmountFen), ExtraFen: int64(extra), PeriodFrom: months[0], PeriodTo: months[len(months)-1],
		AmountFen: int64(amount + extra), Status: DeclOpen, DeclaredByUserID: by,
		ExpiresAt: now.Add(s.Opt.DeclarationTTL), CreatedAt: now, UpdatedAt: now}
	if !pb.Scheme.Monthly() {
		row.PeriodTo = pb.PeriodTo
	}
	for attempt := 0; ; attempt++ {
		claims := make([]store.ClaimRow, len(months))
		for i, m := range months {
			claims[i] = store.ClaimRow{PersonID: p.ID, Scheme: e.Scheme, Period: m, DeclarationID: row.ID, State: ClaimDeclared}
		}
		err := s.insertDeclaration(ctx, &row, claims)
		if err == nil {
			s.ForgetPayables(ctx, p.ID)
			s.Log.InfoContext(ctx, "declared", "declaration_id", row.ID, "scheme", row.Scheme, "amount_fen", row.AmountFen,
				"periods", row.PeriodFrom+"-"+row.PeriodTo)
			return declarationView(row, p), nil
		}
		if !kernel.IsDuplicate(err) {
			return Declaration{}, kernel.Internal("declare", err)
		}
		released, cerr := s.resolveClaimConflict(ctx, p.ID, e.Scheme, months)
		if cerr != nil {
			return Declaration{}, cerr
		}
		if !released || attempt >= 2 {
			return Declaration{}, models.ErrAlreadyDeclared
		}
	}
}

// insertDeclaration inserts a declaration and its months' claims, all or
// nothing: a month claimed already fails it as a duplicate, having
// written nothing. On PostgreSQL it is one statement (declareStatement),
// elsewhere a transaction.
func (s *Contrib) insertDeclaration(ctx context.Context, row *store.DeclarationRow, claims []store.ClaimRow) error {
	if s.DB.Dialect == store.Postgres {
		if sql, args, ok := s.declareStatement(ctx, row, claims); ok {
			return s.Conn(ctx).Exec(sql, args...).Error
		}
	}
	return s.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return tx.Create(&claims).Error
	})
}

// declareStatement is insertDeclaration on PostgreSQL: the declaration's
// INSERT as a data-modifying CTE of the claims' INSERT, one autocommit
// statement where the transaction takes four round trips (BEGIN, two
// INSERTs, COMMIT), about a third of declaring there (issue 13). A
// statement is atomic, so a claim's unique violation leaves no
// declaration behind, as the rollback did. Both INSERTs are the ones gorm
// builds for the rows (a dry run), so the columns stay the rows'. ok is
// false, logged, when either is not of the shape expected (a column with
// a database default adds RETURNING, whose values gorm would have set on
// the row); the transaction then declares, and TestMoneyStepsCost's count
// of declare's statements fails.
func (s *Contrib) declareStatement(ctx context.Context, row *store.DeclarationRow, claims []store.ClaimRow) (string, []any, bool) {
	dry := s.Conn(ctx).Session(&gorm.Session{DryRun: true})
	d, c := dry.Create(row), dry.Create(&claims)
	ds, cs := d.Statement.SQL.String(), c.Statement.SQL.String()
	if d.Error != nil || c.Error != nil || !strings.HasPrefix(ds, "INSERT INTO ") || !strings.HasPrefix(cs, "INSERT INTO ") ||
		strings.Contains(ds, " RETURNING ") || strings.Contains(cs, " RETURNING ") {
		s.Log.ErrorContext(ctx, "declaration or claims INSERT not of the shape expected; declaring in a transaction",
			"declaration", ds, "claims", cs, "declaration_err", d.Error, "claims_err", c.Error)
		return "", nil, false
	}
	return "WITH d AS (" + dollarToQuestion(ds) + ") " + dollarToQuestion(cs), append(d.Statement.Vars, c.Statement.Vars...), true
}

// resolveOption turns the chosen option code into amounts. The payable's
// own options come first, because they carry what policy figures alone do
// not (the agency's assessment, an assisted amount); only a custom pension
// base, which no list holds, is resolved from the policy.
func resolveOption(pb Payable, medicalOption, code string) (models.PayOption, error) {
	for _, o := range pb.Options {
		if o.Code == code {
			return o, nil
		}
	}
	opt, err := models.ResolveOption(pb.policy, pb.Scheme, medicalOption, code)
	if err != nil {
		return models.PayOption{}, err
	}
	if pb.Scheme != models.SchemeFlexiblePension {
		return models.PayOption{}, models.ErrInvalid.WithReason("缴费档次不存在，请重新选择")
	}
	return opt, nil
}

// declaredMonths validates the requested periods against the payable.
// Months past the last payable one (retirement age, or the end of 延长缴费)
// are NOT_ELIGIBLE with the reason, not merely outside the period.
func declaredMonths(pb Payable, in DeclareInput) ([]string, error) {
	if len(pb.months) == 0 {
		reason := pb.endReason
		if reason == "" {
			reason = "该年度没有可缴纳的月份"
		}
		return nil, models.ErrNotEligible.WithReason(reason)
	}
	if last := pb.months[len(pb.months)-1]; pb.Scheme.Monthly() && pb.endReason != "" &&
		(in.PeriodFrom > last || in.PeriodTo > last) {
		return nil, models.ErrNotEligible.WithReason(pb.endReason)
	}
	if !pb.Scheme.Monthly() {
		if (in.PeriodFrom != "" && in.PeriodFrom != pb.months[0]) || (in.PeriodTo != "" && in.PeriodTo != pb.PeriodTo) {
			return nil, models.ErrInvalid.WithReason("城乡居民保险按年度缴纳，period_from/period_to 应为 " + pb.months[0] + "/" + pb.PeriodTo)
		}
		return pb.months, nil
	}
	from, to := in.PeriodFrom, in.PeriodTo
	if from == "" {
		// Default to the first month still open; when none is, name the
		// first month so the claim conflict says why (paid or declared).
		from = pb.months[0]
		if len(pb.UnpaidPeriods) > 0 {
			from = pb.UnpaidPeriods[0]
		}
	}
	if to == "" {
		to = pb.PeriodTo
	}
	var out []string
	inRange := false
	for _, m := range pb.months {
		if m == from {
			inRange = true
		}
		if inRange {
			out = append(out, m)
		}
		if m == to {
			break
		}
	}
	if len(out) == 0 || out[0] != from || out[len(out)-1] != to {
		return nil, models.ErrOutOfCollection.WithReason("可自助申报的所属期为 " + pb.months[0] + " 至 " + pb.months[len(pb.months)-1] + "，更早月份请到办税服务厅补缴")
	}
	return out, nil
}

// resolveClaimConflict looks at who holds the months. Paid months are
// ALREADY_PAID. An open declaration past its expiry is expired and its
// months released (reported as released=true so the caller retries).
func (s *Contrib) resolveClaimConflict(ctx context.Context, personID, scheme string, months []string) (bool, error) {
	var claims []store.ClaimRow
	if err := s.Conn(ctx).Where("person_id = ? AND scheme = ? AND period IN ?", personID, scheme, months).Find(&claims).Error; err != nil {
		return false, kernel.Internal("claims", err)
	}
	released := false
	for _, c := range claims {
		if c.State == ClaimPaid {
			return false, models.ErrAlreadyPaid
		}
		ok, err := s.expireDeclaration(ctx, c.DeclarationID)
		if err != nil {
			return false, err
		}
		released = released || ok
	}
	return released, nil
}

// expireDeclaration expires an open declaration past its expiry and
// releases its months. It reports whether it did.
func (s *Contrib) expireDeclaration(ctx context.Context, id string) (bool, error) {
	done := false
	var personIDs []string
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&store.DeclarationRow{}).Where("id = ? AND status = ? AND expires_at < ?", id, DeclOpen, s.Now()).
			Updates(map[string]any{"status": DeclExpired, "updated_at": s.Now()})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		done = true
		if err := tx.Model(&store.DeclarationRow{}).Where("id = ?", id).Pluck("person_id", &personIDs).Error; err != nil {
			return err
		}
		return tx.Where("declaration_id = ? AND state = ?", id, ClaimDeclared).Delete(&store.ClaimRow{}).Error
	})
	if err == nil && done {
		s.ForgetPayables(ctx, personIDs...)
	}
	return done, kernel.Internal("expire declaration", err)
}

// GetDeclaration returns a declaration the caller may pay.
func (s *Contrib) GetDeclaration(ctx context.Context, userID, id string) (Declaration, error) {
	var r store.DeclarationRow
	if err := s.Conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		if kernel.IsNotFound(err) {
			return Declaration{}, models.ErrNotFound
		}
		return Declaration{}, kernel.Internal("declaration", err)
	}
	if err := s.people.MayPayFor(ctx, userID, r.PersonID); err != nil {
		if errors.Is(err, models.ErrIdentityRequired) {
			return Declaration{}, err
		}
		return Declaration{}, models.ErrNotFound
	}
	if err := s.seesDeclaration(ctx, userID, r); err != nil {
		return Declaration{}, err
	}
	p, err := s.Person(ctx, r.PersonID)
	if err != nil {
		return Declaration{}, err
	}
	v := declarationView(r, p)
	if r.OrderNo != "" {
		// The person or a guardian may have paid a declaration a pay-only
		// link made: that order number is theirs.
		var n int64
		if err := s.Conn(ctx).Model(&store.OrderRow{}).Where("order_no = ? AND payer_user_id = ?", r.OrderNo, userID).Count(&n).Error; err != nil {
			return Declaration{}, kernel.Internal("declaration order", err)
		}
		if n == 0 {
			u, err := s.User(ctx, userID)
			if err != nil {
				return Declaration{}, err
			}
			acc, err := s.people.AccessTo(ctx, u, r.PersonID)
			if err != nil {
				return Declaration{}, err
			}
			if acc == people.AccessPayOnly {
				v.OrderNo = ""
			}
		}
	}
	return v, nil
}

// seesDeclaration: a pay-only link (family member without records access,
// or 代缴 by name and ID number) sees only the declarations its user made;
// other payers' declarations and orders are theirs. The person, a proven
// guardian and a grantee see all of them.
func (s *Contrib) seesDeclaration(ctx context.Context, userID string, d store.DeclarationRow) error {
	if d.DeclaredByUserID == userID {
		return nil
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	acc, err := s.people.AccessTo(ctx, u, d.PersonID)
	if err != nil {
		return err
	}
	if acc == people.AccessPayOnly {
		return models.ErrNotFound
	}
	return nil
}
