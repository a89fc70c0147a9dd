package models

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CertificateKind is a kind of document people get after paying, for a
// bank, an employer or another agency to check.
type CertificateKind string

// Certificate kinds (API field kind).
const (
	// CertPaymentVoucher (缴费凭证) documents one paid order; it can be
	// issued as soon as the channel confirms payment.
	CertPaymentVoucher CertificateKind = "payment_voucher"
	// CertContributionProof (社保缴费证明) lists a person's months of one
	// scheme over a period range, each with its stage.
	CertContributionProof CertificateKind = "contribution_proof"
	// CertTaxPayment (税收完税证明, 表格式) covers only money already
	// credited to the treasury (入库).
	CertTaxPayment CertificateKind = "tax_payment_certificate"
)

// Valid reports whether k is a known kind.
func (k CertificateKind) Valid() bool {
	switch k {
	case CertPaymentVoucher, CertContributionProof, CertTaxPayment:
		return true
	}
	return false
}

// Title is the document's printed title.
func (k CertificateKind) Title() string {
	switch k {
	case CertPaymentVoucher:
		return "缴费凭证"
	case CertContributionProof:
		return "社保缴费证明"
	case CertTaxPayment:
		return "税收完税证明"
	}
	return string(k)
}

// letter is the kind's letter inside a certificate number, so a number
// alone tells which kind of document it claims to be.
func (k CertificateKind) letter() byte {
	switch k {
	case CertPaymentVoucher:
		return 'V'
	case CertContributionProof:
		return 'P'
	case CertTaxPayment:
		return 'T'
	}
	return 0
}

// Certificate line statuses: the stage the line's money has reached. They
// are the record statuses of listRecords.
const (
	CertLinePaid      = "paid"      // 已缴费: the channel took the money; not yet credited
	CertLineCredited  = "credited"  // 已入库: in the treasury; the agency has not booked it yet
	CertLineBooked    = "booked"    // 已记账: the agency booked it into the person's record
	CertLineRefunding = "refunding" // 退费中
	CertLineRefunded  = "refunded"  // 已退费
)

// Authorities printed as the issuer. Social insurance fees are collected by
// tax, so only the tax certificate names the tax bureau; the other
// documents are issued in the name of the agency that books the scheme.
const (
	AuthorityTax              = "国家税务总局内蒙古自治区税务局"
	AuthoritySocialInsurance  = "内蒙古自治区社会保险事业服务中心"
	AuthorityMedicalInsurance = "内蒙古自治区医疗保障事业中心"
)

// Certificate errors. They live here rather than in errors.go only because
// the certificate work owns this file; the codes are part of the API
// contract like every other code.
var (
	// ErrCertificateGlyphMissing refuses a document whose printed name has
	// a character our font cannot draw: a blank or a box in a name makes
	// the document worthless, so the person is sent to the hall instead.
	ErrCertificateGlyphMissing = newErr(KindUnprocessable, "CERTIFICATE_GLYPH_MISSING", "姓名中含有无法打印的生僻字，请到办税服务厅开具")
	// ErrCertificateNotCredited refuses a tax certificate for money that
	// has not reached the treasury yet.
	ErrCertificateNotCredited = newErr(KindUnprocessable, "CERTIFICATE_NOT_CREDITED", "费款尚未入库，暂不能开具税收完税证明")
)

// CertificateLine is one printed row: one period of one scheme.
type CertificateLine struct {
	Period       string // YYYYMM
	PeriodTo     string // YYYYMM, for the yearly schemes (the 待遇年度's last month); else ""
	Scheme       Scheme
	BaseFen      Fen // 0 where the scheme has no base (resident schemes)
	AmountFen    Fen
	Status       string // CertLinePaid … CertLineRefunded
	PaidAt       time.Time
	CreditedAt   time.Time
	BookedAt     time.Time
	OrderNo      string
	TaxVoucherNo string // the treasury's voucher number (电子税票号码), once credited

	// A unit's lines (Certificate.UnitName set) sum one scheme's month
	// over the unit's insured: SchemeName is the printed 险种 (the unit's
	// schemes are named by the caller, Scheme is their code), Headcount
	// the people contributing, and AmountFen is UnitFen + PersonalFen.
	// Zero on a person's lines.
	SchemeName  string
	Headcount   int
	UnitFen     Fen // 单位缴纳部分
	PersonalFen Fen // 个人缴纳部分 (withheld from wages)
}

