package contrib

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
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

// Records pages: a realistic person has a few hundred records at most (a
// flexible worker paying monthly for fifteen years has 180 per scheme), so
// the default page keeps them on one page; the maximum bounds one answer.
const (
	RecordsPageDefault = 200
	RecordsPageMax     = 500
)

// ListRecords lists all of a person's contribution records the caller may
// see, in one piece (the service's own callers and tests); the API pages
// through ListRecordsPage.
func (s *Contrib) ListRecords(ctx context.Context, userID string, f RecordFilter) ([]Record, error) {
	out, _, err := s.ListRecordsPage(ctx, userID, f, kernel.Page{})
	return out, err
}

// ListRecordsPage lists a page of a person's contribution records the
// caller may see, by scheme then period (then adjustment, which makes the
// key unique within the person), and the token of the next page ("" at the
// end). A page.Size of 0 lists them all. The token is the last key of the
// page bound to the person and the filter: one issued for another person
// or filter is refused, never read as a position in this one.
func (s *Contrib) ListRecordsPage(ctx context.Context, userID string, f RecordFilter, page kernel.Page) ([]Record, string, error) {
	b, err := s.ListRecordsPageJSON(ctx, userID, f, page)
	if err != nil {
		return nil, "", err
	}
	var body RecordsPage
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, "", kernel.Internal("records page", err)
	}
	return body.Items, body.NextPageToken, nil
}

// RecordsPage is the listRecords answer.
type RecordsPage struct {
	Items         []Record `json:"items"`
	NextPageToken string   `json:"next_page_token"`
}

// ListRecordsPageJSON is ListRecordsPage's page as the listRecords body,
// already encoded: the cache keeps the encoded body, so a cached page is
// served without decoding and encoding it again (that was a fifth of the
// request's CPU).
func (s *Contrib) ListRecordsPageJSON(ctx context.Context, userID string, f RecordFilter, page kernel.Page) ([]byte, error) {
	p, err := s.people.ResolveForRecords(ctx, userID, f.Person)
	if err != nil {
		return nil, err
	}
	var after *recordKey
	if page.After != "" {
		k, ok := parseRecordToken(page.After, p.ID, f)
		if !ok {
			return nil, models.ErrInvalid.WithReason("page_token 无效")
		}
		after = &k
	}
	key := recordsPageKey(p.ID, f, page)
	version, cached, cacheOK := s.loadRecordsPage(ctx, key, p.ID)
	if cached != nil {
		return cached, nil
	}
	rows, err := s.recordRows(ctx, p.ID, f, after, page.Size)
	if err != nil {
		return nil, err
	}
	next := ""
	if page.Size > 0 && len(rows) > page.Size {
		rows = rows[:page.Size]
		last := rows[len(rows)-1]
		next = recordKey{Scheme: last.Scheme, Period: last.Period, Adjustment: last.AdjustmentNo}.token(p.ID, f)
	}
	out := make([]Record, 0, len(rows))
	// Rows written before migration 0013 whose payer the worker has not
	// named yet are named here, once per payer in the page.
	payers := map[string]string{}
	named := true // every row carries its payer as booked: the page may be cached
	for _, r := range rows {
		named = named && (r.PayerMasked != nil || (r.PayerUnitID == "" && r.PayerUserID == ""))
		var payer, kind string
		switch {
		case r.PayerUnitID != "":
			kind = "unit"
			payer = s.payerOf(ctx, r, payers, "unit:"+r.PayerUnitID, func() string { return s.unitMasked(ctx, r.PayerUnitID) })
		case r.PayerUserID == "" && r.CounterChannel != "":
			kind = "counter"
		case r.PayerUserID == "":
			payer = "未实名用户"
		default:
			payer = s.payerOf(ctx, r, payers, r.PayerUserID, func() string { return s.PayerMasked(ctx, r.PayerUserID) })
		}
		rec := recordView(r, payer, kind)
		if r.CounterChannel != "" {
			rec.Counter = &RecordCounter{Channel: r.CounterChannel, PartnerName: r.CounterPartnerName, TerminalID: r.CounterTerminalID}
		}
		out = append(out, rec)
	}
	b, err := json.Marshal(RecordsPage{Items: out, NextPageToken: next})
	if err != nil {
		return nil, kernel.Internal("records page", err)
	}
	if cacheOK && named {
		s.storeRecordsPage(ctx, key, version, b)
	}
	return b, nil
}

