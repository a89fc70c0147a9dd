package units

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/units/roster"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Problem codes of the checks a roster gets against the database, beside
// roster's own (the file and field checks).
const (
	CodeNameMismatch       = "NAME_MISMATCH"              // name and ID number do not belong together
	CodeAlreadyEmployee    = "ALREADY_EMPLOYEE"           // already insured through this unit
	CodeInsuredElsewhere   = "INSURED_ELSEWHERE"          // insured through another unit in the fund
	CodeInsuredFlexible    = "INSURED_FLEXIBLE"           // insured as a flexible worker in the fund
	CodePeriodBeforeRegist = "PERIOD_BEFORE_REGISTRATION" // from_period before the unit's 参保登记
	CodePeriodTooLate      = "PERIOD_TOO_LATE"            // from_period after next month
)

// batchSize bounds the ids of one IN (...) and the rows of one INSERT, far
// below every dialect's limit of bound parameters.
const batchSize = 500

// Employee is one spell of an employee in one scheme of the unit. Names
// and ID numbers are masked.
type Employee struct {
	EmployeeID     string `json:"employee_id"`
	NameMasked     string `json:"name_masked"`
	IDNumberMasked string `json:"id_number_masked"`
	Scheme         string `json:"scheme"`
	WageFen        int64  `json:"wage_fen"`
	FromPeriod     string `json:"from_period"`
	ToPeriod       string `json:"to_period"` // "" while insured
}

// AddResult is what 增员 took.
type AddResult struct {
	Added   int      `json:"added"`   // employees (roster rows)
	Spells  int      `json:"spells"`  // employee spells: rows × the unit's schemes
	Schemes []string `json:"schemes"` // the schemes every employee joined
}

// AddEmployeesJSON is 增员 from the JSON form: the rows get the file
// roster's field checks, then AddEmployees'.
func (s *Units) AddEmployeesJSON(ctx context.Context, userID, unitID string, in []roster.Input) (AddResult, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return AddResult{}, err
	}
	rows, err := roster.Check(in)
	if err != nil {
		return AddResult{}, err
	}
	return s.AddEmployees(ctx, userID, unitID, rows)
}

// AddEmployeesFile is 增员 from a CSV or XLSX roster file.
func (s *Units) AddEmployeesFile(ctx context.Context, userID, unitID string, r io.Reader, kind roster.Kind) (AddResult, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return AddResult{}, err
	}
	rows, err := roster.Parse(r, kind)
	if err != nil {
		return AddResult{}, err
	}
	return s.AddEmployees(ctx, userID, unitID, rows)
}

// rowCheck collects the database problems of a roster, one of each code a
// row.
type rowCheck struct {
	problems []roster.Problem
	seen     map[[2]string]bool
}

func (c *rowCheck) add(row int, field, code, msg string) {
	k := [2]string{fmt.Sprint(row), code}
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.problems = append(c.problems, roster.Problem{Row: row, Field: field, Code: code, Message: msg})
}

// nextPeriod is the month after p as YYYYMM.
func nextPeriod(p models.Period) string {
	t := time.Date(p.Year, p.Month+1, 1, 0, 0, 0, 0, time.UTC)
	return fmt.Sprintf("%04d%02d", t.Year(), int(t.Month()))
}