// StatusLabel is the line's status in Chinese, as printed.
func (l CertificateLine) StatusLabel() string {
	switch l.Status {
	case CertLinePaid:
		return "已缴费"
	case CertLineCredited:
		return "已入库"
	case CertLineBooked:
		return "已记账"
	case CertLineRefunding:
		return "退费中"
	case CertLineRefunded:
		return "已退费"
	}
	return l.Status
}

// StageNote explains in one sentence where money in the line's status is,
// so a reader of the document knows what "已缴费" does and does not mean.
func (l CertificateLine) StageNote() string {
	booker := "社会保险经办机构"
	if l.Scheme.Department() == DeptMedicalInsurance {
		booker = "医疗保障经办机构"
	}
	switch l.Status {
	case CertLinePaid:
		return "已缴费：已缴费，尚未入库；费款入库后方可开具税收完税证明。"
	case CertLineCredited:
		return "已入库：费款已缴入国库，尚待" + booker + "记账。"
	case CertLineBooked:
		return "已记账：" + booker + "已将费款记入个人缴费记录。"
	case CertLineRefunding:
		return "退费中：该笔费款正在办理退费。"
	case CertLineRefunded:
		return "已退费：该笔费款已退还，不计入缴费。"
	}
	return ""
}

// Certificate is an issued document. It holds only what is printed, with
// personal data already masked on every kind, even a person's own proof
// (names 张*明, ID numbers 150102********123X, as MaskName and
// MaskIDNumber give them): documents leave our control, so they carry no
// more than a verifier needs, and Validate refuses values that do not look
// masked. The caller stores a certificate immutably; only
// Revoked may change afterwards.
type Certificate struct {
	No               string // NewCertificateNo
	Kind             CertificateKind
	VerifyCode       string
	IssuedAt         time.Time // stored and signed to the second
	Authority        string    // AuthorityFor at issue time
	PersonNameMasked string
	PersonIDMasked   string
	PayerMasked      string // who paid; required on vouchers
	Scheme           Scheme // every line is of this scheme
	PeriodFrom       string // YYYYMM, first period covered
	PeriodTo         string // YYYYMM, last period covered
	OrderNo          string // the voucher's order
	Lines            []CertificateLine
	TotalFen         Fen // sum of the lines' AmountFen
	ReissueOf        string
	Revoked          bool

	// A unit's certificate names the unit instead of a person: its full
	// name and 统一社会信用代码, printed unmasked (the document is the
	// unit's own and names no person). Then the person fields are empty,
	// Scheme is "" (the lines may be of several schemes, each line says
	// which) and only CertTaxPayment is issued.
	UnitName string
	UnitUSCC string
}

// IsUnit reports whether c is a unit's certificate.
func (c Certificate) IsUnit() bool { return c.UnitName != "" || c.UnitUSCC != "" }

// canonicalFormat names the layout of Canonical's output. It is signed with
// the content, so a signature cannot be replayed against another layout.
const canonicalFormat = "lianban.certificate.v1"

