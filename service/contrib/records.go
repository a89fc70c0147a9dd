package contrib

import (
	"context"
	"strconv"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
	"gorm.io/gorm"
)

// Record is one paid month (or year) as the person sees it, with each
// step's time: paid at the channel, credited to the treasury (入库), booked
// by the agency (记账).
type Record struct {
	Period       string        `json:"period"`
	PeriodTo     string        `json:"period_to,omitempty"`
	Scheme       models.Scheme `json:"scheme"`
	SchemeName   string        `json:"scheme_name"`
	RegionCode   string        `json:"region_code"`
	BaseFen      models.Fen    `json:"base_fen"`
	AmountFen    models.Fen    `json:"amount_fen"`
	Status       string        `json:"status"`
	PaidAt       time.Time     `json:"paid_at"`
	CreditedAt   *time.Time    `json:"credited_at"`
	BookedAt     *time.Time    `json:"booked_at"`
	OrderNo      string        `json:"order_no"`
	PayerMasked  string        `json:"payer_masked"`
	TaxVoucherNo string        `json:"tax_voucher_no,omitempty"`
	// PayerKind is "unit" for a month the person's employer paid (then
	// PayerMasked is the unit's masked name), "counter" for money taken at
	// a counter for the person (PayerMasked is the counter's name), empty
	// when a user paid.
	PayerKind string `json:"payer_kind,omitempty"`
	// Counter is where the money was taken when a counter took it: a
	// bank's counter, a 云POS or 裕农通 point, or the hall's POS.
	Counter *RecordCounter `json:"counter,omitempty"`
}

// RecordCounter is the counter that took a payment.
type RecordCounter struct {
	Channel     string `json:"channel"`
	PartnerName string `json:"partner_name"`
	TerminalID  string `json:"terminal_id,omitempty"`
}

// RecordFilter narrows a records query.
type RecordFilter struct {
	Person people.PersonRef
	Year   int
	Scheme models.Scheme
}

// ListRecords lists a person's contribution records the caller may see.
func (s *Contrib) ListRecords(ctx context.Context, userID string, f RecordFilter) ([]Record, error) {
	p, err := s.people.ResolveForRecords(ctx, userID, f.Person)
	if err != nil {
		return nil, err
	}
	rows, err := s.records(ctx, p.ID, f.Scheme, f.Year, "", "")
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(rows))
	payers := map[string]string{}
	counters, err := s.counterOf(ctx, rows)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if c, ok := counters[r.OrderNo]; ok {
			rec := recordView(r, c.PartnerName, "")
			if r.PayerUnitID != "" {
				rec.PayerMasked, rec.PayerKind = s.unitMasked(ctx, r.PayerUnitID), "unit"
			} else if r.PayerUserID == "" {
				rec.PayerKind = "counter"
			} else {
				rec.PayerMasked = s.PayerMasked(ctx, r.PayerUserID)
			}
			cc := c
			rec.Counter = &cc
			out = append(out, rec)
			continue
		}
		key, kind := r.PayerUserID, ""
		if r.PayerUnitID != "" {
			key, kind = "unit:"+r.PayerUnitID, "unit"
		}
		payer, ok := payers[key]
		if !ok {
			if kind == "unit" {
				payer = s.unitMasked(ctx, r.PayerUnitID)
			} else {
				payer = s.PayerMasked(ctx, r.PayerUserID)
			}
			payers[key] = payer
		}
		out = append(out, recordView(r, payer, kind))
	}
	return out, nil
}

func recordView(r store.RecordRow, payer, kind string) Record {
	return Record{Period: r.Period, PeriodTo: r.PeriodTo, Scheme: models.Scheme(r.Scheme),
		SchemeName: models.Scheme(r.Scheme).Name(), RegionCode: r.RegionCode, BaseFen: models.Fen(r.BaseFen),
		AmountFen: models.Fen(r.AmountFen), Status: r.Status, PaidAt: r.PaidAt, CreditedAt: r.CreditedAt,
		BookedAt: r.BookedAt, OrderNo: r.OrderNo, PayerMasked: payer, TaxVoucherNo: r.TaxVoucherNo, PayerKind: kind}
}

// counterOf finds which of the records' orders a counter took, by order.
func (s *Contrib) counterOf(ctx context.Context, rows []store.RecordRow) (map[string]RecordCounter, error) {
	seen := map[string]bool{}
	var nos []string
	for _, r := range rows {
		if !seen[r.OrderNo] {
			seen[r.OrderNo] = true
			nos = append(nos, r.OrderNo)
		}
	}
	out := map[string]RecordCounter{}
	for len(nos) > 0 {
		n := min(len(nos), 500)
		var orders []store.OrderRow
		if err := s.Conn(ctx).Select("order_no", "counter_channel", "partner_name", "terminal_id").
			Where("order_no IN ? AND counter_channel <> ''", nos[:n]).Find(&orders).Error; err != nil {
			return nil, kernel.Internal("record counters", err)
		}
		for _, o := range orders {
			out[o.OrderNo] = RecordCounter{Channel: o.CounterChannel, PartnerName: o.PartnerName, TerminalID: o.TerminalID}
		}
		nos = nos[n:]
	}
	return out, nil
}

func (s *Contrib) records(ctx context.Context, personID string, scheme models.Scheme, year int, from, to string) ([]store.RecordRow, error) {
	q := s.Conn(ctx).Where("person_id = ?", personID)
	if scheme != "" {
		q = q.Where("scheme = ?", string(scheme))
	}
	if year > 0 {
		y := strconv.Itoa(year)
		q = q.Where("period >= ? AND period <= ?", y+"01", y+"12")
	}
	if from != "" {
		q = q.Where("period >= ?", from)
	}
	if to != "" {
		q = q.Where("period <= ?", to)
	}
	var rows []store.RecordRow
	if err := q.Order("scheme, period").Find(&rows).Error; err != nil {
		return nil, kernel.Internal("records", err)
	}
	return rows, nil
}

// unitMasked names the unit that paid an employee's month, masked as a
// person's name is: the employee sees who paid, not the unit's details.
func (s *Contrib) unitMasked(ctx context.Context, unitID string) string {
	var u store.UnitRow
	if err := s.Conn(ctx).Select("name").Where("id = ?", unitID).Take(&u).Error; err != nil {
		return "参保单位"
	}
	return models.MaskName(u.Name)
}

// PayerMasked names who paid: the payer's masked real name, or their
// channel when they never bound one.
func (s *Contrib) PayerMasked(ctx context.Context, userID string) string {
	u, err := s.User(ctx, userID)
	if err != nil || u.PersonID == nil {
		return "未实名用户"
	}
	p, err := s.Person(ctx, *u.PersonID)
	if err != nil {
		return "未实名用户"
	}
	return models.MaskName(p.Name)
}

// PayerMaskedTx is PayerMasked inside a transaction.
func (s *Contrib) PayerMaskedTx(tx *gorm.DB, userID string) string {
	var u store.UserRow
	if err := tx.Where("id = ?", userID).Take(&u).Error; err != nil || u.PersonID == nil {
		return "未实名用户"
	}
	var pr store.PersonRow
	if err := tx.Where("id = ?", *u.PersonID).Take(&pr).Error; err != nil {
		return "未实名用户"
	}
	p, err := s.OpenPerson(pr)
	if err != nil {
		return "未实名用户"
	}
	return models.MaskName(p.Name)
}
