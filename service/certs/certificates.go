package certs

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/store"
)

// Verification results (verifyCertificate's result).
const (
	VerifyValid   = "valid"   // genuine and in force
	VerifyRevoked = "revoked" // genuine, but revoked (e.g. after a refund)
	VerifyUnknown = "unknown" // no such certificate, a wrong code, or a row that fails its signature
)

// Certificate statuses in lists.
const (
	CertificateValid   = "valid"
	CertificateRevoked = "revoked"
)

const (
	// certIssueLimit certificates per user per certIssueWindow: rendering
	// a PDF is CPU work, and nobody needs more in an hour.
	certIssueLimit  = 30
	certIssueWindow = time.Hour
	// maxCertMonths bounds a proof's period range (30 years: a whole
	// working life of contributions fits).
	maxCertMonths = 360
	// certNoAttempts is how many numbers are drawn before giving up; one
	// collision in 10^12 numbers a day is already unlikely.
	certNoAttempts = 5
	// maxRevokeReason is the revoke_reason column's size in characters.
	maxRevokeReason = 200
)

// IssueCertificateInput asks for a certificate. A payment voucher reads
// only OrderNo; a contribution proof and a tax certificate read Person
// (default self), Scheme and the period range. A re-issue (补开) names
// the certificate it replaces in ReissueOf and takes kind, person, scheme,
// periods and order from it; the other fields are ignored.
type IssueCertificateInput struct {
	Kind       models.CertificateKind `json:"kind"`
	Person     people.PersonRef       `json:"person"`
	Scheme     models.Scheme          `json:"scheme"`
	PeriodFrom string                 `json:"period_from"`
	PeriodTo   string                 `json:"period_to"`
	OrderNo    string                 `json:"order_no"`
	ReissueOf  string                 `json:"reissue_of"`
	// UnitID asks for a unit's tax certificate (单位完税证明) instead
	// of a person's: Person and OrderNo are then ignored, Scheme and the
	// periods are optional filters (see unit.go).
	UnitID string `json:"unit_id"`
}

// Certificate is the issuer's view of an issued certificate: what it
// says (masked, as printed), its verification code and where to get the
// PDF.
type Certificate struct {
	CertificateNo        string                 `json:"certificate_no"`
	VerifyCode           string                 `json:"verify_code"`
	Kind                 models.CertificateKind `json:"kind"`
	Title                string                 `json:"title"`
	Status               string                 `json:"status"`
	IssuedAt             time.Time              `json:"issued_at"`
	RevokedAt            *time.Time             `json:"revoked_at,omitempty"`
	Authority            string                 `json:"authority"`
	PersonNameMasked     string                 `json:"person_name_masked"`
	PersonIDNumberMasked string                 `json:"person_id_number_masked"`
	PayerMasked          string                 `json:"payer_masked,omitempty"`
	// Scheme is "" on a unit's certificate, whose lines name their schemes.
	Scheme     models.Scheme `json:"scheme,omitempty"`
	SchemeName string        `json:"scheme_name,omitempty"`
	PeriodFrom string        `json:"period_from"`
	PeriodTo   string        `json:"period_to"`
	OrderNo    string        `json:"order_no,omitempty"`
	TotalFen   models.Fen    `json:"total_fen"`
	LineCount  int           `json:"line_count"`
	ReissueOf  string        `json:"reissue_of,omitempty"`
	// ReplacedBy is the newest re-issue (补开) of this certificate's
	// chain, when this one is not it.
	ReplacedBy string           `json:"replaced_by,omitempty"`
	Unit       *CertificateUnit `json:"unit,omitempty"`
	PDFURL     string           `json:"pdf_url"`
	VerifyURL  string           `json:"verify_url"`
}

// CertificateVerification is what a third party checking a certificate
// sees. For VerifyUnknown it holds the result alone, whatever the cause,
// so a wrong code cannot be told from a number never issued. Otherwise it
// is the masked summary the PDF prints, read from the signed content.
type CertificateVerification struct {
	Result               string                 `json:"result"`
	CertificateNo        string                 `json:"certificate_no,omitempty"`
	Kind                 models.CertificateKind `json:"kind,omitempty"`
	Title                string                 `json:"title,omitempty"`
	IssuedAt             *time.Time             `json:"issued_at,omitempty"`
	RevokedAt            *time.Time             `json:"revoked_at,omitempty"`
	Authority            string                 `json:"authority,omitempty"`
	PersonNameMasked     string                 `json:"person_name_masked,omitempty"`
	PersonIDNumberMasked string                 `json:"person_id_number_masked,omitempty"`
	PayerMasked          string                 `json:"payer_masked,omitempty"`
	Scheme               models.Scheme          `json:"scheme,omitempty"`
	SchemeName           string                 `json:"scheme_name,omitempty"`
	PeriodFrom           string                 `json:"period_from,omitempty"`
	PeriodTo             string                 `json:"period_to,omitempty"`
	OrderNo              string                 `json:"order_no,omitempty"`
	TotalFen             *models.Fen            `json:"total_fen,omitempty"`
	LineCount            int                    `json:"line_count,omitempty"`
	Lines                []VerifiedLine         `json:"lines,omitempty"`
	ReissueOf            string                 `json:"reissue_of,omitempty"`
	// ReplacedBy: this certificate was re-issued (补开) and the verifier
	// should ask for the newer one; the result stays valid, the content
	// being genuine and not revoked.
	ReplacedBy string        `json:"replaced_by,omitempty"`
	Unit       *VerifiedUnit `json:"unit,omitempty"`
}