// payerOf is the row's stored masked payer, or (for a row not yet filled)
// the one worked out now, once per key.
func (s *Contrib) payerOf(ctx context.Context, r store.RecordRow, cache map[string]string, key string, work func() string) string {
	if r.PayerMasked != nil {
		return *r.PayerMasked
	}
	v, ok := cache[key]
	if !ok {
		v = work()
		cache[key] = v
	}
	return v
}

func recordView(r store.RecordRow, payer, kind string) Record {
	return Record{Period: r.Period, PeriodTo: r.PeriodTo, Scheme: models.Scheme(r.Scheme),
		SchemeName: models.Scheme(r.Scheme).Name(), RegionCode: r.RegionCode, BaseFen: models.Fen(r.BaseFen),
		AmountFen: models.Fen(r.AmountFen), Status: r.Status, PaidAt: r.PaidAt, CreditedAt: r.CreditedAt,
		BookedAt: r.BookedAt, OrderNo: r.OrderNo, PayerMasked: payer, TaxVoucherNo: r.TaxVoucherNo, PayerKind: kind}
}

// recordListColumns are the records columns the list reads.
const recordListColumns = "scheme, period, period_to, region_code, base_fen, amount_fen, status, paid_at, credited_at, booked_at, " +
	"order_no, tax_voucher_no, payer_user_id, payer_unit_id, adjustment_no, payer_masked, " +
	"counter_channel, counter_partner_name, counter_terminal_id"

// recordKey is a record's position in the list's order, unique within a
// person (ux_records_person_scheme_period).
type recordKey struct {
	Scheme     string
	Period     string
	Adjustment int
}

// token is k bound to the person and filter: scheme.period.adjustment.tag,
// where tag is a digest of what the token is valid for. It is not a
// secret: it only makes a token from another list refused rather than
// read as a position in this one.
func (k recordKey) token(personID string, f RecordFilter) string {
	return k.Scheme + "." + k.Period + "." + strconv.Itoa(k.Adjustment) + "." + recordTokenTag(personID, f)
}

func recordTokenTag(personID string, f RecordFilter) string {
	h := sha256.Sum256([]byte("records|" + personID + "|" + string(f.Scheme) + "|" + strconv.Itoa(f.Year)))
	return hex.EncodeToString(h[:6])
}

