package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors of issuing certificates, beside those in certificate.go.
var (
	// ErrCertificateRevoked refuses to re-issue (补开) a document that has
	// been revoked: what it stated is no longer true, so a fresh
	// certificate is issued instead.
	ErrCertificateRevoked = newErr(KindConflict, "CERTIFICATE_REVOKED", "该证明已作废，不能补开，请重新开具")
	// ErrCertificateOrderNotPaid refuses a payment voucher for an order
	// the channel has not confirmed as paid.
	ErrCertificateOrderNotPaid = newErr(KindConflict, "ORDER_NOT_PAID", "订单尚未支付成功，暂不能开具缴费凭证")
)

// creditWorkingDays is how many working days after payment money is
// normally credited to the treasury (入库): the tax bureaus tell payers
// 3 to 5 (research/domain.md §2).
const creditWorkingDays = 5

// CreditExpectedBy is the Beijing date by which money paid at paidAt is
// normally credited: five working days (Monday to Friday) later. Public
// holidays are not known here, so it is an estimate and is printed as one.
func CreditExpectedBy(paidAt time.Time) time.Time {
	d := paidAt.In(Beijing)
	d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, Beijing)
	for n := 0; n < creditWorkingDays; {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return d
}

// NotCreditedReason tells a person asking for a tax certificate which
// month is not credited yet and when to come back.
func NotCreditedReason(period string, paidAt time.Time) string {
	return fmt.Sprintf("%s的费款已于%s缴纳，尚未入库。费款一般在缴费后3至5个工作日内入库（预计%s前），入库后即可开具税收完税证明。",
		periodName(period), paidAt.In(Beijing).Format("2006年01月02日"), CreditExpectedBy(paidAt).Format("2006年01月02日"))
}

// canonicalDoc and canonicalLine mirror the keys Canonical writes.
type canonicalDoc struct {
	Format           string          `json:"format"`
	No               string          `json:"no"`
	Kind             string          `json:"kind"`
	VerifyCode       string          `json:"verify_code"`
	IssuedAt         string          `json:"issued_at"`
	Authority        string          `json:"authority"`
	PersonNameMasked string          `json:"person_name_masked"`
	PersonIDMasked   string          `json:"person_id_masked"`
	PayerMasked      string          `json:"payer_masked"`
	Scheme           string          `json:"scheme"`
	PeriodFrom       string          `json:"period_from"`
	PeriodTo         string          `json:"period_to"`
	OrderNo          string          `json:"order_no"`
	Lines            []canonicalLine `json:"lines"`
	TotalFen         int64           `json:"total_fen"`
	ReissueOf        string          `json:"reissue_of"`
	// A unit's certificate (Canonical writes these keys only for one).
	UnitName string `json:"unit_name"`
	UnitUSCC string `json:"unit_uscc"`
}

type canonicalLine struct {
	Period       string `json:"period"`
	PeriodTo     string `json:"period_to"`
	Scheme       string `json:"scheme"`
	BaseFen      int64  `json:"base_fen"`
	AmountFen    int64  `json:"amount_fen"`
	Status       string `json:"status"`
	PaidAt       string `json:"paid_at"`
	CreditedAt   string `json:"credited_at"`
	BookedAt     string `json:"booked_at"`
	OrderNo      string `json:"order_no"`
	TaxVoucherNo string `json:"tax_voucher_no"`
	// A unit's line (Canonical writes these keys only for one).
	SchemeName  string `json:"scheme_name"`
	Headcount   int    `json:"headcount"`
	UnitFen     int64  `json:"unit_fen"`
	PersonalFen int64  `json:"personal_fen"`
}

// ParseCanonical reads back the bytes Canonical wrote, so a stored
// certificate is rebuilt from exactly what was signed and nothing else. It
// fails unless re-encoding the result gives b byte for byte: whatever
// passes describes the signed content completely. Revoked is not part of
// the content and is false.
func ParseCanonical(b []byte) (Certificate, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d canonicalDoc
	if err := dec.Decode(&d); err != nil {
		return Certificate{}, fmt.Errorf("canonical certificate: %w", err)
	}
	if d.Format != canonicalFormat {
		return Certificate{}, fmt.Errorf("canonical certificate: format %q", d.Format)
	}
	var errs []error
	parse := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			errs = append(errs, err)
		}
		return t.UTC()
	}
	c := Certificate{
		No: d.No, Kind: CertificateKind(d.Kind), VerifyCode: d.VerifyCode, IssuedAt: parse(d.IssuedAt),
		Authority: d.Authority, PersonNameMasked: d.PersonNameMasked, PersonIDMasked: d.PersonIDMasked,
		PayerMasked: d.PayerMasked, Scheme: Scheme(d.Scheme), PeriodFrom: d.PeriodFrom, PeriodTo: d.PeriodTo,
		OrderNo: d.OrderNo, TotalFen: Fen(d.TotalFen), ReissueOf: d.ReissueOf,
		UnitName: d.UnitName, UnitUSCC: d.UnitUSCC,
	}
	for _, l := range d.Lines {
		c.Lines = append(c.Lines, CertificateLine{
			Period: l.Period, PeriodTo: l.PeriodTo, Scheme: Scheme(l.Scheme), BaseFen: Fen(l.BaseFen),
			AmountFen: Fen(l.AmountFen), Status: l.Status, PaidAt: parse(l.PaidAt), CreditedAt: parse(l.CreditedAt),
			BookedAt: parse(l.BookedAt), OrderNo: l.OrderNo, TaxVoucherNo: l.TaxVoucherNo,
			SchemeName: l.SchemeName, Headcount: l.Headcount, UnitFen: Fen(l.UnitFen), PersonalFen: Fen(l.PersonalFen),
		})
	}
	if err := errors.Join(errs...); err != nil {
		return Certificate{}, fmt.Errorf("canonical certificate: %w", err)
	}
	if !bytes.Equal(c.Canonical(), b) {
		return Certificate{}, errors.New("canonical certificate: not in canonical form")
	}
	return c, nil
}
