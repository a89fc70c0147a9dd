package certificate

import (
	"fmt"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

const testVerifyBase = "https://lianban.example/api/v1/certificates/verify"

// issued is the fixed issue time of every test certificate:
// 2026-01-15 10:30:00 in Beijing.
var issued = time.Date(2026, 1, 15, 2, 30, 0, 0, time.UTC)

// newTestRenderer returns a renderer; the font is parsed per test binary
// run at most a few times, which is cheap (tens of milliseconds).
func newTestRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := NewRenderer(testVerifyBase)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// month returns the YYYYMM n months after January of year.
func month(year, n int) string {
	return time.Date(year, time.Month(1+n), 1, 0, 0, 0, 0, time.UTC).Format("200601")
}

// pensionLine is a flexible-pension month at the 2025 minimum base of
// 4,907 yuan: 20% is 981.40 yuan.
func pensionLine(period, status string, paid time.Time, orderNo string) models.CertificateLine {
	l := models.CertificateLine{
		Period: period, Scheme: models.SchemeFlexiblePension, BaseFen: 490700, AmountFen: 98140,
		Status: status, PaidAt: paid, OrderNo: orderNo,
	}
	switch status {
	case models.CertLineCredited, models.CertLineBooked:
		l.CreditedAt = paid.Add(50 * time.Hour)
		l.TaxVoucherNo = "3151501" + period + "00042"
	}
	if status == models.CertLineBooked {
		l.BookedAt = paid.Add(100 * time.Hour)
	}
	return l
}

func total(lines []models.CertificateLine) models.Fen {
	var t models.Fen
	for _, l := range lines {
		t += l.AmountFen
	}
	return t
}

// voucherFixture: one order paying January to March 2026, just paid, by a
// relative (代缴) for 李明𬌗.
func voucherFixture() models.Certificate {
	paid := time.Date(2026, 1, 15, 2, 28, 3, 0, time.UTC)
	var lines []models.CertificateLine
	for m := range 3 {
		lines = append(lines, pensionLine(month(2026, m), models.CertLinePaid, paid, "LB202601150228030001"))
	}
	return models.Certificate{
		No: "LBV20260115204816395027", Kind: models.CertPaymentVoucher, VerifyCode: "H4TQ8N2W", IssuedAt: issued,
		Authority:        models.AuthorityFor(models.CertPaymentVoucher, models.SchemeFlexiblePension),
		PersonNameMasked: "李*𬌗", PersonIDMasked: "150102********123X", PayerMasked: "王*",
		Scheme: models.SchemeFlexiblePension, PeriodFrom: "202601", PeriodTo: "202603",
		OrderNo: "LB202601150228030001", Lines: lines, TotalFen: total(lines),
	}
}

// proofFixture: 2025, January to October booked, November credited,
// December paid.
func proofFixture() models.Certificate {
	var lines []models.CertificateLine
	for m := range 12 {
		status := models.CertLineBooked
		switch {
		case m == 11:
			status = models.CertLinePaid
		case m == 10:
			status = models.CertLineCredited
		}
		paid := time.Date(2025, time.Month(m+1), 10, 1, 0, 0, 0, time.UTC)
		lines = append(lines, pensionLine(month(2025, m), status, paid, fmt.Sprintf("LB2025%02d100100000001", m+1)))
	}
	return models.Certificate{
		No: "LBP20260115038472910563", Kind: models.CertContributionProof, VerifyCode: "7K3M9QXD", IssuedAt: issued,
		Authority:        models.AuthorityFor(models.CertContributionProof, models.SchemeFlexiblePension),
		PersonNameMasked: "李*𬌗", PersonIDMasked: "150102********123X",
		Scheme: models.SchemeFlexiblePension, PeriodFrom: "202501", PeriodTo: "202512",
		Lines: lines, TotalFen: total(lines),
	}
}

// longProofFixture: three years of booked months, more than a page.
func longProofFixture() models.Certificate {
	c := proofFixture()
	c.No = "LBP20260115550019283746"
	c.PeriodFrom, c.PeriodTo = "202301", "202512"
	c.Lines = nil
	for m := range 36 {
		paid := time.Date(2023, time.Month(m+1), 10, 1, 0, 0, 0, time.UTC)
		c.Lines = append(c.Lines, pensionLine(month(2023, m), models.CertLineBooked, paid, "LB0001"))
	}
	c.TotalFen = total(c.Lines)
	return c
}

// taxFixture: flexible medical, three months credited or booked.
func taxFixture() models.Certificate {
	var lines []models.CertificateLine
	for m := range 3 {
		paid := time.Date(2025, time.Month(m+10), 12, 6, 0, 0, 0, time.UTC)
		status := models.CertLineBooked
		if m == 2 {
			status = models.CertLineCredited
		}
		l := pensionLine(month(2025, m+9), status, paid, fmt.Sprintf("LB2025%02d120600000007", m+10))
		l.Scheme, l.BaseFen, l.AmountFen = models.SchemeFlexibleMedical, 490700, 39256
		lines = append(lines, l)
	}
	return models.Certificate{
		No: "LBT20260115771203948561", Kind: models.CertTaxPayment, VerifyCode: "QF6ZR1VC", IssuedAt: issued,
		Authority:        models.AuthorityFor(models.CertTaxPayment, models.SchemeFlexibleMedical),
		PersonNameMasked: "乌*格", PersonIDMasked: "152502********0027",
		Scheme: models.SchemeFlexibleMedical, PeriodFrom: "202510", PeriodTo: "202512",
		Lines: lines, TotalFen: total(lines),
	}
}

// residentReissueFixture: a yearly resident medical contribution (no
// base), reissued (补开) after the first proof was lost.
func residentReissueFixture() models.Certificate {
	paid := time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC)
	lines := []models.CertificateLine{{
		Period: "202601", PeriodTo: "202612", Scheme: models.SchemeResidentMedical, AmountFen: 40000,
		Status: models.CertLineCredited, PaidAt: paid, CreditedAt: paid.Add(30 * time.Hour),
		OrderNo: "LB202511030800000003", TaxVoucherNo: "315150120251104000311",
	}}
	return models.Certificate{
		No: "LBP20260115662810374915", Kind: models.CertContributionProof, VerifyCode: "M8XK3D5P", IssuedAt: issued,
		Authority:        models.AuthorityFor(models.CertContributionProof, models.SchemeResidentMedical),
		PersonNameMasked: "巴*尔", PersonIDMasked: "150702********2215",
		Scheme: models.SchemeResidentMedical, PeriodFrom: "202601", PeriodTo: "202612",
		Lines: lines, TotalFen: 40000, ReissueOf: "LBP20251104118273645509",
	}
}

// revokedVoucherFixture is the voucher after it was revoked.
func revokedVoucherFixture() models.Certificate {
	c := voucherFixture()
	c.Revoked = true
	return c
}