// AddEmployees is 增员: every row joins every scheme the unit registered,
// from its from_period, all rows or none. Every row's problems are
// reported at once (*roster.Invalid): the person registry's name check,
// an employee already insured here or through another unit or as a
// flexible worker in the same fund, a start before the unit's 参保登记 or
// after next month. The checks and inserts are batched, so a roster of
// thousands is one request of a few dozen statements.
func (s *Units) AddEmployees(ctx context.Context, userID, unitID string, rows []roster.Row) (AddResult, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return AddResult{}, err
	}
	regs, err := s.registrations(ctx, unitID)
	if err != nil {
		return AddResult{}, err
	}
	if len(regs) == 0 {
		return AddResult{}, models.ErrUnitNotRegistered
	}
	now := s.Now()
	latest := nextPeriod(currentPeriod(now))
	earliest := ""
	for _, r := range regs {
		earliest = max(earliest, currentPeriod(r.RegisteredAt).String())
	}
	c := &rowCheck{seen: map[[2]string]bool{}}
	ids := make([]models.IDNumber, len(rows))
	indexes := make([]string, len(rows))
	for i, r := range rows {
		if ids[i], err = models.ParseIDNumber(r.IDNumber); err != nil {
			return AddResult{}, kernel.Internal("roster id", err) // roster checked it
		}
		indexes[i] = s.PII.BlindIndex("id_number", ids[i].Number)
		switch {
		case r.FromPeriod < earliest:
			c.add(r.Row, roster.FieldFromPeriod, CodePeriodBeforeRegist, "起始年月早于本单位参保登记年月（"+earliest+"）")
		case r.FromPeriod > latest:
			c.add(r.Row, roster.FieldFromPeriod, CodePeriodTooLate, "起始年月不能晚于下月（"+latest+"）")
		}
	}
	known, err := s.personsByIndex(ctx, ids)
	if err != nil {
		return AddResult{}, err
	}
	mismatch := "姓名与身份证号码不一致，请核对"
	// Each row says whether a name belongs to an ID number, so a roster is
	// a batch of identity checks: every wrong name spends the caller's
	// identity-check budget (bind's, shared by every route) as it is
	// found, and a spent budget reports no row and asks the person
	// registry nothing more. Right names cost nothing, so an honest roster
	// with a few typos passes. named holds the known persons the roster
	// names correctly: only they get the insurance checks, so a roster
	// never tells anyone who does not know a person's name whether that
	// ID number is insured where.
	named := make(map[string]kernel.Person, len(known))
	wrongName := func(r roster.Row) error {
		if err := s.SpendIdentityCheck(ctx, userID); err != nil {
			return err
		}
		c.add(r.Row, roster.FieldName, CodeNameMismatch, mismatch)
		return nil
	}
	for i, r := range rows {
		if p, ok := known[indexes[i]]; ok {
			if p.Name == r.Name {
				named[indexes[i]] = p
			} else if err := wrongName(r); err != nil {
				return AddResult{}, err
			}
			continue
		}
		if s.Identity != nil {
			err := s.Identity.Verify(ctx, r.Name, ids[i].Number, "")
			if errors.Is(err, models.ErrIdentityMismatch) {
				err = wrongName(r)
			}
			if err != nil {
				return AddResult{}, err
			}
		}
	}
	if err := s.checkInsured(ctx, unitID, rows, indexes, named, regs, c); err != nil {
		return AddResult{}, err
	}
	if len(c.problems) > 0 {
		slices.SortStableFunc(c.problems, func(a, b roster.Problem) int { return a.Row - b.Row })
		return AddResult{}, &roster.Invalid{Problems: c.problems}
	}
	var newPersons []store.PersonRow
	spells := make([]store.UnitEmployeeRow, 0, len(rows)*len(regs))
	for i, r := range rows {
		p, ok := known[indexes[i]]
		personID := p.ID
		if !ok {
			row, err := s.NewPersonRow(r.Name, ids[i])
			if err != nil {
				return AddResult{}, err
			}
			newPersons = append(newPersons, row)
			personID = row.ID
		}
		for _, reg := range regs {
			spells = append(spells, store.UnitEmployeeRow{ID: kernel.NewID("ue"), UnitID: unitID, Scheme: reg.Scheme, PersonID: personID,
				WageFen: r.WageFen, FromPeriod: r.FromPeriod, OpenKey: store.UnitEmployeeOpenKey(personID, reg.Scheme),
				CreatedBy: userID, CreatedAt: now})
		}
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if len(newPersons) > 0 {
			if err := tx.CreateInBatches(newPersons, batchSize).Error; err != nil {
				return err
			}
		}
		return tx.CreateInBatches(spells, batchSize).Error
	})
	if kernel.IsDuplicate(err) {
		return AddResult{}, models.ErrRosterConflict
	}
	if err != nil {
		return AddResult{}, kernel.Internal("add employees", err)
	}
	out := AddResult{Added: len(rows), Spells: len(spells)}
	for _, r := range regs {
		out.Schemes = append(out.Schemes, r.Scheme)
	}
	return out, nil
}

