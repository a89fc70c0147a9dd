package units

import (
	"context"
	"sort"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Declaration statuses (unit_declarations.status). A declaration is open
// until a payment settles it; paying while a payment order is live
// (order_no set); paid once settled. Payments move it with
// MoveDeclaration.
const (
	DeclarationOpen   = "open"
	DeclarationPaying = "paying"
	DeclarationPaid   = "paid"
)

// DeclarationInput confirms a month's 预处理数据 as the unit's
// declaration, or — with Corrects — declares the difference between the
// month's assessment now and everything declared for it before (更正申报).
type DeclarationInput struct {
	Period   string `json:"period"`
	Corrects string `json:"corrects,omitempty"`
}

// Declaration is a unit's declaration of one month.
type Declaration struct {
	DeclarationID string        `json:"declaration_id"`
	Period        string        `json:"period"`
	Seq           int           `json:"seq"`
	Corrects      string        `json:"corrects,omitempty"`
	AmountFen     int64         `json:"amount_fen"`
	UnitFen       int64         `json:"unit_fen"`
	IndividualFen int64         `json:"individual_fen"`
	Headcount     int           `json:"headcount"`
	Status        string        `json:"status"`
	OrderNo       string        `json:"order_no,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	Schemes       []SchemeTotal `json:"schemes"`
	Lines         []PayableLine `json:"lines,omitempty"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

// CreateUnitDeclaration confirms the month's assessment as the unit's
// declaration: the totals and every line are kept as they are now, in one
// transaction. One declaration per unit and month (the unique (unit_id,
// period, seq) decides a race); a correction names the declaration it
// corrects and gets the next seq.
func (s *Units) CreateUnitDeclaration(ctx context.Context, userID, unitID string, in DeclarationInput) (Declaration, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return Declaration{}, err
	}
	p, err := models.ParsePeriod(in.Period)
	if err != nil {
		return Declaration{}, err
	}
	now := s.Now()
	if p.String() > currentPeriod(now).String() {
		return Declaration{}, models.ErrPeriodInvalid.WithReason("不能申报尚未到来的月份")
	}
	a, err := s.assess(ctx, unitID, p)
	if err != nil {
		return Declaration{}, err
	}
	var row store.UnitDeclarationRow
	var lines []store.UnitDeclarationLineRow
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		lines = a.lines
		seq := 0
		if in.Corrects != "" {
			var orig store.UnitDeclarationRow
			err := tx.Where("id = ? AND unit_id = ?", in.Corrects, unitID).Take(&orig).Error
			if kernel.IsNotFound(err) {
				return models.ErrNotFound
			}
			if err != nil {
				return kernel.Internal("load corrected declaration", err)
			}
			if orig.Period != p.String() {
				return models.ErrInvalid.WithReason("更正申报的所属期应与被更正的申报一致（" + orig.Period + "）")
			}
			if seq, lines, err = s.difference(tx, unitID, p.String(), a.lines); err != nil {
				return err
			}
		}
		if len(lines) == 0 {
			if in.Corrects != "" {
				return models.ErrUnitNothingToDeclare.WithReason("本月数据与已申报的一致，无需更正")
			}
			return models.ErrUnitNothingToDeclare.WithReason("本月没有参保职工")
		}
		row = store.UnitDeclarationRow{ID: kernel.NewID("ud"), UnitID: unitID, Period: p.String(), Seq: seq, CorrectsID: in.Corrects,
			Status: DeclarationOpen, CreatedBy: userID, CreatedAt: now, UpdatedAt: now}
		people := map[string]bool{}
		for i := range lines {
			lines[i].ID = kernel.NewID("udl")
			lines[i].DeclarationID = row.ID
			row.UnitFen += lines[i].UnitFen
			row.IndividualFen += lines[i].IndividualFen
			people[lines[i].PersonID] = true
		}
		row.AmountFen = row.UnitFen + row.IndividualFen
		row.Headcount = len(people)
		if seq > 0 && row.AmountFen <= 0 {
			// A correction that owes nothing cannot be paid, and refunds
			// are not drawn from declarations: kept, it would stay open for
			// good and count as declared, so a later difference would charge
			// the unit again for money it already paid. What was paid too
			// much comes back through the unit's refund application.
			return models.ErrUnitCorrectionNotPayable
		}
		ok, err := kernel.InsertIfAbsent(tx, &row)
		if err != nil {
			return kernel.Internal("insert declaration", err)
		}
		if !ok {
			if seq == 0 {
				return models.ErrUnitDeclarationExists
			}
			return models.ErrUnitDeclarationExists.WithReason("另一更正申报正在提交，请刷新后再试")
		}
		if err := tx.CreateInBatches(lines, batchSize).Error; err != nil {
			return kernel.Internal("insert declaration lines", err)
		}
		return nil
	})
	if err != nil {
		return Declaration{}, err
	}
	return declarationOf(row, schemeTotals(lines)), nil
}

