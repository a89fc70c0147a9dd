package models

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var certIssued = time.Date(2026, 1, 15, 2, 30, 0, 0, time.UTC)

// sampleProof is a valid two-month contribution proof.
func sampleProof() Certificate {
	paid := time.Date(2025, 12, 20, 3, 0, 0, 0, time.UTC)
	return Certificate{
		No:               "LBP20260115038472910563",
		Kind:             CertContributionProof,
		VerifyCode:       "7K3M9QXD",
		IssuedAt:         certIssued,
		Authority:        AuthoritySocialInsurance,
		PersonNameMasked: "李*𬌗",
		PersonIDMasked:   "150102********123X",
		Scheme:           SchemeFlexiblePension,
		PeriodFrom:       "202511",
		PeriodTo:         "202512",
		Lines: []CertificateLine{
			{Period: "202511", Scheme: SchemeFlexiblePension, BaseFen: 490700, AmountFen: 98140, Status: CertLineBooked,
				PaidAt: paid, CreditedAt: paid.Add(48 * time.Hour), BookedAt: paid.Add(96 * time.Hour), OrderNo: "O1", TaxVoucherNo: "315150100000012345"},
			{Period: "202512", Scheme: SchemeFlexiblePension, BaseFen: 490700, AmountFen: 98140, Status: CertLinePaid,
				PaidAt: paid, OrderNo: "O1"},
		},
		TotalFen: 196280,
	}
}

func TestCertificateKindValidAndTitle(t *testing.T) {
	for k, title := range map[CertificateKind]string{
		CertPaymentVoucher:    "缴费凭证",
		CertContributionProof: "社保缴费证明",
		CertTaxPayment:        "税收完税证明",
	} {
		if !k.Valid() || k.Title() != title {
			t.Errorf("%s: Valid()=%v Title()=%q, want true %q", k, k.Valid(), k.Title(), title)
		}
	}
	if CertificateKind("receipt").Valid() {
		t.Error("an unknown kind is valid")
	}
}