// personsByIndex loads and opens the persons of the given ID numbers, by
// their blind index (BlindIndex). Each is looked up under every key's
// index (BlindIndexes), so a person not yet rekeyed is known all the same.
func (s *Units) personsByIndex(ctx context.Context, ids []models.IDNumber) (map[string]kernel.Person, error) {
	newest := make(map[string]string, len(ids)) // any key's index → BlindIndex's
	indexes := make([]string, 0, len(ids))
	for _, id := range ids {
		ix := s.PII.BlindIndexes("id_number", id.Number)
		for _, x := range ix {
			newest[x] = ix[0]
		}
		indexes = append(indexes, ix...)
	}
	out := make(map[string]kernel.Person, len(ids))
	for from := 0; from < len(indexes); from += batchSize {
		var rows []store.PersonRow
		if err := s.Conn(ctx).Where("id_index IN ?", indexes[from:min(from+batchSize, len(indexes))]).Find(&rows).Error; err != nil {
			return nil, kernel.Internal("find persons", err)
		}
		for _, row := range rows {
			p, err := s.OpenPerson(row)
			if err != nil {
				return nil, err
			}
			out[newest[row.IDIndex]] = p
		}
	}
	return out, nil
}

// personsByID loads and opens persons by id.
func (s *Units) personsByID(ctx context.Context, ids []string) (map[string]kernel.Person, error) {
	out := make(map[string]kernel.Person, len(ids))
	for from := 0; from < len(ids); from += batchSize {
		var rows []store.PersonRow
		if err := s.Conn(ctx).Where("id IN ?", ids[from:min(from+batchSize, len(ids))]).Find(&rows).Error; err != nil {
			return nil, kernel.Internal("load persons", err)
		}
		for _, row := range rows {
			p, err := s.OpenPerson(row)
			if err != nil {
				return nil, err
			}
			out[row.ID] = p
		}
	}
	return out, nil
}

// fund is the fund a scheme pays into: a person is insured once per fund,
// whether through a unit or as a flexible worker.
func fund(s models.Scheme) string {
	if s.Pension() {
		return "pension"
	}
	return "medical"
}

// checkInsured adds the problems of rows whose person is insured already
// in a fund the unit's schemes pay into, for a period overlapping the new
// spell (which is open-ended from the row's from_period).
func (s *Units) checkInsured(ctx context.Context, unitID string, rows []roster.Row, indexes []string, known map[string]kernel.Person, regs []store.UnitRegistrationRow, c *rowCheck) error {
	funds := map[string]bool{}
	for _, r := range regs {
		funds[fund(models.Scheme(r.Scheme))] = true
	}
	rowsOf := map[string][]roster.Row{} // person id → rows
	var personIDs []string
	for i, r := range rows {
		if p, ok := known[indexes[i]]; ok {
			if _, seen := rowsOf[p.ID]; !seen {
				personIDs = append(personIDs, p.ID)
			}
			rowsOf[p.ID] = append(rowsOf[p.ID], r)
		}
	}
	for from := 0; from < len(personIDs); from += batchSize {
		batch := personIDs[from:min(from+batchSize, len(personIDs))]
		var spells []store.UnitEmployeeRow
		if err := s.Conn(ctx).Where("person_id IN ?", batch).Find(&spells).Error; err != nil {
			return kernel.Internal("find spells", err)
		}
		for _, sp := range spells {
			f := fund(models.Scheme(sp.Scheme))
			if !funds[f] {
				continue
			}
			for _, r := range rowsOf[sp.PersonID] {
				if sp.ToPeriod != "" && sp.ToPeriod < r.FromPeriod {
					continue // ended before the new spell starts
				}
				if sp.UnitID == unitID {
					c.add(r.Row, roster.FieldIDNumber, CodeAlreadyEmployee, "该职工已是本单位参保职工（"+models.Scheme(sp.Scheme).Name()+"）")
				} else {
					c.add(r.Row, roster.FieldIDNumber, CodeInsuredElsewhere, "该职工已在其他单位参加"+fundName(f)+"，请原单位先办理减员")
				}
			}
		}
		var legacy []store.UnitInsuranceRow
		if err := s.Conn(ctx).Where("person_id IN ?", batch).Find(&legacy).Error; err != nil {
			return kernel.Internal("find unit insurance", err)
		}
		for _, l := range legacy {
			if funds[l.Scheme] {
				for _, r := range rowsOf[l.PersonID] {
					c.add(r.Row, roster.FieldIDNumber, CodeInsuredElsewhere, "该职工已在其他单位参加"+fundName(l.Scheme)+"，请原单位先办理减员")
				}
			}
		}
		var enrolments []store.EnrolmentRow
		if err := s.Conn(ctx).Where("person_id IN ? AND status = ? AND scheme IN ?", batch, "active",
			[]string{string(models.SchemeFlexiblePension), string(models.SchemeFlexibleMedical)}).Find(&enrolments).Error; err != nil {
			return kernel.Internal("find enrolments", err)
		}
		for _, e := range enrolments {
			if funds[fund(models.Scheme(e.Scheme))] {
				for _, r := range rowsOf[e.PersonID] {
					c.add(r.Row, roster.FieldIDNumber, CodeInsuredFlexible, "该职工以灵活就业人员身份参加了"+models.Scheme(e.Scheme).Name()+"，请先办理停保后再增员")
				}
			}
		}
	}
	return nil
}

