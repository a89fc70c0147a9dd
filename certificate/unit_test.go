package certificate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
)

const (
	testUnitName = "呼和浩特市青城建筑工程有限公司"
	testUnitUSCC = "91150100MA0N7Q2X49"
)

// unitSchemes are a unit's four schemes with December 2025 figures for a
// unit of 12 people: unit and personal parts in fen.
var unitSchemes = []struct {
	code, name     string
	unit, personal models.Fen
}{
	{"employee_pension", "企业职工基本养老保险", 1_177_680, 588_840},
	{"employee_medical", "职工基本医疗保险", 441_630, 147_210},
	{"unemployment", "失业保险", 29_442, 29_442},
	{"work_injury", "工伤保险", 11_776, 0},
}

// unitTaxFixture: October to December 2025 of four schemes, credited; the
// unit had 11 people in October.
func unitTaxFixture() models.Certificate {
	var lines []models.CertificateLine
	for m := range 3 {
		period := month(2025, m+9)
		paid := time.Date(2025, time.Month(m+11), 8, 2, 0, 0, 0, time.UTC)
		for _, s := range unitSchemes {
			n, unit, personal := 12, s.unit, s.personal
			if m == 0 {
				n, unit, personal = 11, unit*11/12, personal*11/12
			}
			lines = append(lines, models.CertificateLine{
				Period: period, Scheme: models.Scheme(s.code), SchemeName: s.name, Headcount: n,
				UnitFen: unit, PersonalFen: personal, AmountFen: unit + personal,
				Status: models.CertLineCredited, PaidAt: paid, CreditedAt: paid.Add(26 * time.Hour),
				OrderNo: "LBU2025" + period, TaxVoucherNo: "315150125" + period + "0007",
			})
		}
	}
	return models.Certificate{
		No: "LBT20260115390017726154", Kind: models.CertTaxPayment, VerifyCode: "U7NK2QTX", IssuedAt: issued,
		Authority: models.AuthorityTax, UnitName: testUnitName, UnitUSCC: testUnitUSCC,
		PeriodFrom: "202510", PeriodTo: "202512", Lines: lines, TotalFen: total(lines),
	}
}

// unitTaxReissueFixture: the December certificate, reissued (补开).
func unitTaxReissueFixture() models.Certificate {
	c := unitTaxFixture()
	c.No, c.VerifyCode = "LBT20260115812736450091", "R3PX8KDM"
	c.Lines = c.Lines[8:]
	c.PeriodFrom, c.TotalFen = "202512", total(c.Lines)
	c.ReissueOf = "LBT20260110443381920775"
	return c
}

func voucherSlipFixture() models.BankVoucher {
	var lines []models.BankVoucherLine
	var sum models.Fen
	for _, s := range unitSchemes {
		l := models.BankVoucherLine{Scheme: s.code, SchemeName: s.name, Period: "202601", Headcount: 12,
			UnitFen: s.unit, PersonalFen: s.personal, AmountFen: s.unit + s.personal}
		lines = append(lines, l)
		sum += l.AmountFen
	}
	return models.BankVoucher{
		VoucherNo: "BV2026011500000123", UnitName: testUnitName, UnitUSCC: testUnitUSCC,
		Authority: models.AuthorityTax, PeriodFrom: "202601", PeriodTo: "202601", Lines: lines, TotalFen: sum,
		IssuedAt: issued, ExpiresAt: time.Date(2026, 1, 25, 15, 59, 59, 0, time.UTC),
	}
}

func TestRenderVoucherMatchesGoldenText(t *testing.T) {
	pdf, err := newTestRenderer(t).RenderVoucher(voucherSlipFixture())
	if err != nil {
		t.Fatal(err)
	}
	text := poppler(t, pdf, "pdftotext", "-layout", "-enc", "UTF-8")
	golden := filepath.Join("testdata", "bank_voucher.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestRenderVoucherMatchesGoldenText -update)", err)
	}
	if got := normalize(text); got != normalize(string(want)) {
		t.Errorf("text differs from %s (-update rewrites it); got:\n%s", golden, text)
	}
	info := poppler(t, pdf, "pdfinfo")
	if !regexp.MustCompile(`Page size:\s+595(\.\d+)? x 84[12](\.\d+)? pts \(A4\)`).MatchString(info) ||
		!regexp.MustCompile(`Pages:\s+1\n`).MatchString(info) || !strings.Contains(info, "银行端缴税凭证 BV2026011500000123") {
		t.Errorf("pdfinfo:\n%s", info)
	}
	// The voucher number's QR code is the one image.
	if images := poppler(t, pdf, "pdfimages", "-list"); strings.Count(images, "\n") != 3 {
		t.Errorf("want one image:\n%s", images)
	}
}