// VerifiedLine is one printed row of a verified certificate.
type VerifiedLine struct {
	Period     string     `json:"period"`
	PeriodTo   string     `json:"period_to,omitempty"`
	BaseFen    models.Fen `json:"base_fen"`
	AmountFen  models.Fen `json:"amount_fen"`
	Status     string     `json:"status"`
	CreditedAt *time.Time `json:"credited_at,omitempty"`
	// A unit certificate's line: its scheme, the people it covers and
	// the unit's and the individuals' parts of the amount.
	Scheme        models.Scheme `json:"scheme,omitempty"`
	SchemeName    string        `json:"scheme_name,omitempty"`
	Headcount     int           `json:"headcount,omitempty"`
	UnitFen       *models.Fen   `json:"unit_fen,omitempty"`
	IndividualFen *models.Fen   `json:"individual_fen,omitempty"`
}

// IssueCertificate issues, signs, renders and stores a certificate.
//
// A payment voucher is for an order the caller paid, or for an order paid
// for a person whose records the caller may see (self, guardian of a
// minor, grantee); it can be issued as soon as the order is paid. A
// contribution proof and a tax certificate need records access to the
// person. A tax certificate lists only money credited to the treasury and
// is refused, naming the month, while any month of the range is merely
// paid. Nothing is numbered or stored for a name the font cannot print.
func (s *Certs) IssueCertificate(ctx context.Context, userID string, in IssueCertificateInput) (Certificate, error) {
	if !in.Kind.Valid() {
		return Certificate{}, models.ErrInvalid.WithReason("kind 应为 payment_voucher、contribution_proof 或 tax_payment_certificate")
	}
	if err := s.RateLimit(ctx, "cert:"+userID, certIssueLimit, certIssueWindow, kernel.LetThrough); err != nil {
		return Certificate{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return Certificate{}, err
	}
	if u.PersonID == nil {
		return Certificate{}, models.ErrIdentityRequired
	}
	reissueOf := ""
	var personID string // set for proofs and tax certificates re-issued by person id
	if in.ReissueOf != "" {
		row, orig, err := s.reissueSource(ctx, u, in)
		if err != nil {
			return Certificate{}, err
		}
		reissueOf = orig.No
		if orig.ReissueOf != "" {
			reissueOf = orig.ReissueOf // every re-issue points at the original
		}
		if row.UnitID != "" {
			// The unit's scope is the original's: the range it printed
			// and the schemes it listed.
			var schemes []models.Scheme
			for _, l := range orig.Lines {
				if !slices.Contains(schemes, l.Scheme) {
					schemes = append(schemes, l.Scheme)
				}
			}
			return s.issueUnitCertificate(ctx, u, IssueCertificateInput{Kind: orig.Kind, UnitID: row.UnitID,
				PeriodFrom: orig.PeriodFrom, PeriodTo: orig.PeriodTo}, reissueOf, schemes)
		}
		in = IssueCertificateInput{Kind: orig.Kind, Scheme: orig.Scheme, PeriodFrom: orig.PeriodFrom,
			PeriodTo: orig.PeriodTo, OrderNo: orig.OrderNo}
		personID = row.PersonID
	} else if in.UnitID != "" {
		var schemes []models.Scheme
		if in.Scheme != "" {
			schemes = []models.Scheme{in.Scheme}
		}
		return s.issueUnitCertificate(ctx, u, in, "", schemes)
	}
	var c models.Certificate
	var subject string
	if in.Kind == models.CertPaymentVoucher {
		c, subject, err = s.voucherContent(ctx, u, in.OrderNo)
	} else {
		var p kernel.Person
		if personID != "" {
			p, err = s.personWithRecordsAccess(ctx, u, personID)
		} else {
			ref := in.Person
			if ref == (people.PersonRef{}) {
				ref.Self = true
			}
			p, err = s.people.ResolveForRecords(ctx, u.ID, ref)
		}
		if err != nil {
			return Certificate{}, err
		}
		subject = p.ID
		c, err = s.periodContent(ctx, in.Kind, p, in.Scheme, in.PeriodFrom, in.PeriodTo)
	}
	if err != nil {
		return Certificate{}, err
	}
	c.ReissueOf = reissueOf
	return s.issue(ctx, u, subject, "", c)
}

// reissueSource loads the certificate a re-issue names, if the caller may
// see it, it is intact and it is still in force. The re-issue's scope
// comes from its signed content.
func (s *Certs) reissueSource(ctx context.Context, u store.UserRow, in IssueCertificateInput) (store.CertificateRow, models.Certificate, error) {
	row, err := s.certificateRow(ctx, in.ReissueOf, false)
	if err != nil {
		return row, models.Certificate{}, err
	}
	if in.UnitID != "" && in.UnitID != row.UnitID {
		return row, models.Certificate{}, models.ErrNotFound // not this unit's: it does not exist for the unit
	}
	if _, ok, err := s.certificateAccess(ctx, u, row); err != nil || !ok {
		if err == nil {
			err = models.ErrNotFound
		}
		return row, models.Certificate{}, err
	}
	c, err := s.stored(ctx, row)
	if err != nil {
		return row, c, kernel.Internal("stored certificate", err)
	}
	if c.Kind != in.Kind {
		return row, c, models.ErrInvalid.WithReason("补开的证明种类应与原证明一致")
	}
	if row.RevokedAt != nil {
		return row, c, models.ErrCertificateRevoked
	}
	return row, c, nil
}

// personWithRecordsAccess loads a person by id if u may see their records.
func (s *Certs) personWithRecordsAccess(ctx context.Context, u store.UserRow, personID string) (kernel.Person, error) {
	acc, err := s.people.AccessTo(ctx, u, personID)
	if err != nil {
		return kernel.Person{}, err
	}
	if acc == people.AccessPayOnly {
		return kernel.Person{}, models.ErrForbidden.WithReason("查看他人缴费记录需本人授权")
	}
	return s.Person(ctx, personID)
}

// voucherContent is the payment voucher of one paid order: its months as
// they stand now. It returns the certificate and the insured person's id.
func (s *Certs) voucherContent(ctx context.Context, u store.UserRow, orderNo string) (models.Certificate, string, error) {
	if orderNo == "" {
		return models.Certificate{}, "", models.ErrInvalid.WithReason("开具缴费凭证需提供订单号 order_no")
	}
	var o store.OrderRow
	if err := s.Read(ctx).Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
		if kernel.IsNotFound(err) {
			return models.Certificate{}, "", models.ErrNotFound
		}
		return models.Certificate{}, "", kernel.Internal("order", err)
	}
	if o.PayerUserID != u.ID {
		// Not the payer: the insured person's side may have it, anyone
		// else learns nothing about the order.
		acc, err := s.people.AccessTo(ctx, u, o.PersonID)
		if err != nil {
			return models.Certificate{}, "", err
		}
		if acc == people.AccessPayOnly {
			return models.Certificate{}, "", models.ErrNotFound
		}
	}
	switch o.Status {
	case contrib.OrderPaid, contrib.OrderPartiallyRefunded, contrib.OrderRefunded:
	default:
		return models.Certificate{}, "", models.ErrCertificateOrderNotPaid
	}
	var rows []store.RecordRow
	if err := s.Read(ctx).Where("order_no = ?", o.OrderNo).Order("period").Find(&rows).Error; err != nil {
		return models.Certificate{}, "", kernel.Internal("records", err)
	}
	if len(rows) == 0 {
		return models.Certificate{}, "", models.ErrNotFound.WithReason("该订单没有缴费记录")
	}
	p, err := s.Person(ctx, o.PersonID)
	if err != nil {
		return models.Certificate{}, "", err
	}
	// A payer is always real-name verified (people.MayPayFor), so this is a bug
	// or a broken row, never the caller's fault. Most vouchers are the
	// caller's own payments: User and Person then answer from the session.
	payer, err := s.User(ctx, o.PayerUserID)
	if err != nil || payer.PersonID == nil {
		return models.Certificate{}, "", kernel.Internal("voucher payer", errors.Join(err, errors.New("payer without a person")))
	}
	pp, err := s.Person(ctx, *payer.PersonID)
	if err != nil {
		return models.Certificate{}, "", err
	}
	c := models.Certificate{Kind: models.CertPaymentVoucher, PersonNameMasked: models.MaskName(p.Name),
		PersonIDMasked: models.MaskIDNumber(p.IDNumber), PayerMasked: models.MaskName(pp.Name),
		Scheme: models.Scheme(o.Scheme), OrderNo: o.OrderNo}
	for _, r := range rows {
		c.Lines = append(c.Lines, certLine(r))
	}
	coverLines(&c, "", "")
	return c, o.PersonID, nil
}