func fundName(f string) string {
	if f == "pension" {
		return "职工基本养老保险"
	}
	return "职工基本医疗保险"
}

// ListEmployees lists the unit's employee spells, current and ended, in a
// stable order, a page at a time; the next page starts after NextAfter.
func (s *Units) ListEmployees(ctx context.Context, userID, unitID string, page kernel.Page) ([]Employee, string, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return nil, "", err
	}
	q := s.Conn(ctx).Where("unit_id = ?", unitID)
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	var rows []store.UnitEmployeeRow
	if err := q.Order("id").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list employees", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		next = rows[len(rows)-1].ID
	}
	out, err := s.employeesOf(ctx, rows)
	return out, next, err
}

func (s *Units) employeesOf(ctx context.Context, rows []store.UnitEmployeeRow) ([]Employee, error) {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.PersonID)
	}
	persons, err := s.personsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Employee, 0, len(rows))
	for _, r := range rows {
		p := persons[r.PersonID]
		out = append(out, Employee{EmployeeID: r.ID, NameMasked: models.MaskName(p.Name), IDNumberMasked: models.MaskIDNumber(p.IDNumber),
			Scheme: r.Scheme, WageFen: r.WageFen, FromPeriod: r.FromPeriod, ToPeriod: r.ToPeriod})
	}
	return out, nil
}

// RemoveEmployee is 减员: the employee's open spells in this unit — the
// one named and those of the unit's other schemes, since 增员 joined them
// all — end with toPeriod, the last month insured. toPeriod is at least
// each spell's from_period and at most next month.
func (s *Units) RemoveEmployee(ctx context.Context, userID, unitID, employeeID, toPeriod string) ([]Employee, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return nil, err
	}
	to, err := models.ParsePeriod(toPeriod)
	if err != nil {
		return nil, err
	}
	if to.String() > nextPeriod(currentPeriod(s.Now())) {
		return nil, models.ErrPeriodInvalid.WithReason("减员年月不能晚于下月")
	}
	var named store.UnitEmployeeRow
	err = s.Conn(ctx).Where("id = ? AND unit_id = ?", employeeID, unitID).Take(&named).Error
	if kernel.IsNotFound(err) {
		return nil, models.ErrNotFound
	}
	if err != nil {
		return nil, kernel.Internal("load employee", err)
	}
	if named.ToPeriod != "" {
		return nil, models.ErrUnitEmployeeEnded
	}
	var open []store.UnitEmployeeRow
	if err := s.Conn(ctx).Where("unit_id = ? AND person_id = ? AND to_period = ''", unitID, named.PersonID).Order("id").Find(&open).Error; err != nil {
		return nil, kernel.Internal("load spells", err)
	}
	for _, sp := range open {
		if to.String() < sp.FromPeriod {
			return nil, models.ErrPeriodInvalid.WithReason("减员年月不能早于参保起始年月（" + sp.FromPeriod + "）")
		}
	}
	now := s.Now()
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		for i := range open {
			res := tx.Model(&store.UnitEmployeeRow{}).Where("id = ? AND to_period = ''", open[i].ID).
				Updates(map[string]any{"to_period": to.String(), "open_key": nil, "removed_by": userID, "removed_at": now})
			if res.Error != nil {
				return kernel.Internal("end spell", res.Error)
			}
			if res.RowsAffected != 1 {
				return models.ErrUnitEmployeeEnded // ended concurrently
			}
			open[i].ToPeriod = to.String()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.employeesOf(ctx, open)
}