func parseRecordToken(tok, personID string, f RecordFilter) (recordKey, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[3] != recordTokenTag(personID, f) {
		return recordKey{}, false
	}
	k := recordKey{Scheme: parts[0], Period: parts[1]}
	if len(k.Scheme) == 0 || len(k.Scheme) > 32 || strings.Trim(k.Scheme, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return recordKey{}, false
	}
	if _, err := time.Parse("200601", k.Period); err != nil || len(k.Period) != 6 {
		return recordKey{}, false
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 0 || strconv.Itoa(n) != parts[2] {
		return recordKey{}, false
	}
	k.Adjustment = n
	return k, true
}

// recordRows reads one page (limit rows, plus one to tell whether another
// follows; all when limit is 0) of a person's records after the key, in
// one query on one table on the read pool. The order and the
// keyset follow ux_records_person_scheme_period (person_id, scheme,
// period, adjustment_no), so a page from the middle of 10,000 records
// seeks there instead of counting up to it.
func (s *Contrib) recordRows(ctx context.Context, personID string, f RecordFilter, after *recordKey, limit int) ([]store.RecordRow, error) {
	// Only the columns the list shows: the pure-Go SQLite driver looks up
	// each column's declared type on every row, so a page of 200 spends
	// most of its time per column read.
	q := s.Read(ctx).Select(recordListColumns).Where("person_id = ?", personID)
	if f.Scheme != "" {
		q = q.Where("scheme = ?", string(f.Scheme))
	}
	if f.Year > 0 {
		y := strconv.Itoa(f.Year)
		q = q.Where("period >= ? AND period <= ?", y+"01", y+"12")
	}
	if after != nil {
		if s.DB.Dialect == store.MySQL {
			// MariaDB does not seek an index on a row-value comparison;
			// the leading bound on scheme gives it the range.
			q = q.Where("scheme >= ? AND (scheme > ? OR period > ? OR (period = ? AND adjustment_no > ?))",
				after.Scheme, after.Scheme, after.Period, after.Period, after.Adjustment)
		} else {
			q = q.Where("(scheme, period, adjustment_no) > (?, ?, ?)", after.Scheme, after.Period, after.Adjustment)
		}
	}
	if limit > 0 {
		q = q.Limit(limit + 1)
	}
	var rows []store.RecordRow
	if err := q.Order("scheme, period, adjustment_no").Find(&rows).Error; err != nil {
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
	// One statement, not user then person: settling runs this once per
	// order, and each round trip counts against its ceiling.
	var pr store.PersonRow
	if err := tx.Model(&store.PersonRow{}).Select("persons.id", "persons.name_sealed", "persons.id_sealed").
		Joins("JOIN users ON users.person_id = persons.id").Where("users.id = ?", userID).Take(&pr).Error; err != nil {
		return "未实名用户"
	}
	p, err := s.OpenPerson(pr)
	if err != nil {
		return "未实名用户"
	}
	return models.MaskName(p.Name)
}

// RecordStamp is what each record of a paid order carries for the list,
// worked out once per order when it is booked (so listing decrypts and
// joins nothing).
type RecordStamp struct {
	PayerMasked                                           *string
	CounterChannel, CounterPartnerName, CounterTerminalID string
}

// Apply sets the stamp's columns on r.
func (st RecordStamp) Apply(r *store.RecordRow) {
	r.PayerMasked, r.CounterChannel, r.CounterPartnerName, r.CounterTerminalID =
		st.PayerMasked, st.CounterChannel, st.CounterPartnerName, st.CounterTerminalID
}

// RecordStampTx stamps the records of order o, booked in tx. A counter's
// confirmation (source "partner") writes the counter onto the order in the
// settling transaction after o was read, so then it is read again.
func (s *Contrib) RecordStampTx(tx *gorm.DB, o store.OrderRow, source string) (RecordStamp, error) {
	if source == "partner" {
		var c store.OrderRow
		if err := tx.Select("counter_channel", "partner_name", "terminal_id").Where("order_no = ?", o.OrderNo).Take(&c).Error; err != nil {
			return RecordStamp{}, err
		}
		o.CounterChannel, o.PartnerName, o.TerminalID = c.CounterChannel, c.PartnerName, c.TerminalID
	}
	st := RecordStamp{PayerMasked: s.RecordPayerTx(tx, o)}
	if o.CounterChannel != "" {
		st.CounterChannel, st.CounterPartnerName, st.CounterTerminalID = o.CounterChannel, o.PartnerName, o.TerminalID
	}
	return st, nil
}

// RecordPayerTx (tx may be any handle) is the masked payer a record of order o carries, worked
// out once per order when it is booked (so listing decrypts nothing): the
// paying unit's masked name, the paying user's masked real name, or ""
// when nobody's account paid (money taken at a counter).
func (s *Contrib) RecordPayerTx(tx *gorm.DB, o store.OrderRow) *string {
	var v string
	switch {
	case o.UnitID != "":
		var u store.UnitRow
		if err := tx.Select("name").Where("id = ?", o.UnitID).Take(&u).Error; err != nil {
			v = "参保单位"
		} else {
			v = models.MaskName(u.Name)
		}
	case o.PayerMasked != nil:
		// Worked out when the payer opened the order (migrations/0018).
		v = *o.PayerMasked
	case o.PayerUserID != "":
		v = s.PayerMaskedTx(tx, o.PayerUserID)
	}
	return &v
}

// fillBatch bounds one statement of FillRecordPayers.
const fillBatch = 200

// FillRecordPayers names the payer of the records written before migration
// 0013 (payer_masked NULL), a batch of payers per call, and reports how
// many records it filled. Each payer's rows are set by one conditional
// update on rows still NULL, so instances running it at once (or a new
// record booked meanwhile) never overwrite a name. Once it finds none left
// it does nothing more in this process: new records carry their payer.
func (s *Contrib) FillRecordPayers(ctx context.Context) (int64, error) {
	if s.payersFilled.Load() {
		return 0, nil
	}
	var pending []struct {
		PayerUserID string
		PayerUnitID string
	}
	if err := s.Conn(ctx).Model(&store.RecordRow{}).Distinct("payer_user_id", "payer_unit_id").
		Where("payer_masked IS NULL").Limit(fillBatch).Find(&pending).Error; err != nil {
		return 0, kernel.Internal("records to name", err)
	}
	if len(pending) == 0 {
		s.payersFilled.Store(true)
		return 0, nil
	}
	var n int64
	for _, p := range pending {
		v := s.RecordPayerTx(s.Conn(ctx), store.OrderRow{UnitID: p.PayerUnitID, PayerUserID: p.PayerUserID})
		res := s.Conn(ctx).Model(&store.RecordRow{}).Where("payer_user_id = ? AND payer_unit_id = ? AND payer_masked IS NULL",
			p.PayerUserID, p.PayerUnitID).Update("payer_masked", *v)
		if res.Error != nil {
			return n, kernel.Internal("name record payers", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}
