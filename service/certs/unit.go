package certs

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// A unit's 完税证明 (business 7): the months its payments reached the
// treasury, one line per scheme, month and payment, summing its employees'
// records. It is the unit's own document: it names the unit in full (its
// name and 统一社会信用代码 are public registry data, and a bank checking
// the document must be able to compare them) and no person.

// CertificateUnit is the unit block of a unit's certificate.
type CertificateUnit struct {
	UnitID string `json:"unit_id"`
	Name   string `json:"name"`
	USCC   string `json:"uscc"`
}

// VerifiedUnit is the unit a verified certificate names. The unit's id is
// internal and is not shown to the public.
type VerifiedUnit struct {
	Name string `json:"name"`
	USCC string `json:"uscc"`
}

// issueUnitCertificate issues a unit's tax certificate for in.UnitID over
// schemes (all when empty) and in's period range. The caller must act for
// the unit; to anyone else the unit does not exist.
func (s *Certs) issueUnitCertificate(ctx context.Context, u store.UserRow, in IssueCertificateInput, reissueOf string, schemes []models.Scheme) (Certificate, error) {
	if in.Kind != models.CertTaxPayment {
		return Certificate{}, models.ErrInvalid.WithReason("单位只能开具税收完税证明（kind 应为 tax_payment_certificate）")
	}
	if _, err := s.units.ActsFor(ctx, u.ID, in.UnitID); err != nil {
		return Certificate{}, err
	}
	unit, err := s.units.Unit(ctx, in.UnitID)
	if err != nil {
		return Certificate{}, err
	}
	c, err := s.unitContent(ctx, unit, schemes, in.PeriodFrom, in.PeriodTo)
	if err != nil {
		return Certificate{}, err
	}
	c.ReissueOf = reissueOf
	return s.issue(ctx, u, "", unit.ID, c)
}

// unitPeriods checks a unit certificate's optional period range: either
// end may be left out (from the first month, to the last).
func unitPeriods(from, to string) error {
	for _, p := range []string{from, to} {
		if p == "" {
			continue
		}
		if _, err := models.ParsePeriod(p); err != nil || len(p) != 6 {
			return models.ErrInvalid.WithReason("period_from 和 period_to 应为 YYYYMM")
		}
	}
	if from != "" && to != "" {
		n := len(contrib.MonthRange(from, to))
		switch {
		case n == 0:
			return models.ErrInvalid.WithReason("period_from 不应晚于 period_to")
		case n > maxCertMonths:
			return models.ErrInvalid.WithReason("一次最多开具 30 年的完税证明")
		}
	}
	return nil
}

// unitLineKey groups a unit's records into printed lines: one per month,
// scheme and payment (a correction declaration paid later is its own
// line, with its own treasury voucher).
type unitLineKey struct {
	period, scheme, orderNo string
}