// periodContent is a contribution proof or a tax certificate of one
// Person's scheme over a period range.
func (s *Certs) periodContent(ctx context.Context, kind models.CertificateKind, p kernel.Person, scheme models.Scheme, from, to string) (models.Certificate, error) {
	if !scheme.Valid() {
		return models.Certificate{}, models.ErrSchemeInvalid
	}
	months := contrib.MonthRange(from, to)
	switch {
	case len(months) == 0:
		return models.Certificate{}, models.ErrInvalid.WithReason("period_from 和 period_to 应为 YYYYMM，且起始不晚于终止")
	case len(months) > maxCertMonths:
		return models.Certificate{}, models.ErrInvalid.WithReason("一次最多开具 30 年的缴费证明")
	}
	// A yearly payment (period = January, period_to = December) belongs
	// to a range it overlaps.
	read := func() ([]store.RecordRow, error) {
		var rows []store.RecordRow
		err := s.Read(ctx).Where("person_id = ? AND scheme = ? AND period <= ? AND (period >= ? OR period_to >= ?)",
			p.ID, string(scheme), to, from, from).Order("period").Find(&rows).Error
		return rows, kernel.Internal("records", err)
	}
	rows, err := read()
	if err != nil {
		return models.Certificate{}, err
	}
	if kind == models.CertTaxPayment {
		// A month only paid refuses the certificate; the treasury may
		// have credited it since the worker last asked.
		var waiting []string
		for _, r := range rows {
			if r.Status == contrib.RecordPaid {
				waiting = append(waiting, r.OrderNo)
			}
		}
		if len(waiting) > 0 {
			s.contrib.CreditWaitedOn(ctx, waiting)
			if rows, err = read(); err != nil {
				return models.Certificate{}, err
			}
		}
	}
	refunded, err := s.refundedByRecord(ctx, rows)
	if err != nil {
		return models.Certificate{}, err
	}
	c := models.Certificate{Kind: kind, PersonNameMasked: models.MaskName(p.Name),
		PersonIDMasked: models.MaskIDNumber(p.IDNumber), Scheme: scheme}
	for _, r := range rows {
		// A month partly refunded keeps its record (back to credited or
		// booked); only what stayed in the fund is certified.
		r.AmountFen -= refunded[r.ID]
		if r.AmountFen <= 0 {
			continue
		}
		switch {
		case r.Status == contrib.RecordRefunded:
			// Refunded money is no contribution and was taken back out of
			// the treasury (退库): neither document lists it.
			continue
		case kind == models.CertTaxPayment && r.Status == contrib.RecordPaid:
			return models.Certificate{}, models.ErrCertificateNotCredited.WithReason(models.NotCreditedReason(r.Period, r.PaidAt))
		case kind == models.CertTaxPayment && r.Status != contrib.RecordCredited && r.Status != contrib.RecordBooked:
			continue // being refunded: not certified as paid in
		}
		c.Lines = append(c.Lines, certLine(r))
	}
	if len(c.Lines) == 0 {
		if kind == models.CertTaxPayment {
			return models.Certificate{}, models.ErrNotFound.WithReason("所选期间没有已入库的缴费记录")
		}
		return models.Certificate{}, models.ErrNotFound.WithReason("所选期间没有缴费记录")
	}
	coverLines(&c, from, to)
	return c, nil
}

