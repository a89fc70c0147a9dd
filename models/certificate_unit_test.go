package models

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// sampleUnitTax is a unit's tax certificate: December 2025 of two schemes,
// credited.
func sampleUnitTax() Certificate {
	paid := time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)
	line := func(scheme, name string, n int, unit, personal Fen) CertificateLine {
		return CertificateLine{Period: "202512", Scheme: Scheme(scheme), SchemeName: name, Headcount: n,
			UnitFen: unit, PersonalFen: personal, AmountFen: unit + personal, Status: CertLineCredited,
			PaidAt: paid, CreditedAt: paid.Add(24 * time.Hour), OrderNo: "LBU1", TaxVoucherNo: "315150100000099999"}
	}
	lines := []CertificateLine{
		line("employee_pension", "企业职工基本养老保险", 12, 1_177_680, 588_840),
		line("employee_medical", "职工基本医疗保险", 12, 441_630, 147_210),
	}
	return Certificate{
		No: "LBT20260115000000000077", Kind: CertTaxPayment, VerifyCode: "UN1T7AXC", IssuedAt: certIssued,
		Authority: AuthorityTax, UnitName: "呼和浩特市青城建筑工程有限公司", UnitUSCC: "91150100MA0N7Q2X49",
		PeriodFrom: "202512", PeriodTo: "202512", Lines: lines,
		TotalFen: lines[0].AmountFen + lines[1].AmountFen,
	}
}