// unitContent is a unit's tax certificate over the records it paid that
// are credited or booked, optionally of some schemes and within a period
// range. Months paid but not yet credited are left out (the certificate
// covers what reached the treasury); refunded money is netted out like on
// a person's certificate, and a month refunded whole is gone.
func (s *Certs) unitContent(ctx context.Context, unit store.UnitRow, schemes []models.Scheme, from, to string) (models.Certificate, error) {
	codes := make([]string, len(schemes))
	for i, sc := range schemes {
		if !sc.IsUnit() {
			return models.Certificate{}, models.ErrSchemeInvalid.WithReason("单位完税证明的险种应为单位参保的险种")
		}
		codes[i] = string(sc)
	}
	if err := unitPeriods(from, to); err != nil {
		return models.Certificate{}, err
	}
	q := s.Read(ctx).Where("payer_unit_id = ? AND status IN ?", unit.ID,
		[]string{contrib.RecordCredited, contrib.RecordBooked})
	if len(codes) > 0 {
		q = q.Where("scheme IN ?", codes)
	}
	if from != "" {
		q = q.Where("period >= ?", from)
	}
	if to != "" {
		q = q.Where("period <= ?", to)
	}
	var rows []store.RecordRow
	if err := q.Order("period, scheme, order_no, id").Find(&rows).Error; err != nil {
		return models.Certificate{}, kernel.Internal("unit records", err)
	}
	refunded, err := s.refundedByRecord(ctx, rows)
	if err != nil {
		return models.Certificate{}, err
	}
	parts, err := s.unitLineParts(ctx, rows)
	if err != nil {
		return models.Certificate{}, err
	}
	c := models.Certificate{Kind: models.CertTaxPayment, UnitName: unit.Name, UnitUSCC: unit.USCC}
	index := map[unitLineKey]int{}
	people := map[unitLineKey]map[string]bool{}
	for _, r := range rows {
		net := r.AmountFen - refunded[r.ID]
		if net <= 0 {
			continue
		}
		line, ok := parts[r.UnitLineID]
		if !ok || line.AmountFen <= 0 {
			return models.Certificate{}, kernel.Internal("unit record", errors.New("record "+r.ID+" without its declaration line"))
		}
		unitFen := splitHalfUp(net, line.UnitFen, line.AmountFen)
		k := unitLineKey{r.Period, r.Scheme, r.OrderNo}
		i, seen := index[k]
		if !seen {
			sc := models.Scheme(r.Scheme)
			i = len(c.Lines)
			index[k] = i
			people[k] = map[string]bool{}
			c.Lines = append(c.Lines, models.CertificateLine{Period: r.Period, Scheme: sc, SchemeName: sc.Name(),
				Status: models.CertLineBooked, PaidAt: r.PaidAt, OrderNo: r.OrderNo, TaxVoucherNo: r.TaxVoucherNo})
		}
		l := &c.Lines[i]
		if !people[k][r.PersonID] {
			people[k][r.PersonID] = true
			l.Headcount++
		}
		l.BaseFen += models.Fen(r.BaseFen)
		l.UnitFen += models.Fen(unitFen)
		l.PersonalFen += models.Fen(net - unitFen)
		l.AmountFen += models.Fen(net)
		l.PaidAt = earliest(l.PaidAt, r.PaidAt)
		if l.TaxVoucherNo == "" {
			l.TaxVoucherNo = r.TaxVoucherNo
		}
		if r.CreditedAt != nil {
			l.CreditedAt = earliest(l.CreditedAt, *r.CreditedAt)
		}
		// The line is booked once every record in it is; it was
		// booked when the last of them was.
		if r.Status != contrib.RecordBooked || r.BookedAt == nil {
			l.Status, l.BookedAt = models.CertLineCredited, time.Time{}
		} else if l.Status == models.CertLineBooked && r.BookedAt.After(l.BookedAt) {
			l.BookedAt = *r.BookedAt
		}
	}
	if len(c.Lines) == 0 {
		return models.Certificate{}, models.ErrNotFound.WithReason("所选期间没有已入库的单位缴费记录")
	}
	// The query ordered by scheme code; print the schemes in their
	// customary order within each month.
	slices.SortStableFunc(c.Lines, func(a, b models.CertificateLine) int {
		if a.Period != b.Period {
			return cmpString(a.Period, b.Period)
		}
		return slices.Index(models.UnitSchemes, a.Scheme) - slices.Index(models.UnitSchemes, b.Scheme)
	})
	coverLines(&c, from, to)
	return c, nil
}