func TestNewCertificateNoHasKindLetterBeijingDateAndTwelveDigits(t *testing.T) {
	// 17:00 UTC on the 14th is already the 15th in Beijing.
	at := time.Date(2026, 1, 14, 17, 0, 0, 0, time.UTC)
	for kind, prefix := range map[CertificateKind]string{
		CertPaymentVoucher: "LBV20260115", CertContributionProof: "LBP20260115", CertTaxPayment: "LBT20260115",
	} {
		no := NewCertificateNo(kind, at)
		if !regexp.MustCompile(`^` + prefix + `[0-9]{12}$`).MatchString(no) {
			t.Errorf("NewCertificateNo(%s) = %q, want %s + 12 digits", kind, no, prefix)
		}
		if !ValidCertificateNo(no) {
			t.Errorf("ValidCertificateNo(%q) = false", no)
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		no := NewCertificateNo(CertPaymentVoucher, at)
		if seen[no] {
			t.Fatalf("duplicate number %s in 1000 draws", no)
		}
		seen[no] = true
	}
}

func TestValidCertificateNoRejectsMalformedNumbers(t *testing.T) {
	for _, no := range []string{
		"",
		"LBP2026011503847291056",   // one digit short
		"LBP202601150384729105634", // one digit long
		"LBX20260115038472910563",  // unknown kind letter
		"XXP20260115038472910563",  // wrong prefix
		"LBP20261315038472910563",  // month 13
		"LBP2026011503847291056A",  // letter in the random part
		"lbp20260115038472910563",
	} {
		if ValidCertificateNo(no) {
			t.Errorf("ValidCertificateNo(%q) = true", no)
		}
	}
}

func TestAuthorityForTaxCertificatesIsTheTaxBureauAndOtherwiseTheSchemesAgency(t *testing.T) {
	cases := []struct {
		kind   CertificateKind
		scheme Scheme
		want   string
	}{
		{CertTaxPayment, SchemeFlexibleMedical, "国家税务总局内蒙古自治区税务局"},
		{CertTaxPayment, SchemeFlexiblePension, "国家税务总局内蒙古自治区税务局"},
		{CertContributionProof, SchemeFlexiblePension, "内蒙古自治区社会保险事业服务中心"},
		{CertContributionProof, SchemeResidentPension, "内蒙古自治区社会保险事业服务中心"},
		{CertPaymentVoucher, SchemeFlexibleMedical, "内蒙古自治区医疗保障事业中心"},
		{CertPaymentVoucher, SchemeResidentMedical, "内蒙古自治区医疗保障事业中心"},
	}
	for _, c := range cases {
		if got := AuthorityFor(c.kind, c.scheme); got != c.want {
			t.Errorf("AuthorityFor(%s, %s) = %q, want %q", c.kind, c.scheme, got, c.want)
		}
	}
}

// TestCanonicalIsPinned pins the signed format: changing it invalidates
// every signature already issued, so it must never change silently.
func TestCanonicalIsPinned(t *testing.T) {
	c := sampleProof()
	c.Lines = c.Lines[1:]
	c.PeriodFrom = "202512"
	c.TotalFen = 98140
	want := `{"authority":"内蒙古自治区社会保险事业服务中心","format":"lianban.certificate.v1","issued_at":"2026-01-15T02:30:00Z",` +
		`"kind":"contribution_proof","lines":[{"amount_fen":98140,"base_fen":490700,"booked_at":"","credited_at":"",` +
		`"order_no":"O1","paid_at":"2025-12-20T03:00:00Z","period":"202512","period_to":"","scheme":"flexible_pension",` +
		`"status":"paid","tax_voucher_no":""}],"no":"LBP20260115038472910563","order_no":"","payer_masked":"",` +
		`"period_from":"202512","period_to":"202512","person_id_masked":"150102********123X","person_name_masked":"李*𬌗",` +
		`"reissue_of":"","scheme":"flexible_pension","total_fen":98140,"verify_code":"7K3M9QXD"}`
	if got := string(c.Canonical()); got != want {
		t.Errorf("Canonical() =\n%s\nwant\n%s", got, want)
	}
}

func TestCanonicalIgnoresZoneSubSecondsAndRevocation(t *testing.T) {
	a := sampleProof()
	b := sampleProof()
	b.IssuedAt = a.IssuedAt.In(Beijing).Add(999 * time.Millisecond)
	b.Lines[0].PaidAt = b.Lines[0].PaidAt.In(Beijing)
	b.Revoked = true
	if string(a.Canonical()) != string(b.Canonical()) {
		t.Errorf("canonical forms differ:\n%s\n%s", a.Canonical(), b.Canonical())
	}
}

// TestCanonicalCoversEveryFieldButRevoked changes each field in turn, so a
// field added later cannot be left out of the signature by accident.
func TestCanonicalCoversEveryFieldButRevoked(t *testing.T) {
	base := sampleProof()
	mutate := func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Int64, reflect.Int:
			v.SetInt(v.Int() + 1)
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Struct: // time.Time
			v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
		case reflect.Slice:
			v.Set(reflect.Zero(v.Type()))
		default:
			t.Fatalf("no mutation for %s", v.Type())
		}
	}
	ct := reflect.TypeOf(base)
	for i := range ct.NumField() {
		c := sampleProof()
		mutate(reflect.ValueOf(&c).Elem().Field(i))
		changed := string(c.Canonical()) != string(base.Canonical())
		if name := ct.Field(i).Name; changed != (name != "Revoked") {
			t.Errorf("changing Certificate.%s changed the canonical form: %v", name, changed)
		}
	}
	lt := reflect.TypeOf(CertificateLine{})
	for i := range lt.NumField() {
		c := sampleProof()
		mutate(reflect.ValueOf(&c.Lines[0]).Elem().Field(i))
		if string(c.Canonical()) == string(base.Canonical()) {
			t.Errorf("changing CertificateLine.%s left the canonical form unchanged", lt.Field(i).Name)
		}
	}
}

func TestValidateAcceptsWellFormedCertificates(t *testing.T) {
	proof := sampleProof()

	tax := sampleProof()
	tax.Kind, tax.No, tax.Authority = CertTaxPayment, "LBT20260115000000000001", AuthorityTax
	tax.Lines = tax.Lines[:1]
	tax.PeriodTo, tax.TotalFen = "202511", 98140

	voucher := sampleProof()
	voucher.Kind, voucher.No = CertPaymentVoucher, "LBV20260115000000000002"
	voucher.OrderNo, voucher.PayerMasked = "O1", "王*"

	resident := sampleProof()
	resident.Scheme, resident.Authority = SchemeResidentMedical, AuthorityMedicalInsurance
	resident.PeriodFrom, resident.PeriodTo = "202601", "202612"
	resident.Lines = []CertificateLine{{Period: "202601", PeriodTo: "202612", Scheme: SchemeResidentMedical, AmountFen: 40000,
		Status: CertLinePaid, PaidAt: certIssued, OrderNo: "O2"}}
	resident.TotalFen = 40000
	resident.ReissueOf = "LBP20260101000000000009"

	for name, c := range map[string]Certificate{"proof": proof, "tax": tax, "voucher": voucher, "resident reissue": resident} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}