func TestRenderVoucherPrintsWhatTheBankCollects(t *testing.T) {
	r := newTestRenderer(t)
	pdf, err := r.RenderVoucher(voucherSlipFixture())
	if err != nil {
		t.Fatal(err)
	}
	text := poppler(t, pdf, "pdftotext", "-layout", "-enc", "UTF-8")
	for _, want := range []string{
		"凭证号码：BV2026011500000123",
		"缴费单位：" + testUnitName,
		"统一社会信用代码：" + testUnitUSCC,
		"有效期至：2026年01月25日 23:59:59（北京时间）",
		"24260.20", // the total: 1766520 + 588840 + 58884 + 11776 fen
		"人民币贰万肆仟贰佰陆拾元贰角",
		"持本凭证到任一合作银行柜台缴款",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("extracted text lacks %q:\n%s", want, text)
		}
	}
	again, _ := newTestRenderer(t).RenderVoucher(voucherSlipFixture())
	if !bytes.Equal(pdf, again) {
		t.Error("two renders of one voucher differ")
	}

	v := voucherSlipFixture()
	v.TotalFen++
	if pdf, err := r.RenderVoucher(v); !errors.Is(err, models.ErrInternal) || pdf != nil {
		t.Errorf("a voucher that does not add up: %d bytes, %v", len(pdf), err)
	}
	v = voucherSlipFixture()
	v.UnitName = "呼和浩特市" + string(rune(0x31350)) + "有限公司"
	if _, err := r.RenderVoucher(v); !errors.Is(err, models.ErrCertificateGlyphMissing) {
		t.Errorf("an unprintable unit name: %v", err)
	}
}

func TestRenderUnitCertificatePrintsTheUnitAndItsParts(t *testing.T) {
	r := newTestRenderer(t)
	pdf, err := r.Render(unitTaxFixture())
	if err != nil {
		t.Fatal(err)
	}
	text := poppler(t, pdf, "pdftotext", "-layout", "-enc", "UTF-8")
	for _, want := range []string{
		"纳税人名称：" + testUnitName,
		"统一社会信用代码：" + testUnitUSCC,
		"企业职工基本养老保险",
		"工伤保险",
		"11776.80", // employee pension: 12 people's unit part
		"10795.40", // and 11 people's in October
	} {
		if !strings.Contains(text, want) {
			t.Errorf("extracted text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "姓名") || strings.Contains(text, "证件号码") {
		t.Errorf("a unit's certificate speaks of a person:\n%s", text)
	}
	c := unitTaxFixture()
	c.Lines[5].Status = models.CertLinePaid
	if _, err := r.Render(c); !errors.Is(err, models.ErrCertificateNotCredited) {
		t.Errorf("money not credited: %v", err)
	}
}

// TestUnitCertificateSignatureCoversTheUnit: changing the unit, or one
// part of a line, breaks the signature.
func TestUnitCertificateSignatureCoversTheUnit(t *testing.T) {
	s := testSigner(t)
	c := unitTaxFixture()
	sig, err := s.Sign(c.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verify(c.Canonical(), sig) {
		t.Fatal("own signature does not verify")
	}
	for name, f := range map[string]func(c *models.Certificate){
		"unit name": func(c *models.Certificate) { c.UnitName = "呼和浩特市青城商贸有限公司" },
		"unit code": func(c *models.Certificate) { c.UnitUSCC = "91150100MA0N7Q2X5L" },
		"headcount": func(c *models.Certificate) { c.Lines[0].Headcount++ },
		"parts": func(c *models.Certificate) {
			c.Lines[0].UnitFen, c.Lines[0].PersonalFen = c.Lines[0].UnitFen+1, c.Lines[0].PersonalFen-1
		},
	} {
		changed := unitTaxFixture()
		f(&changed)
		if s.Verify(changed.Canonical(), sig) {
			t.Errorf("%s changed and the signature still verifies", name)
		}
	}
}