// coverLines sets the period range (the asked range widened to every
// line, since a yearly payment may reach beyond it) and the total.
func coverLines(c *models.Certificate, from, to string) {
	c.PeriodFrom, c.PeriodTo, c.TotalFen = from, to, 0
	for _, l := range c.Lines {
		last := l.Period
		if l.PeriodTo != "" {
			last = l.PeriodTo
		}
		if c.PeriodFrom == "" || l.Period < c.PeriodFrom {
			c.PeriodFrom = l.Period
		}
		if last > c.PeriodTo {
			c.PeriodTo = last
		}
		c.TotalFen += l.AmountFen
	}
}

// refundedByRecord sums, per record, what finished refund applications paid
// back.
func (s *Certs) refundedByRecord(ctx context.Context, rows []store.RecordRow) (map[string]int64, error) {
	out := map[string]int64{}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var sums []struct {
		RecordID string
		Total    int64
	}
	if err := s.Read(ctx).Table("refund_items").Select("refund_items.record_id AS record_id, SUM(refund_items.amount_fen) AS total").
		Joins("JOIN refunds ON refunds.refund_no = refund_items.refund_no").
		Where("refunds.status = ? AND refund_items.record_id IN ?", string(models.RefundRefunded), ids).
		Group("refund_items.record_id").Scan(&sums).Error; err != nil {
		return nil, kernel.Internal("refunded amounts", err)
	}
	for _, x := range sums {
		out[x.RecordID] = x.Total
	}
	return out, nil
}

