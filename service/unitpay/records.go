package unitpay

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// UnitRecord is one employee's month a unit order paid, as the unit's
// certificates (完税证明) and refunds need it: the record's stage and
// times, with the unit and individual parts of its declaration line
// (records keep only the sum, AmountFen = UnitFen + IndividualFen).
type UnitRecord struct {
	RecordID      string
	OrderNo       string
	UnitLineID    string
	PersonID      string
	Scheme        models.Scheme
	Period        string
	RegionCode    string
	AdjustmentNo  int
	BaseFen       models.Fen
	UnitFen       models.Fen
	IndividualFen models.Fen
	AmountFen     models.Fen
	Status        string // paid, credited, booked, refunding, refunded (contrib.Record…)
	PaidAt        time.Time
	CreditedAt    *time.Time
	BookedAt      *time.Time
	TaxVoucherNo  string
}

// UnitOrders lists a unit's orders in the given statuses (every status
// when none), oldest first. It does not check access: callers have
// checked units.ActsFor (or are staff).
func (s *UnitPay) UnitOrders(ctx context.Context, unitID string, statuses ...string) ([]store.OrderRow, error) {
	q := s.Conn(ctx).Where("unit_id = ? AND unit_id <> ''", unitID)
	if len(statuses) > 0 {
		q = q.Where("status IN ?", statuses)
	}
	var rows []store.OrderRow
	if err := q.Order("created_at, order_no").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("unit orders", err)
	}
	return rows, nil
}

// UnitRecords lists the employees' records a unit paid, narrowed to one
// order when orderNo is set and to periods from..to (YYYYMM, inclusive)
// when set, ordered by period, scheme and person. Like UnitOrders it does
// not check access.
func (s *UnitPay) UnitRecords(ctx context.Context, unitID, orderNo, from, to string) ([]UnitRecord, error) {
	q := s.Conn(ctx).Where("payer_unit_id = ? AND payer_unit_id <> ''", unitID)
	if orderNo != "" {
		q = q.Where("order_no = ?", orderNo)
	}
	if from != "" {
		q = q.Where("period >= ?", from)
	}
	if to != "" {
		q = q.Where("period <= ?", to)
	}
	var recs []store.RecordRow
	if err := q.Order("period, scheme, person_id, adjustment_no").Find(&recs).Error; err != nil {
		return nil, kernel.Internal("unit records", err)
	}
	lines := map[string]store.UnitDeclarationLineRow{}
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.UnitLineID)
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		var ls []store.UnitDeclarationLineRow
		if err := s.Conn(ctx).Where("id IN ?", ids[:n]).Find(&ls).Error; err != nil {
			return nil, kernel.Internal("unit declaration lines", err)
		}
		for _, l := range ls {
			lines[l.ID] = l
		}
		ids = ids[n:]
	}
	out := make([]UnitRecord, 0, len(recs))
	for _, r := range recs {
		l := lines[r.UnitLineID]
		out = append(out, UnitRecord{RecordID: r.ID, OrderNo: r.OrderNo, UnitLineID: r.UnitLineID, PersonID: r.PersonID, Scheme: models.Scheme(r.Scheme),
			Period: r.Period, RegionCode: r.RegionCode, AdjustmentNo: r.AdjustmentNo, BaseFen: models.Fen(r.BaseFen), UnitFen: models.Fen(l.UnitFen),
			IndividualFen: models.Fen(l.IndividualFen), AmountFen: models.Fen(r.AmountFen), Status: r.Status, PaidAt: r.PaidAt,
			CreditedAt: r.CreditedAt, BookedAt: r.BookedAt, TaxVoucherNo: r.TaxVoucherNo})
	}
	return out, nil
}