// unitLineParts loads the declaration lines the records came from, by id:
// they hold the unit's and the individual's parts of each amount.
func (s *Certs) unitLineParts(ctx context.Context, rows []store.RecordRow) (map[string]store.UnitDeclarationLineRow, error) {
	out := map[string]store.UnitDeclarationLineRow{}
	var ids []string
	for _, r := range rows {
		if r.UnitLineID != "" {
			ids = append(ids, r.UnitLineID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	// Chunks keep the IN list within every database's parameter limit.
	for chunk := range slices.Chunk(ids, 500) {
		var lines []store.UnitDeclarationLineRow
		if err := s.Read(ctx).Where("id IN ?", chunk).Find(&lines).Error; err != nil {
			return nil, kernel.Internal("unit declaration lines", err)
		}
		for _, l := range lines {
			out[l.ID] = l
		}
	}
	return out, nil
}

// splitHalfUp is the unit's part of amount when the declared line's unit
// part is unit of total: the same share, rounded half-up to the fen (the
// individual's part is the rest, so the parts always add up). A record
// paid as declared gets the declared parts exactly.
func splitHalfUp(amount, unit, total int64) int64 {
	if amount == total {
		return unit
	}
	// Amounts of one employee-month stay far below 10^9 fen, so the
	// product cannot overflow.
	return (2*amount*unit + total) / (2 * total)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// memberUnits lists the units u acts for now (legal representative or
// operator): their certificates are u's to see.
func (s *Certs) memberUnits(ctx context.Context, u store.UserRow) ([]string, error) {
	var ids []string
	if u.PersonID == nil {
		return ids, nil
	}
	if err := s.Read(ctx).Model(&store.UnitMemberRow{}).Where("person_id = ? AND removed_at IS NULL", *u.PersonID).
		Distinct().Pluck("unit_id", &ids).Error; err != nil {
		return nil, kernel.Internal("unit memberships", err)
	}
	return ids, nil
}

// unitCertificateAccess says whether u may see a unit's certificate: only
// while acting for the unit. Unlike a person's certificate, its issuer has
// no access of their own: an operator the unit removed loses the unit's
// documents with the unit.
func (s *Certs) unitCertificateAccess(ctx context.Context, u store.UserRow, row store.CertificateRow) (bool, error) {
	if u.PersonID == nil {
		return false, nil
	}
	_, err := s.units.ActsFor(ctx, u.ID, row.UnitID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// unitView adds the unit block to a unit certificate's view.
func unitView(v *Certificate, row store.CertificateRow, c models.Certificate) {
	if c.IsUnit() {
		v.Unit = &CertificateUnit{UnitID: row.UnitID, Name: c.UnitName, USCC: c.UnitUSCC}
	}
}

// replacements finds, for each row, the certificate that replaced it: the
// newest of its re-issue chain (every re-issue names the chain's first
// certificate), when that is not the row itself.
func (s *Certs) replacements(ctx context.Context, rows []store.CertificateRow) (map[string]string, error) {
	out := map[string]string{}
	var roots []string
	for _, r := range rows {
		roots = append(roots, chainRoot(r))
	}
	slices.Sort(roots)
	roots = slices.Compact(roots)
	newest := map[string]store.CertificateRow{}
	for chunk := range slices.Chunk(roots, 500) {
		var chain []store.CertificateRow
		if err := s.Read(ctx).Select("certificate_no", "reissue_of", "issued_at").Where("reissue_of IN ?", chunk).
			Find(&chain).Error; err != nil {
			return nil, kernel.Internal("re-issues", err)
		}
		for _, c := range chain {
			if n, ok := newest[c.ReissueOf]; !ok || later(c, n) {
				newest[c.ReissueOf] = c
			}
		}
	}
	for _, r := range rows {
		n, ok := newest[chainRoot(r)]
		if ok && n.CertificateNo != r.CertificateNo && later(n, r) {
			out[r.CertificateNo] = n.CertificateNo
		}
	}
	return out, nil
}

func chainRoot(r store.CertificateRow) string {
	if r.ReissueOf != "" {
		return r.ReissueOf
	}
	return r.CertificateNo
}

// later orders certificates by issue time, then number (two issued in one
// second).
func later(a, b store.CertificateRow) bool {
	if !a.IssuedAt.Equal(b.IssuedAt) {
		return a.IssuedAt.After(b.IssuedAt)
	}
	return a.CertificateNo > b.CertificateNo
}

// RevokeUnitCertificatesListing revokes every certificate in force of
// unitID that lists period of scheme (for the unit refund workflow: once
// money of a month is refunded, the 完税证明 showing it paid in stops
// verifying as valid; the unit asks for a new one). It returns the numbers
// it revoked.
func (s *Certs) RevokeUnitCertificatesListing(ctx context.Context, unitID string, scheme models.Scheme, period, reason string) ([]string, error) {
	var rows []store.CertificateRow
	if err := s.Read(ctx).Select(store.CertificateColumnsWithoutPDF()).
		Where("unit_id = ? AND period_from <= ? AND period_to >= ? AND revoked_at IS NULL", unitID, period, period).
		Find(&rows).Error; err != nil {
		return nil, kernel.Internal("unit certificates listing a period", err)
	}
	var revoked []string
	for _, r := range rows {
		c, err := models.ParseCanonical(r.Canonical)
		if err != nil {
			return revoked, kernel.Internal("stored certificate", err)
		}
		if !slices.ContainsFunc(c.Lines, func(l models.CertificateLine) bool { return l.Period == period && l.Scheme == scheme }) {
			continue
		}
		if err := s.RevokeCertificate(ctx, r.CertificateNo, reason); err != nil {
			return revoked, err
		}
		revoked = append(revoked, r.CertificateNo)
	}
	return revoked, nil
}