func certLine(r store.RecordRow) models.CertificateLine {
	l := models.CertificateLine{Period: r.Period, PeriodTo: r.PeriodTo, Scheme: models.Scheme(r.Scheme),
		BaseFen: models.Fen(r.BaseFen), AmountFen: models.Fen(r.AmountFen), Status: r.Status, PaidAt: r.PaidAt,
		OrderNo: r.OrderNo, TaxVoucherNo: r.TaxVoucherNo}
	if r.CreditedAt != nil {
		l.CreditedAt = *r.CreditedAt
	}
	if r.BookedAt != nil {
		l.BookedAt = *r.BookedAt
	}
	return l
}

// issue numbers, signs, renders and stores c for personID (a person's
// certificate) or unitID (a unit's), issued by u.
// The font check comes first, so a name that cannot be printed leaves no
// trace; a number already taken is drawn again.
func (s *Certs) issue(ctx context.Context, u store.UserRow, personID, unitID string, c models.Certificate) (Certificate, error) {
	deps := s.Certificates
	if deps.Renderer == nil || deps.Signer == nil {
		return Certificate{}, kernel.Internal("issue certificate", errors.New("certificate renderer or signer not configured"))
	}
	for _, name := range []string{c.PersonNameMasked, c.PayerMasked, c.UnitName} {
		if name == "" {
			continue
		}
		if err := deps.Renderer.CheckPrintable(name); err != nil {
			return Certificate{}, err
		}
	}
	now := s.Now().Truncate(time.Second)
	c.IssuedAt = now
	c.Authority = models.AuthorityFor(c.Kind, c.Scheme)
	for range certNoAttempts {
		c.No = models.NewCertificateNo(c.Kind, now)
		code, err := certificate.NewVerifyCode(deps.VerifySecret, c.No)
		if err != nil {
			return Certificate{}, kernel.Internal("verify code", err)
		}
		c.VerifyCode = code
		if err := c.Validate(); err != nil {
			return Certificate{}, err
		}
		canonical := c.Canonical()
		sig, err := deps.Signer.Sign(canonical)
		if err != nil {
			return Certificate{}, kernel.Internal("sign certificate", err)
		}
		pdf, err := deps.Renderer.Render(c)
		if err != nil {
			return Certificate{}, kernel.Internal("render certificate", err)
		}
		row := store.CertificateRow{CertificateNo: c.No, Kind: string(c.Kind), PersonID: personID, UnitID: unitID, IssuedByUserID: u.ID,
			Scheme: string(c.Scheme), PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, OrderNo: c.OrderNo,
			ReissueOf: c.ReissueOf, TotalFen: int64(c.TotalFen), LineCount: len(c.Lines), Canonical: canonical,
			Signature: sig, KeyID: deps.Signer.KeyID(), Algorithm: deps.Signer.Algorithm(), PDF: pdf, IssuedAt: now}
		// A plain insert, not insert-if-absent: MySQL's "do nothing" is an
		// update of the existing row, which the immutability trigger of a
		// revoked certificate refuses. Outside a transaction a failed
		// insert costs nothing on any dialect.
		err = s.Conn(ctx).Create(&row).Error
		if kernel.IsDuplicate(err) {
			continue
		}
		if err != nil {
			return Certificate{}, kernel.Internal("store certificate", err)
		}
		s.Log.InfoContext(ctx, "certificate issued", "certificate_no", c.No, "kind", c.Kind, "user_id", u.ID,
			"reissue_of", c.ReissueOf, "unit_id", unitID, "lines", len(c.Lines), "pdf_bytes", len(pdf))
		return s.certificateView(row, c), nil
	}
	return Certificate{}, kernel.Internal("issue certificate", errors.New("no free certificate number"))
}

func (s *Certs) certificateView(row store.CertificateRow, c models.Certificate) Certificate {
	v := Certificate{CertificateNo: row.CertificateNo, VerifyCode: c.VerifyCode, Kind: c.Kind, Title: c.Kind.Title(),
		Status: CertificateValid, IssuedAt: row.IssuedAt.UTC(), Authority: c.Authority, PersonNameMasked: c.PersonNameMasked,
		PersonIDNumberMasked: c.PersonIDMasked, PayerMasked: c.PayerMasked, Scheme: c.Scheme, SchemeName: c.Scheme.Name(),
		PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, OrderNo: c.OrderNo, TotalFen: c.TotalFen, LineCount: len(c.Lines),
		ReissueOf: c.ReissueOf, PDFURL: s.Opt.PublicBaseURL + "/api/v1/certificates/" + row.CertificateNo + "/pdf",
		VerifyURL: s.Certificates.Renderer.VerifyURL(c)}
	if row.RevokedAt != nil {
		at := row.RevokedAt.UTC()
		v.Status, v.RevokedAt = CertificateRevoked, &at
	}
	unitView(&v, row, c)
	return v
}