func TestValidateRefusesTaxCertificateBeforeCredit(t *testing.T) {
	c := sampleProof()
	c.Kind, c.No, c.Authority = CertTaxPayment, "LBT20260115000000000001", AuthorityTax
	err := c.Validate()
	if !errors.Is(err, ErrCertificateNotCredited) {
		t.Fatalf("Validate() = %v, want ErrCertificateNotCredited", err)
	}
	if e, _ := AsError(err); e.Kind != KindUnprocessable || !strings.Contains(e.Reason, "2025年12月") {
		t.Errorf("error = %+v, want a 422 naming 2025年12月", e)
	}
}

func TestValidateRefusesInconsistentCertificatesAsInternalErrors(t *testing.T) {
	cases := map[string]func(c *Certificate){
		"total differs from the lines":    func(c *Certificate) { c.TotalFen++ },
		"full name":                       func(c *Certificate) { c.PersonNameMasked = "李明𬌗" },
		"full ID number":                  func(c *Certificate) { c.PersonIDMasked = "15010219900101123X" },
		"number of another kind":          func(c *Certificate) { c.No = "LBV20260115038472910563" },
		"reissue of itself":               func(c *Certificate) { c.ReissueOf = c.No },
		"line of another scheme":          func(c *Certificate) { c.Lines[1].Scheme = SchemeFlexibleMedical },
		"line outside the period range":   func(c *Certificate) { c.Lines[1].Period = "202601" },
		"lines out of order":              func(c *Certificate) { c.Lines[0], c.Lines[1] = c.Lines[1], c.Lines[0] },
		"unknown status":                  func(c *Certificate) { c.Lines[1].Status = "settled" },
		"booked without booking time":     func(c *Certificate) { c.Lines[0].BookedAt = time.Time{} },
		"refunded month on a proof":       func(c *Certificate) { c.Lines[1].Status = CertLineRefunded },
		"pension month without a base":    func(c *Certificate) { c.Lines[1].BaseFen = 0 },
		"no issue time":                   func(c *Certificate) { c.IssuedAt = time.Time{} },
		"verify code unsafe in a URL":     func(c *Certificate) { c.VerifyCode = "7K3M9QX&" },
		"voucher without payer":           func(c *Certificate) { c.Kind, c.No, c.OrderNo = CertPaymentVoucher, "LBV20260115038472910563", "O1" },
		"invalid month in the range":      func(c *Certificate) { c.PeriodTo = "202513" },
		"no lines":                        func(c *Certificate) { c.Lines, c.TotalFen = nil, 0 },
		"negative amount balanced by sum": func(c *Certificate) { c.Lines[1].AmountFen, c.TotalFen = -1, 98139 },
	}
	for name, mutate := range cases {
		c := sampleProof()
		mutate(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInternal) {
			t.Errorf("%s: Validate() = %v, want ErrInternal", name, err)
		}
	}
}

func TestLineStatusLabelsAndStageNotes(t *testing.T) {
	cases := []struct {
		status, label, note string
		scheme              Scheme
	}{
		{CertLinePaid, "已缴费", "已缴费，尚未入库", SchemeFlexiblePension},
		{CertLineCredited, "已入库", "尚待社会保险经办机构记账", SchemeFlexiblePension},
		{CertLineCredited, "已入库", "尚待医疗保障经办机构记账", SchemeResidentMedical},
		{CertLineBooked, "已记账", "医疗保障经办机构已将费款记入个人缴费记录", SchemeFlexibleMedical},
		{CertLineRefunding, "退费中", "正在办理退费", SchemeFlexiblePension},
		{CertLineRefunded, "已退费", "已退还", SchemeFlexiblePension},
	}
	for _, c := range cases {
		l := CertificateLine{Status: c.status, Scheme: c.scheme}
		if l.StatusLabel() != c.label || !strings.Contains(l.StageNote(), c.note) {
			t.Errorf("%s/%s: label %q note %q, want %q and a note with %q", c.status, c.scheme, l.StatusLabel(), l.StageNote(), c.label, c.note)
		}
	}
}