// Canonical returns the deterministic bytes that are signed and verified:
// JSON with sorted keys, times in UTC to the second (databases keep
// different sub-second precision, and a signature must survive a round
// trip), no HTML escaping. Revoked is left out because revoking a document
// must not change what was signed.
//
// The unit fields were added later: their keys appear only when one of
// them is set (unit_name and unit_uscc on the certificate; scheme_name,
// headcount, unit_fen and personal_fen on a line), so a person's
// certificate keeps the form, and the signatures, it always had, while a
// unit field is never left unsigned.
func (c Certificate) Canonical() []byte {
	lines := make([]map[string]any, len(c.Lines))
	for i, l := range c.Lines {
		lines[i] = map[string]any{
			"period":         l.Period,
			"period_to":      l.PeriodTo,
			"scheme":         string(l.Scheme),
			"base_fen":       int64(l.BaseFen),
			"amount_fen":     int64(l.AmountFen),
			"status":         l.Status,
			"paid_at":        canonicalTime(l.PaidAt),
			"credited_at":    canonicalTime(l.CreditedAt),
			"booked_at":      canonicalTime(l.BookedAt),
			"order_no":       l.OrderNo,
			"tax_voucher_no": l.TaxVoucherNo,
		}
		if l.SchemeName != "" || l.Headcount != 0 || l.UnitFen != 0 || l.PersonalFen != 0 {
			lines[i]["scheme_name"] = l.SchemeName
			lines[i]["headcount"] = l.Headcount
			lines[i]["unit_fen"] = int64(l.UnitFen)
			lines[i]["personal_fen"] = int64(l.PersonalFen)
		}
	}
	doc := map[string]any{
		"format":             canonicalFormat,
		"no":                 c.No,
		"kind":               string(c.Kind),
		"verify_code":        c.VerifyCode,
		"issued_at":          canonicalTime(c.IssuedAt),
		"authority":          c.Authority,
		"person_name_masked": c.PersonNameMasked,
		"person_id_masked":   c.PersonIDMasked,
		"payer_masked":       c.PayerMasked,
		"scheme":             string(c.Scheme),
		"period_from":        c.PeriodFrom,
		"period_to":          c.PeriodTo,
		"order_no":           c.OrderNo,
		"lines":              lines,
		"total_fen":          int64(c.TotalFen),
		"reissue_of":         c.ReissueOf,
	}
	if c.IsUnit() {
		doc["unit_name"] = c.UnitName
		doc["unit_uscc"] = c.UnitUSCC
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		// Only strings, integers, maps and slices go in: Encode cannot fail.
		panic("models: canonical certificate: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func canonicalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// certNoRandomDigits is the random part of a certificate number. Twelve
// digits keep a collision among even 100,000 documents of one kind on one
// day below 1%; the store's unique index catches the rest and the caller
// draws again.
const certNoRandomDigits = 12

// certNoLen is len("LB") + kind letter + yyyymmdd + random digits.
const certNoLen = 2 + 1 + 8 + certNoRandomDigits

// NewCertificateNo returns a fresh certificate number:
// "LB", the kind's letter (V voucher, P proof, T tax certificate), the
// Beijing date of at (yyyymmdd) and 12 random digits, e.g.
// LBP20260115038472910563. The digits are random rather than a sequence so
// numbers reveal nothing about volume and cannot be enumerated; they are
// not secret, though — the verification code is what proves possession.
func NewCertificateNo(kind CertificateKind, at time.Time) string {
	var b [8]byte
	// crypto/rand.Read never fails (Go 1.24+ crashes instead).
	_, _ = rand.Read(b[:])
	// The modulo bias is below 1e-7: 2^64 is ~1.8e7 times 1e12.
	n := binary.BigEndian.Uint64(b[:]) % 1_000_000_000_000
	return fmt.Sprintf("LB%c%s%012d", kind.letter(), at.In(Beijing).Format("20060102"), n)
}

// ValidCertificateNo reports whether no has the shape NewCertificateNo
// gives, so the rate-limited verification endpoint can refuse junk without
// a database look-up.
func ValidCertificateNo(no string) bool {
	_, ok := certificateNoKind(no)
	return ok
}

func certificateNoKind(no string) (CertificateKind, bool) {
	if len(no) != certNoLen || no[:2] != "LB" {
		return "", false
	}
	var kind CertificateKind
	for _, k := range []CertificateKind{CertPaymentVoucher, CertContributionProof, CertTaxPayment} {
		if k.letter() == no[2] {
			kind = k
		}
	}
	if kind == "" {
		return "", false
	}
	if _, err := time.Parse("20060102", no[3:11]); err != nil {
		return "", false
	}
	for i := 11; i < len(no); i++ {
		if no[i] < '0' || no[i] > '9' {
			return "", false
		}
	}
	return kind, true
}

// AuthorityFor is the issuing authority printed on a certificate of kind
// for scheme: the tax bureau for the tax certificate, otherwise the agency
// of the scheme's department.
func AuthorityFor(kind CertificateKind, scheme Scheme) string {
	if kind == CertTaxPayment {
		return AuthorityTax
	}
	if scheme.Department() == DeptMedicalInsurance {
		return AuthorityMedicalInsurance
	}
	return AuthoritySocialInsurance
}

// Validate checks that c is a document we are willing to print and sign.
// A tax certificate over money not yet credited returns
// ErrCertificateNotCredited; every other failure is a bug in the caller and
// wraps ErrInternal.
func (c Certificate) Validate() error {
	bug := func(format string, args ...any) error {
		return fmt.Errorf("%w: certificate %s: %s", ErrInternal, c.No, fmt.Sprintf(format, args...))
	}
	kind, ok := certificateNoKind(c.No)
	switch {
	case !c.Kind.Valid():
		return bug("unknown kind %q", c.Kind)
	case !ok || kind != c.Kind:
		return bug("number does not match kind %s", c.Kind)
	case c.ReissueOf != "":
		if k, ok := certificateNoKind(c.ReissueOf); !ok || k != c.Kind || c.ReissueOf == c.No {
			return bug("reissue_of %q is not another %s", c.ReissueOf, c.Kind)
		}
	}
	if err := c.validateHolder(); err != nil {
		return bug("%v", err)
	}
	switch {
	case !validVerifyCode(c.VerifyCode):
		return bug("verify code %q", c.VerifyCode)
	case c.IssuedAt.IsZero():
		return bug("no issue time")
	case c.Authority == "":
		return bug("no authority")
	// validateHolder checked a unit's certificate, which names no person
	// and whose lines name their schemes.
	case !c.IsUnit() && !c.Scheme.Valid():
		return bug("scheme %q", c.Scheme)
	case !c.IsUnit() && !looksMaskedName(c.PersonNameMasked):
		return bug("person name is empty or not masked")
	case !c.IsUnit() && !looksMaskedID(c.PersonIDMasked):
		return bug("person ID number is empty or not masked")
	case c.PayerMasked != "" && !looksMaskedName(c.PayerMasked):
		return bug("payer name is not masked")
	case !validPeriod(c.PeriodFrom) || !validPeriod(c.PeriodTo) || c.PeriodFrom > c.PeriodTo:
		return bug("period range %q–%q", c.PeriodFrom, c.PeriodTo)
	case len(c.Lines) == 0:
		return bug("no lines")
	}
	if c.Kind == CertPaymentVoucher && (c.OrderNo == "" || c.PayerMasked == "") {
		return bug("a voucher needs its order and payer")
	}
	var sum Fen
	for i, l := range c.Lines {
		if err := c.validateLine(l); err != nil {
			if errors.Is(err, ErrCertificateNotCredited) {
				return ErrCertificateNotCredited.WithReason(periodName(l.Period) + "的费款尚未入库")
			}
			return bug("line %d: %v", i+1, err)
		}
		if i > 0 && l.Period < c.Lines[i-1].Period {
			return bug("line %d: periods out of order", i+1)
		}
		sum += l.AmountFen
	}
	if sum != c.TotalFen {
		return bug("total %d fen, lines sum to %d", c.TotalFen, sum)
	}
	return nil
}

// validateHolder checks whom a certificate names: a unit's certificate
// names the unit and no person, and is a tax certificate.
func (c Certificate) validateHolder() error {
	if !c.IsUnit() {
		return nil
	}
	switch {
	case c.Kind != CertTaxPayment:
		return fmt.Errorf("a unit's certificate of kind %s", c.Kind)
	case strings.TrimSpace(c.UnitName) == "" || !utf8.ValidString(c.UnitName):
		return fmt.Errorf("no unit name")
	case !validUSCC(c.UnitUSCC):
		return fmt.Errorf("unit code %q is not a 统一社会信用代码", c.UnitUSCC)
	case c.PersonNameMasked != "" || c.PersonIDMasked != "" || c.PayerMasked != "":
		return fmt.Errorf("a unit's certificate naming a person")
	case c.Scheme != "":
		return fmt.Errorf("a unit's certificate of one scheme %q: its lines name their schemes", c.Scheme)
	}
	return nil
}

// validateUnitLine checks a unit line's scheme and parts.
func validateUnitLine(l CertificateLine) error {
	switch {
	case l.Scheme == "" || strings.TrimSpace(l.SchemeName) == "":
		return fmt.Errorf("unit line without its scheme")
	case l.Headcount <= 0:
		return fmt.Errorf("headcount %d", l.Headcount)
	case l.UnitFen < 0 || l.PersonalFen < 0 || l.UnitFen+l.PersonalFen != l.AmountFen:
		return fmt.Errorf("unit part %d + personal part %d is not the amount %d", l.UnitFen, l.PersonalFen, l.AmountFen)
	}
	return nil
}

func (c Certificate) validateLine(l CertificateLine) error {
	last := l.Period
	if l.PeriodTo != "" {
		last = l.PeriodTo
	}
	if c.IsUnit() {
		if err := validateUnitLine(l); err != nil {
			return err
		}
	} else if l.SchemeName != "" || l.Headcount != 0 || l.UnitFen != 0 || l.PersonalFen != 0 {
		return fmt.Errorf("unit parts on a person's line")
	}
	switch {
	case !c.IsUnit() && l.Scheme != c.Scheme:
		return fmt.Errorf("scheme %s on a %s certificate", l.Scheme, c.Scheme)
	case !validPeriod(l.Period) || (l.PeriodTo != "" && (!validPeriod(l.PeriodTo) || l.PeriodTo < l.Period)):
		return fmt.Errorf("period %q–%q", l.Period, l.PeriodTo)
	case l.Period < c.PeriodFrom || last > c.PeriodTo:
		return fmt.Errorf("period %s outside %s–%s", l.Period, c.PeriodFrom, c.PeriodTo)
	case l.AmountFen <= 0 || l.BaseFen < 0 || (l.Scheme.Monthly() && l.BaseFen == 0):
		return fmt.Errorf("base %d, amount %d", l.BaseFen, l.AmountFen)
	case l.PaidAt.IsZero():
		return fmt.Errorf("no payment time")
	}
	credited := false
	switch l.Status {
	case CertLinePaid, CertLineRefunding, CertLineRefunded:
	case CertLineCredited:
		credited = true
		if l.CreditedAt.IsZero() {
			return fmt.Errorf("credited without a time")
		}
	case CertLineBooked:
		credited = true
		if l.CreditedAt.IsZero() || l.BookedAt.IsZero() {
			return fmt.Errorf("booked without credit and booking times")
		}
	default:
		return fmt.Errorf("status %q", l.Status)
	}
	switch c.Kind {
	case CertPaymentVoucher:
		if l.OrderNo != c.OrderNo {
			return fmt.Errorf("order %q on the voucher of %q", l.OrderNo, c.OrderNo)
		}
		if !l.PaidAt.Equal(c.Lines[0].PaidAt) {
			return fmt.Errorf("one order, two payment times")
		}
	case CertContributionProof:
		// Refunded money is no contribution; a proof listing it would
		// overstate what the person paid.
		if l.Status == CertLineRefunded {
			return fmt.Errorf("refunded line on a contribution proof")
		}
	case CertTaxPayment:
		if !credited {
			return ErrCertificateNotCredited
		}
		if l.TaxVoucherNo == "" {
			return fmt.Errorf("credited line without the treasury's voucher number")
		}
	}
	return nil
}

// periodName writes YYYYMM as YYYY年MM月, the way people read periods.
func periodName(p string) string {
	if !validPeriod(p) {
		return p
	}
	return p[:4] + "年" + p[4:] + "月"
}

// validPeriod reports whether p is YYYYMM with a real month.
func validPeriod(p string) bool {
	if len(p) != 6 {
		return false
	}
	_, err := time.Parse("200601", p)
	return err == nil
}

// validVerifyCode accepts the upper-case letters and digits a verification
// code is printed with; it goes into a URL unescaped.
func validVerifyCode(code string) bool {
	if len(code) < 6 || len(code) > 16 {
		return false
	}
	for i := 0; i < len(code); i++ {
		b := code[i]
		if (b < '0' || b > '9') && (b < 'A' || b > 'Z') {
			return false
		}
	}
	return true
}

// looksMaskedName guards against printing a full name by mistake: a name
// of two runes or more must have a masked rune.
func looksMaskedName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	return utf8.RuneCountInString(s) < 2 || strings.ContainsRune(s, '*')
}

// looksMaskedID guards against printing a full ID number: at least a
// third of it must be masked (150102********123X hides 8 of 18).
func looksMaskedID(s string) bool {
	return s != "" && 3*strings.Count(s, "*") >= len(s)
}