// certificateRow loads a certificate by number (upper-cased, spaces
// trimmed); withPDF also reads the document.
func (s *Certs) certificateRow(ctx context.Context, no string, withPDF bool) (store.CertificateRow, error) {
	var row store.CertificateRow
	no = strings.ToUpper(strings.TrimSpace(no))
	if !models.ValidCertificateNo(no) {
		return row, models.ErrNotFound
	}
	q := s.Read(ctx)
	if !withPDF {
		q = q.Select(store.CertificateColumnsWithoutPDF())
	}
	if err := q.Where("certificate_no = ?", no).Take(&row).Error; err != nil {
		if kernel.IsNotFound(err) {
			return row, models.ErrNotFound
		}
		return row, kernel.Internal("certificate", err)
	}
	return row, nil
}

// stored reads a row's certificate back from its signed content. It fails
// (and logs an integrity failure) unless the signature checks out with the
// configured key that made it (a keyring keeps old keys and algorithms)
// and the content is the row's: a row written behind our back is never
// shown as a certificate.
func (s *Certs) stored(ctx context.Context, row store.CertificateRow) (models.Certificate, error) {
	signer := s.Certificates.Signer
	if signer == nil {
		return models.Certificate{}, errors.New("certificate signer not configured")
	}
	c, err := models.ParseCanonical(row.Canonical)
	sigOK := certificate.VerifyStored(signer, row.Algorithm, row.KeyID, row.Canonical, row.Signature)
	if err == nil && (!sigOK || c.No != row.CertificateNo || string(c.Kind) != row.Kind || string(c.Scheme) != row.Scheme) {
		err = errors.New("signature or content does not match the row")
	}
	if err != nil {
		s.Log.ErrorContext(ctx, "certificate failed its integrity check", "certificate_no", row.CertificateNo,
			"key_id", row.KeyID, "algorithm", row.Algorithm, "err", err)
		return models.Certificate{}, err
	}
	return c, nil
}

// accessIssuer is why the issuer may see a certificate in certificateAccess.
const accessIssuer people.Access = "issuer"

// accessUnit is certificateAccess's reason for a unit's certificate: the
// caller acts for the unit.
const accessUnit people.Access = "unit"

// certificateAccess says whether u may see a certificate: its issuer
// always, and anyone who may see the person's records (self, guardian of
// a minor, grantee).
func (s *Certs) certificateAccess(ctx context.Context, u store.UserRow, row store.CertificateRow) (people.Access, bool, error) {
	if row.UnitID != "" {
		ok, err := s.unitCertificateAccess(ctx, u, row)
		return accessUnit, ok, err
	}
	if row.IssuedByUserID == u.ID {
		return accessIssuer, true, nil
	}
	acc, err := s.people.AccessTo(ctx, u, row.PersonID)
	if err != nil {
		return "", false, err
	}
	return acc, acc != people.AccessPayOnly, nil
}

// visiblePersons lists the people whose certificates u may see besides
// those u issued: u's own person, minors u is a proven guardian of, and
// people who granted u access (the same rules as people.AccessTo).
func (s *Certs) visiblePersons(ctx context.Context, u store.UserRow) ([]string, error) {
	var ids []string
	if u.PersonID == nil {
		return ids, nil
	}
	ids = append(ids, *u.PersonID)
	var minors []string
	if err := s.Read(ctx).Model(&store.GuardianshipRow{}).Where("guardian_person_id = ? AND revoked_at IS NULL", *u.PersonID).
		Distinct().Pluck("minor_person_id", &minors).Error; err != nil {
		return nil, kernel.Internal("guardianships", err)
	}
	for _, id := range minors {
		p, err := s.Person(ctx, id)
		if err != nil {
			return nil, err
		}
		if p.Parsed.MinorAt(s.Now()) {
			ids = append(ids, p.ID)
		}
	}
	var grantors []string
	if err := s.Read(ctx).Model(&store.GrantRow{}).Where("revoked_at IS NULL AND (grantee_user_id = ? OR grantee_person_id = ?)",
		u.ID, *u.PersonID).Distinct().Pluck("grantor_person_id", &grantors).Error; err != nil {
		return nil, kernel.Internal("grants", err)
	}
	return append(ids, grantors...), nil
}