func TestAUnitTaxCertificateValidates(t *testing.T) {
	c := sampleUnitTax()
	if !c.IsUnit() || sampleProof().IsUnit() {
		t.Fatal("IsUnit")
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRefusesMalformedUnitCertificates(t *testing.T) {
	for name, f := range map[string]func(c *Certificate){
		"a voucher kind":       func(c *Certificate) { c.Kind, c.No = CertPaymentVoucher, "LBV20260115000000000077" },
		"a person named too":   func(c *Certificate) { c.PersonNameMasked, c.PersonIDMasked = "李*", "150102********123X" },
		"one scheme":           func(c *Certificate) { c.Scheme = SchemeFlexiblePension },
		"no name":              func(c *Certificate) { c.UnitName = " " },
		"bad code":             func(c *Certificate) { c.UnitUSCC = "91150100MA0N7Q2X4O" }, // O is not in the alphabet
		"short code":           func(c *Certificate) { c.UnitUSCC = "91150100MA0N7Q2X4" },
		"parts do not add up":  func(c *Certificate) { c.Lines[0].UnitFen++ },
		"no headcount":         func(c *Certificate) { c.Lines[1].Headcount = 0 },
		"no scheme name":       func(c *Certificate) { c.Lines[1].SchemeName = "" },
		"negative part":        func(c *Certificate) { c.Lines[0].UnitFen, c.Lines[0].PersonalFen = -1, c.Lines[0].AmountFen+1 },
		"total does not match": func(c *Certificate) { c.TotalFen-- },
	} {
		c := sampleUnitTax()
		f(&c)
		if err := c.Validate(); !errors.Is(err, ErrInternal) {
			t.Errorf("%s: Validate() = %v, want ErrInternal", name, err)
		}
	}
	c := sampleUnitTax()
	c.Lines[1].Status, c.Lines[1].CreditedAt = CertLinePaid, time.Time{}
	if err := c.Validate(); !errors.Is(err, ErrCertificateNotCredited) {
		t.Errorf("money not credited: %v", err)
	}
	p := sampleProof()
	p.Lines[0].Headcount = 3
	if err := p.Validate(); !errors.Is(err, ErrInternal) {
		t.Errorf("unit parts on a person's line: %v", err)
	}
}

// TestUnitCanonicalIsPinned: the unit's fields are signed, and their keys
// appear only on a unit's certificate (TestCanonicalIsPinned keeps the
// person's form).
func TestUnitCanonicalIsPinned(t *testing.T) {
	c := sampleUnitTax()
	c.Lines = c.Lines[1:]
	c.TotalFen = c.Lines[0].AmountFen
	want := `{"authority":"国家税务总局内蒙古自治区税务局","format":"lianban.certificate.v1","issued_at":"2026-01-15T02:30:00Z",` +
		`"kind":"tax_payment_certificate","lines":[{"amount_fen":588840,"base_fen":0,"booked_at":"","credited_at":"2026-01-11T02:00:00Z",` +
		`"headcount":12,"order_no":"LBU1","paid_at":"2026-01-10T02:00:00Z","period":"202512","period_to":"","personal_fen":147210,` +
		`"scheme":"employee_medical","scheme_name":"职工基本医疗保险","status":"credited","tax_voucher_no":"315150100000099999",` +
		`"unit_fen":441630}],"no":"LBT20260115000000000077","order_no":"","payer_masked":"","period_from":"202512",` +
		`"period_to":"202512","person_id_masked":"","person_name_masked":"","reissue_of":"","scheme":"",` +
		`"total_fen":588840,"unit_name":"呼和浩特市青城建筑工程有限公司","unit_uscc":"91150100MA0N7Q2X49","verify_code":"UN1T7AXC"}`
	if got := string(c.Canonical()); got != want {
		t.Errorf("Canonical() =\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(string(sampleProof().Canonical()), "unit") {
		t.Error("a person's canonical form has unit keys")
	}
}

func sampleBankVoucher() BankVoucher {
	return BankVoucher{
		VoucherNo: "BV2026011500000123", UnitName: "呼和浩特市青城建筑工程有限公司", UnitUSCC: "91150100MA0N7Q2X49",
		Authority: AuthorityTax, PeriodFrom: "202512", PeriodTo: "202512",
		Lines: []BankVoucherLine{
			{Scheme: "employee_pension", SchemeName: "企业职工基本养老保险", Period: "202512", Headcount: 12, UnitFen: 1_177_680, PersonalFen: 588_840, AmountFen: 1_766_520},
			{Scheme: "employee_medical", SchemeName: "职工基本医疗保险", Period: "202512", Headcount: 12, UnitFen: 441_630, PersonalFen: 147_210, AmountFen: 588_840},
		},
		TotalFen: 2_355_360, IssuedAt: certIssued, ExpiresAt: certIssued.AddDate(0, 0, 10),
	}
}

func TestBankVoucherValidate(t *testing.T) {
	if err := sampleBankVoucher().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(v *BankVoucher){
		"number with a space": func(v *BankVoucher) { v.VoucherNo = "BV 2026" },
		"short number":        func(v *BankVoucher) { v.VoucherNo = "BV1" },
		"no unit":             func(v *BankVoucher) { v.UnitName = "" },
		"bad code":            func(v *BankVoucher) { v.UnitUSCC = "X" },
		"no authority":        func(v *BankVoucher) { v.Authority = "" },
		"expired at issue":    func(v *BankVoucher) { v.ExpiresAt = v.IssuedAt },
		"period outside":      func(v *BankVoucher) { v.Lines[1].Period = "202601" },
		"parts":               func(v *BankVoucher) { v.Lines[0].PersonalFen-- },
		"total":               func(v *BankVoucher) { v.TotalFen++ },
		"headcount":           func(v *BankVoucher) { v.Lines[0].Headcount = 0 },
		"no lines":            func(v *BankVoucher) { v.Lines, v.TotalFen = nil, 0 },
	} {
		v := sampleBankVoucher()
		f(&v)
		if err := v.Validate(); !errors.Is(err, ErrInternal) {
			t.Errorf("%s: Validate() = %v, want ErrInternal", name, err)
		}
	}
}

// TestAUnitCertificateReadsBackFromItsCanonicalForm: what is signed is
// what is shown on verification, unit fields included.
func TestAUnitCertificateReadsBackFromItsCanonicalForm(t *testing.T) {
	c := sampleUnitTax()
	got, err := ParseCanonical(c.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if got.UnitName != c.UnitName || got.UnitUSCC != c.UnitUSCC || len(got.Lines) != 2 ||
		got.Lines[0].Headcount != 12 || got.Lines[0].UnitFen != 1_177_680 || got.Lines[1].PersonalFen != 147_210 ||
		got.Lines[1].SchemeName != "职工基本医疗保险" || !got.IsUnit() {
		t.Fatalf("read back %+v", got)
	}
}