// difference is the correction of a month: the next seq and, per
// employee spell, the assessment now minus everything declared before.
// Lines with no difference are left out.
func (s *Units) difference(tx *gorm.DB, unitID, period string, now []store.UnitDeclarationLineRow) (int, []store.UnitDeclarationLineRow, error) {
	var decls []store.UnitDeclarationRow
	if err := tx.Where("unit_id = ? AND period = ?", unitID, period).Find(&decls).Error; err != nil {
		return 0, nil, kernel.Internal("load declarations", err)
	}
	seq, ids := 0, make([]string, 0, len(decls))
	for _, d := range decls {
		seq = max(seq, d.Seq+1)
		ids = append(ids, d.ID)
	}
	declared := map[string]store.UnitDeclarationLineRow{}
	var before []store.UnitDeclarationLineRow
	if err := tx.Where("declaration_id IN ?", ids).Find(&before).Error; err != nil {
		return 0, nil, kernel.Internal("load declared lines", err)
	}
	for _, l := range before {
		d, ok := declared[l.EmployeeID]
		if !ok {
			d = store.UnitDeclarationLineRow{EmployeeID: l.EmployeeID, PersonID: l.PersonID, Scheme: l.Scheme, RegionCode: l.RegionCode}
		}
		d.BaseFen += l.BaseFen
		d.UnitFen += l.UnitFen
		d.IndividualFen += l.IndividualFen
		d.AmountFen += l.AmountFen
		declared[l.EmployeeID] = d
	}
	var out []store.UnitDeclarationLineRow
	for _, l := range now {
		d := declared[l.EmployeeID]
		delete(declared, l.EmployeeID)
		l.BaseFen -= d.BaseFen
		l.UnitFen -= d.UnitFen
		l.IndividualFen -= d.IndividualFen
		l.AmountFen -= d.AmountFen
		if l.UnitFen != 0 || l.IndividualFen != 0 || l.BaseFen != 0 {
			out = append(out, l)
		}
	}
	for _, d := range declared { // declared before, not assessed now
		if d.UnitFen != 0 || d.IndividualFen != 0 || d.BaseFen != 0 {
			d.BaseFen, d.UnitFen, d.IndividualFen, d.AmountFen = -d.BaseFen, -d.UnitFen, -d.IndividualFen, -d.AmountFen
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EmployeeID < out[j].EmployeeID })
	return seq, out, nil
}

// schemeTotals sums lines by scheme, in scheme order.
func schemeTotals(lines []store.UnitDeclarationLineRow) []SchemeTotal {
	by := map[string]*SchemeTotal{}
	var order []string
	for _, l := range lines {
		t, ok := by[l.Scheme]
		if !ok {
			t = &SchemeTotal{Scheme: l.Scheme, RegionCode: l.RegionCode}
			by[l.Scheme] = t
			order = append(order, l.Scheme)
		}
		t.UnitFen += l.UnitFen
		t.IndividualFen += l.IndividualFen
		t.TotalFen += l.UnitFen + l.IndividualFen
		t.Headcount++
	}
	sort.Strings(order)
	out := make([]SchemeTotal, 0, len(order))
	for _, sc := range order {
		out = append(out, *by[sc])
	}
	return out
}

func declarationOf(d store.UnitDeclarationRow, schemes []SchemeTotal) Declaration {
	return Declaration{DeclarationID: d.ID, Period: d.Period, Seq: d.Seq, Corrects: d.CorrectsID, AmountFen: d.AmountFen,
		UnitFen: d.UnitFen, IndividualFen: d.IndividualFen, Headcount: d.Headcount, Status: d.Status, OrderNo: d.OrderNo,
		CreatedAt: d.CreatedAt, Schemes: schemes}
}

// GetUnitDeclaration returns a declaration of the unit with its totals per
// scheme and the page of its lines after page.After.
func (s *Units) GetUnitDeclaration(ctx context.Context, userID, unitID, declarationID string, page kernel.Page) (Declaration, error) {
	if _, err := s.ActsFor(ctx, userID, unitID); err != nil {
		return Declaration{}, err
	}
	d, err := s.LoadUnitDeclaration(ctx, unitID, declarationID)
	if err != nil {
		return Declaration{}, err
	}
	all, err := DeclarationLines(s.Conn(ctx), d.ID)
	if err != nil {
		return Declaration{}, err
	}
	out := declarationOf(d, schemeTotals(all))
	from := sort.Search(len(all), func(i int) bool { return all[i].ID > page.After })
	to := min(from+page.Size, len(all))
	lines := all[from:to]
	if to < len(all) && to > from {
		out.NextPageToken = lines[len(lines)-1].ID
	}
	if out.Lines, err = s.linesOf(ctx, lines); err != nil {
		return Declaration{}, err
	}
	return out, nil
}

// LoadUnitDeclaration loads a declaration of unit unitID (ErrNotFound if the
// unit has none of that id). It checks no access: callers call ActsFor
// first.
func (s *Units) LoadUnitDeclaration(ctx context.Context, unitID, declarationID string) (store.UnitDeclarationRow, error) {
	var d store.UnitDeclarationRow
	err := s.Conn(ctx).Where("id = ? AND unit_id = ?", declarationID, unitID).Take(&d).Error
	if kernel.IsNotFound(err) {
		return d, models.ErrNotFound
	}
	return d, kernel.Internal("load declaration", err)
}

// DeclarationLines loads every line of a declaration, ordered by line id
// (the order the unit pages them in).
func DeclarationLines(tx *gorm.DB, declarationID string) ([]store.UnitDeclarationLineRow, error) {
	var lines []store.UnitDeclarationLineRow
	err := tx.Where("declaration_id = ?", declarationID).Order("id").Find(&lines).Error
	return lines, kernel.Internal("load declaration lines", err)
}

// MoveDeclaration moves a declaration from status from to status to,
// setting order_no to orderNo (the live payment order; "" clears it), in
// one conditional update of exactly one row. It reports whether it moved:
// false means the declaration was not in status from (someone else moved
// it first), and the caller must not act as if it had.
func MoveDeclaration(tx *gorm.DB, declarationID, from, to, orderNo string, at time.Time) (bool, error) {
	res := tx.Model(&store.UnitDeclarationRow{}).Where("id = ? AND status = ?", declarationID, from).
		Updates(map[string]any{"status": to, "order_no": orderNo, "updated_at": at})
	if res.Error != nil {
		return false, kernel.Internal("move declaration", res.Error)
	}
	return res.RowsAffected == 1, nil
}