// ListCertificates lists the certificates the caller issued or may see
// (their own, their minor children's, their grantors'), newest first. The
// page token is the last item's issue time and number.
func (s *Certs) ListCertificates(ctx context.Context, userID string, page kernel.Page) ([]Certificate, string, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	persons, err := s.visiblePersons(ctx, u)
	if err != nil {
		return nil, "", err
	}
	units, err := s.memberUnits(ctx, u)
	if err != nil {
		return nil, "", err
	}
	// A unit's certificates are its members' (see unitCertificateAccess),
	// not their issuer's.
	cond, args := "(issued_by_user_id = ? AND unit_id = '')", []any{u.ID}
	if len(persons) > 0 {
		cond, args = cond+" OR person_id IN ?", append(args, persons)
	}
	if len(units) > 0 {
		cond, args = cond+" OR unit_id IN ?", append(args, units)
	}
	q := s.Read(ctx).Select(store.CertificateColumnsWithoutPDF()).Where("("+cond+")", args...)
	if page.After != "" {
		at, no, ok := parseCertPageToken(page.After)
		if !ok {
			return nil, "", models.ErrInvalid.WithReason("page_token 无效")
		}
		q = q.Where("(issued_at < ? OR (issued_at = ? AND certificate_no < ?))", at, at, no)
	}
	var rows []store.CertificateRow
	if err := q.Order("issued_at DESC, certificate_no DESC").Limit(page.Size + 1).Find(&rows).Error; err != nil {
		return nil, "", kernel.Internal("list certificates", err)
	}
	next := ""
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		last := rows[len(rows)-1]
		next = certPageToken(last.IssuedAt, last.CertificateNo)
	}
	replaced, err := s.replacements(ctx, rows)
	if err != nil {
		return nil, "", err
	}
	out := make([]Certificate, 0, len(rows))
	for _, r := range rows {
		c, err := s.stored(ctx, r)
		if err != nil {
			continue // left out rather than failing the list; verification says unknown too
		}
		v := s.certificateView(r, c)
		v.ReplacedBy = replaced[r.CertificateNo]
		out = append(out, v)
	}
	return out, next, nil
}

func certPageToken(at time.Time, no string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.Unix(), 10) + "." + no))
}

func parseCertPageToken(tok string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", false
	}
	sec, no, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if !ok || err != nil || !models.ValidCertificateNo(no) {
		return time.Time{}, "", false
	}
	return time.Unix(n, 0).UTC(), no, true
}

// DownloadCertificate returns a certificate's PDF: the document stored at
// issue, byte for byte, or for a revoked certificate the same document
// marked 已作废. Only the issuer and people who may see the person's
// records get it; to anyone else the certificate does not exist.
func (s *Certs) DownloadCertificate(ctx context.Context, userID, no string) ([]byte, string, error) {
	row, err := s.certificateRow(ctx, no, true)
	if err != nil {
		return nil, "", err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	acc, ok, err := s.certificateAccess(ctx, u, row)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", models.ErrNotFound
	}
	if acc == people.AccessGrant || acc == people.AccessGuardian {
		// A read of someone else's data (DESIGN.md §6); ids only.
		s.Log.InfoContext(ctx, "certificate of another person downloaded", "certificate_no", row.CertificateNo,
			"user_id", u.ID, "access", acc)
	}
	c, err := s.stored(ctx, row)
	if err != nil {
		return nil, "", kernel.Internal("stored certificate", err)
	}
	if row.RevokedAt == nil {
		return row.PDF, row.CertificateNo, nil
	}
	c.Revoked = true
	pdf, err := s.Certificates.Renderer.Render(c)
	if err != nil {
		return nil, "", kernel.Internal("render revoked certificate", err)
	}
	return pdf, row.CertificateNo, nil
}

// VerifyCertificate checks a certificate number and the verification code
// printed with it. The answer is read from the stored canonical content
// after its signature is checked; a row that fails the check is reported
// as unknown (and logged as an integrity failure). An unknown number, a
// wrong code and a failed check give the same answer, after about the
// same work.
func (s *Certs) VerifyCertificate(ctx context.Context, no, code string) (CertificateVerification, error) {
	unknown := CertificateVerification{Result: VerifyUnknown}
	signer := s.Certificates.Signer
	if signer == nil {
		return unknown, kernel.Internal("verify certificate", errors.New("certificate signer not configured"))
	}
	if len(code) > 64 {
		return unknown, nil
	}
	row, err := s.certificateRow(ctx, no, false)
	if errors.Is(err, models.ErrNotFound) {
		// Do what a found row costs: a signature check and a comparison.
		_ = signer.Verify([]byte(code), make([]byte, 64))
		_ = certificate.MatchVerifyCode("00000000", code)
		return unknown, nil
	}
	if err != nil {
		return unknown, err
	}
	c, err := s.stored(ctx, row)
	codeOK := certificate.MatchVerifyCode(c.VerifyCode, code)
	if err != nil || !codeOK {
		return unknown, nil
	}
	issued := c.IssuedAt.UTC()
	total := c.TotalFen
	v := CertificateVerification{Result: VerifyValid, CertificateNo: c.No, Kind: c.Kind, Title: c.Kind.Title(),
		IssuedAt: &issued, Authority: c.Authority, PersonNameMasked: c.PersonNameMasked,
		PersonIDNumberMasked: c.PersonIDMasked, PayerMasked: c.PayerMasked, Scheme: c.Scheme, SchemeName: c.Scheme.Name(),
		PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, OrderNo: c.OrderNo, TotalFen: &total, LineCount: len(c.Lines),
		ReissueOf: c.ReissueOf}
	if c.IsUnit() {
		v.Unit = &VerifiedUnit{Name: c.UnitName, USCC: c.UnitUSCC}
	}
	replaced, err := s.replacements(ctx, []store.CertificateRow{row})
	if err != nil {
		return unknown, err
	}
	v.ReplacedBy = replaced[row.CertificateNo]
	for _, l := range c.Lines {
		vl := VerifiedLine{Period: l.Period, PeriodTo: l.PeriodTo, BaseFen: l.BaseFen, AmountFen: l.AmountFen, Status: l.Status}
		if !l.CreditedAt.IsZero() {
			at := l.CreditedAt.UTC()
			vl.CreditedAt = &at
		}
		if c.IsUnit() {
			unitFen, individualFen := l.UnitFen, l.PersonalFen
			vl.Scheme, vl.SchemeName, vl.Headcount = l.Scheme, l.SchemeName, l.Headcount
			vl.UnitFen, vl.IndividualFen = &unitFen, &individualFen
		}
		v.Lines = append(v.Lines, vl)
	}
	if row.RevokedAt != nil {
		at := row.RevokedAt.UTC()
		v.Result, v.RevokedAt = VerifyRevoked, &at
	}
	return v, nil
}

// RevokeCertificate revokes a certificate (e.g. when a month it lists is
// refunded): verification then answers revoked and downloads are marked
// 已作废. The content is never changed. Revoking a revoked certificate
// changes nothing and is not an error.
func (s *Certs) RevokeCertificate(ctx context.Context, no, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return models.ErrInvalid.WithReason("请说明作废原因")
	}
	if utf8.RuneCountInString(reason) > maxRevokeReason {
		reason = string([]rune(reason)[:maxRevokeReason])
	}
	row, err := s.certificateRow(ctx, no, false)
	if err != nil {
		return err
	}
	res := s.Conn(ctx).Model(&store.CertificateRow{}).Where("certificate_no = ? AND revoked_at IS NULL", row.CertificateNo).
		Updates(map[string]any{"revoked_at": s.Now(), "revoke_reason": reason})
	if res.Error != nil {
		return kernel.Internal("revoke certificate", res.Error)
	}
	if res.RowsAffected == 1 {
		s.Log.InfoContext(ctx, "certificate revoked", "certificate_no", row.CertificateNo, "reason", reason)
	}
	return nil
}

// RevokeCertificatesListing revokes every certificate in force that lists
// period of personID's scheme (for the refund workflow: once a month is
// refunded, documents showing it paid stop verifying as valid). It
// returns the numbers it revoked.
func (s *Certs) RevokeCertificatesListing(ctx context.Context, personID string, scheme models.Scheme, period, reason string) ([]string, error) {
	var rows []store.CertificateRow
	if err := s.Conn(ctx).Select(store.CertificateColumnsWithoutPDF()).
		Where("person_id = ? AND scheme = ? AND period_from <= ? AND period_to >= ? AND revoked_at IS NULL",
			personID, string(scheme), period, period).Find(&rows).Error; err != nil {
		return nil, kernel.Internal("certificates listing a period", err)
	}
	var revoked []string
	for _, r := range rows {
		c, err := models.ParseCanonical(r.Canonical)
		if err != nil {
			return revoked, kernel.Internal("stored certificate", err)
		}
		lists := false
		for _, l := range c.Lines {
			last := l.Period
			if l.PeriodTo != "" {
				last = l.PeriodTo
			}
			lists = lists || (l.Period <= period && period <= last)
		}
		if !lists {
			continue
		}
		if err := s.RevokeCertificate(ctx, r.CertificateNo, reason); err != nil {
			return revoked, err
		}
		revoked = append(revoked, r.CertificateNo)
	}
	return revoked, nil
}
