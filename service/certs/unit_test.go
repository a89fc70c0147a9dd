package certs_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/certs"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// The unit fixture writes, row by row, the state the unit workflows leave
// behind: a unit, the people acting for it, and paid declarations whose
// employee-months are records paid by the unit at their stages. The
// certificates read nothing else.

const (
	demoUnitID   = "unit-demo-enterprise"
	demoUnitName = "内蒙古联办示范科技有限公司"
	demoUnitUSCC = "91150100MA0LB00013"
	otherUnitID  = "unit-demo-institution"
)

// unitPeople is who the tests act as: the demo enterprise's legal
// representative and 办税员, the legal representative of another unit,
// and a verified stranger.
type unitPeople struct {
	rep, operator, otherRep, stranger people.Session
}

func personIDOf(t *testing.T, db *store.DB, userID string) string {
	t.Helper()
	var u store.UserRow
	if err := db.Gorm.Where("id = ?", userID).Take(&u).Error; err != nil || u.PersonID == nil {
		t.Fatalf("user %s: %v", userID, err)
	}
	return *u.PersonID
}

func insertUnit(t *testing.T, db *store.DB, id, uscc, name string, kind models.UnitType) {
	t.Helper()
	if err := db.Gorm.Create(&store.UnitRow{ID: id, USCC: uscc, Name: name, UnitType: string(kind), RegionCode: "150100",
		CreatedAt: servicetest.Start()}).Error; err != nil {
		t.Fatal(err)
	}
}

func addMember(t *testing.T, db *store.DB, unitID string, sess people.Session, role string) {
	t.Helper()
	pid := personIDOf(t, db, sess.UserID)
	if err := db.Gorm.Create(&store.UnitMemberRow{ID: "um-" + unitID[len(unitID)-6:] + "-" + sess.Subject, UnitID: unitID, UserID: sess.UserID,
		PersonID: pid, Role: role, ActiveKey: store.UnitMemberActiveKey(unitID, pid), RepKey: store.UnitMemberRepKey(unitID, role),
		AddedBy: sess.UserID, CreatedAt: servicetest.Start()}).Error; err != nil {
		t.Fatal(err)
	}
}

func newUnitPeople(t *testing.T, env *servicetest.Env, db *store.DB) unitPeople {
	login := func(subject, name string) people.Session {
		p := servicetest.Person(t, name)
		return env.LoginVerified(t, subject, p.Name, p.IDNumber)
	}
	up := unitPeople{rep: login("zhang", "张三明"), operator: login("li", "李秀英"), otherRep: login("wang", "王建国"),
		stranger: login("sun", "孙小梅")}
	insertUnit(t, db, demoUnitID, demoUnitUSCC, demoUnitName, models.UnitEnterprise)
	insertUnit(t, db, otherUnitID, "12150000MB1LB0002E", "内蒙古自治区联办示范服务中心", models.UnitInstitution)
	addMember(t, db, demoUnitID, up.rep, store.UnitRoleLegalRep)
	addMember(t, db, demoUnitID, up.operator, store.UnitRoleOperator)
	addMember(t, db, otherUnitID, up.otherRep, store.UnitRoleLegalRep)
	return up
}

// employeeMonth is one employee's month of one scheme as declared, and
// the stage its record has reached.
type employeeMonth struct {
	person          string
	scheme          models.Scheme
	base, unit, ind int64
	status          string
}

// unitPaid writes a unit's paid declaration of period: the declaration and
// its lines, the order and one record per employee-month. Money is paid on
// the 10th of the next month, credited a day later and booked a day after.
func unitPaid(t *testing.T, db *store.DB, unitID, period, orderNo string, months []employeeMonth) {
	t.Helper()
	p, err := models.ParsePeriod(period)
	if err != nil {
		t.Fatal(err)
	}
	paid := time.Date(p.Year, p.Month+1, 10, 2, 0, 0, 0, time.UTC)
	credited, booked := paid.Add(24*time.Hour), paid.Add(48*time.Hour)
	declID := "ud-" + orderNo
	var sum, unitSum, indSum int64
	for i, m := range months {
		lineID := declID + "-" + string(rune('a'+i))
		amount := m.unit + m.ind
		sum, unitSum, indSum = sum+amount, unitSum+m.unit, indSum+m.ind
		if err := db.Gorm.Create(&store.UnitDeclarationLineRow{ID: lineID, DeclarationID: declID, EmployeeID: "emp-" + m.person + string(m.scheme),
			PersonID: m.person, Scheme: string(m.scheme), RegionCode: "150100", BaseFen: m.base, UnitFen: m.unit,
			IndividualFen: m.ind, AmountFen: amount}).Error; err != nil {
			t.Fatal(err)
		}
		r := store.RecordRow{ID: "rec-" + lineID, PersonID: m.person, Scheme: string(m.scheme), Period: period,
			RegionCode: "150100", BaseFen: m.base, AmountFen: amount, Status: m.status, OrderNo: orderNo, PaidAt: paid,
			PayerUnitID: unitID, UnitLineID: lineID}
		if m.status != contrib.RecordPaid {
			r.CreditedAt, r.TaxVoucherNo = &credited, "3151501"+orderNo[len(orderNo)-4:]+"0000099"
		}
		if m.status == contrib.RecordBooked {
			r.BookedAt, r.BookingNo = &booked, "BK"+lineID
		}
		if err := db.Gorm.Create(&r).Error; err != nil {
			t.Fatal(err)
		}
	}
	now := servicetest.Start()
	if err := db.Gorm.Create(&store.UnitDeclarationRow{ID: declID, UnitID: unitID, Period: period, AmountFen: sum,
		UnitFen: unitSum, IndividualFen: indSum, Headcount: len(months), Status: "paid", OrderNo: orderNo,
		CreatedBy: "fixture", CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Create(&store.OrderRow{OrderNo: orderNo, Channel: "bank", AmountFen: sum, Status: contrib.OrderPaid,
		ExpiresAt: paid.Add(time.Hour), CreatedAt: paid, PaidAt: &paid, UpdatedAt: paid, UnitID: unitID,
		UnitDeclarationID: declID, Method: "tripartite"}).Error; err != nil {
		t.Fatal(err)
	}
}

// refundRecord records a finished refund of amount of a record.
func refundRecord(t *testing.T, db *store.DB, refundNo, recordID, orderNo, period string, amount int64) {
	t.Helper()
	now := servicetest.Start()
	if err := db.Gorm.Create(&store.RefundRow{RefundNo: refundNo, Scheme: string(models.SchemeEnterprisePension),
		Department: string(models.DeptSocialInsurance), Reason: "overpaid", RefundFen: amount, RefundedFen: amount,
		Status: string(models.RefundRefunded), CreatedAt: now, UpdatedAt: now, ClosedAt: &now, UnitID: demoUnitID}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Create(&store.RefundItemRow{RefundNo: refundNo, RecordID: recordID, OrderNo: orderNo, Period: period,
		AmountFen: amount}).Error; err != nil {
		t.Fatal(err)
	}
}

// demoUnitMonths: September 2026 booked (pension and medical, two people),
// October credited (pension: one of the two partly refunded; medical: one
// month refunded whole), November only paid; and the other unit's credited
// September.
func demoUnitMonths(t *testing.T, db *store.DB) {
	pension, medical := models.SchemeEnterprisePension, models.SchemeEnterpriseMedical
	unitPaid(t, db, demoUnitID, "202609", "LBU0000000000000009001", []employeeMonth{
		{"pe1", pension, 500000, 80000, 40000, contrib.RecordBooked},
		{"pe2", pension, 600000, 96000, 48000, contrib.RecordBooked},
		{"pe1", medical, 500000, 40000, 10000, contrib.RecordBooked},
		{"pe2", medical, 600000, 48000, 12000, contrib.RecordBooked},
	})
	unitPaid(t, db, demoUnitID, "202610", "LBU0000000000000010001", []employeeMonth{
		{"pe1", pension, 500000, 80000, 40000, contrib.RecordCredited},
		{"pe2", pension, 600000, 96000, 48000, contrib.RecordCredited},
		{"pe1", medical, 500000, 40000, 10000, contrib.RecordRefunded},
	})
	// A third of pe2's October pension went back to the unit: 96000 of
	// 144000 stays, 64000 of it the unit's part.
	refundRecord(t, db, "RFU000000000001", "rec-ud-LBU0000000000000010001-b", "LBU0000000000000010001", "202610", 48000)
	unitPaid(t, db, demoUnitID, "202611", "LBU0000000000000011001", []employeeMonth{
		{"pe1", pension, 500000, 80000, 40000, contrib.RecordPaid},
	})
	unitPaid(t, db, otherUnitID, "202609", "LBU0000000000000009002", []employeeMonth{
		{"pe9", models.SchemeInstitutionPension, 700000, 112000, 56000, contrib.RecordCredited},
	})
}

func unitTax(from, to string) certs.IssueCertificateInput {
	return certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: demoUnitID, PeriodFrom: from, PeriodTo: to}
}

func TestAUnitsTaxCertificateListsItsCreditedMonthsNetOfRefunds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		up := newUnitPeople(t, env, db)
		demoUnitMonths(t, db)

		c := issueCert(t, env, up.rep.UserID, unitTax("", ""))
		if c.Kind != models.CertTaxPayment || c.Unit == nil || c.Unit.UnitID != demoUnitID || c.Unit.Name != demoUnitName ||
			c.Unit.USCC != demoUnitUSCC || c.PersonNameMasked != "" || c.PersonIDNumberMasked != "" || c.Scheme != "" ||
			c.PeriodFrom != "202609" || c.PeriodTo != "202610" || c.LineCount != 3 || c.TotalFen != 264000+110000+216000 ||
			c.Authority != models.AuthorityTax || !strings.HasPrefix(c.CertificateNo, "LBT") {
			t.Fatalf("unit certificate %+v", c)
		}
		v := verify(t, env, c.CertificateNo, c.VerifyCode)
		type line struct {
			period, scheme, status string
			n                      int
			base, unit, ind, total models.Fen
		}
		var got []line
		for _, l := range v.Lines {
			got = append(got, line{l.Period, string(l.Scheme), l.Status, l.Headcount, l.BaseFen, *l.UnitFen, *l.IndividualFen, l.AmountFen})
		}
		want := []line{
			{"202609", "enterprise_pension", "booked", 2, 1100000, 176000, 88000, 264000},
			{"202609", "enterprise_medical", "booked", 2, 1100000, 88000, 22000, 110000},
			// pe2's refund is netted, pe1's refunded medical month and
			// November (only paid) are not there.
			{"202610", "enterprise_pension", "credited", 2, 1100000, 144000, 72000, 216000},
		}
		if len(got) != len(want) {
			t.Fatalf("lines %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if v.Result != certs.VerifyValid || v.Unit == nil || v.Unit.Name != demoUnitName || v.Unit.USCC != demoUnitUSCC ||
			v.PersonNameMasked != "" || v.PersonIDNumberMasked != "" || *v.TotalFen != 590000 {
			t.Errorf("verification %+v", v)
		}

		// The PDF prints the unit, its lines and parts.
		text := servicetest.PDFText(t, download(t, env, up.rep.UserID, c.CertificateNo))
		for _, want := range []string{"税收完税证明", "纳税人名称：" + demoUnitName, "统一社会信用代码：" + demoUnitUSCC,
			"证明编号：" + c.CertificateNo, c.VerifyCode, "企业职工基本医疗保险（含生育保险）", "人民币伍仟玖佰元整", "国家税务总局内蒙古自治区税务局"} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF lacks %q:\n%s", want, text)
			}
		}
		for _, row := range []string{
			`1\s+3151501\d{4}0000099\s+企业职工基本养老保险\s+2026-09\s+2026-10-11\s+2\s+1760.00\s+880.00\s+2640.00`,
			// The long scheme name wraps; pdftotext may put it before or after the month.
			`2\s+3151501\d{4}0000099\s+(企业职工基本医疗保险（含生育保险）\s+)?2026-09\s+(企业职工基本医疗保险（含生育保险）\s+)?2026-10-11\s+2\s+880.00\s+220.00\s+1100.00`,
			`3\s+3151501\d{4}0000099\s+企业职工基本养老保险\s+2026-10\s+2026-11-11\s+2\s+1440.00\s+720.00\s+2160.00`,
			`合\s*计.*\s+4080.00\s+1820.00\s+5900.00`,
		} {
			if !regexp.MustCompile(row).MatchString(text) {
				t.Errorf("PDF lacks a row matching %s:\n%s", row, text)
			}
		}
		for _, absent := range []string{"张", "李", "150102"} {
			if strings.Contains(text, absent) {
				t.Errorf("the unit's certificate names a person (%q)", absent)
			}
		}

		// Filters: one scheme; from a month.
		med := issueCert(t, env, up.rep.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: demoUnitID,
			Scheme: models.SchemeEnterpriseMedical})
		if med.LineCount != 1 || med.TotalFen != 110000 || med.PeriodFrom != "202609" || med.PeriodTo != "202609" {
			t.Errorf("medical only %+v", med)
		}
		oct := issueCert(t, env, up.rep.UserID, unitTax("202610", "202612"))
		if oct.LineCount != 1 || oct.TotalFen != 216000 || oct.PeriodFrom != "202610" || oct.PeriodTo != "202612" {
			t.Errorf("from October %+v", oct)
		}
		// Nothing credited in November: nothing issued.
		before := servicetest.Count(t, db, "certificates", "unit_id = ?", demoUnitID)
		for name, tc := range map[string]struct {
			in   certs.IssueCertificateInput
			want error
		}{
			"only paid months":     {unitTax("202611", "202611"), models.ErrNotFound},
			"a person's scheme":    {certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: demoUnitID, Scheme: models.SchemeFlexiblePension}, models.ErrSchemeInvalid},
			"a proof":              {certs.IssueCertificateInput{Kind: models.CertContributionProof, UnitID: demoUnitID}, models.ErrInvalid},
			"a bad period":         {unitTax("2026-13", ""), models.ErrInvalid},
			"a range backwards":    {unitTax("202610", "202609"), models.ErrInvalid},
			"thirty-one years":     {unitTax("200001", "203101"), models.ErrInvalid},
			"another unit's":       {certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: otherUnitID}, models.ErrNotFound},
			"a unit that is not":   {certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: "unit-none"}, models.ErrNotFound},
			"another unit's month": {certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: demoUnitID, Scheme: models.SchemeInstitutionPension}, models.ErrNotFound},
		} {
			_, err := env.Svc.IssueCertificate(ctx, up.rep.UserID, tc.in)
			wantErr(t, name, err, tc.want)
		}
		if n := servicetest.Count(t, db, "certificates", "unit_id = ?", demoUnitID); n != before {
			t.Errorf("refusals stored certificates: %d → %d", before, n)
		}
	})
}

func TestOnlyThoseActingForTheUnitGetItsCertificates(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		up := newUnitPeople(t, env, db)
		demoUnitMonths(t, db)

		c := issueCert(t, env, up.rep.UserID, unitTax("", ""))
		// The 办税员 issues and downloads too.
		op := issueCert(t, env, up.operator.UserID, unitTax("202609", "202609"))
		download(t, env, up.operator.UserID, c.CertificateNo)
		download(t, env, up.rep.UserID, op.CertificateNo)

		for who, sess := range map[string]people.Session{"a stranger": up.stranger, "another unit's legal rep": up.otherRep} {
			_, err := env.Svc.IssueCertificate(ctx, sess.UserID, unitTax("", ""))
			wantErr(t, who+" issues", err, models.ErrNotFound)
			_, _, err = env.Svc.DownloadCertificate(ctx, sess.UserID, c.CertificateNo)
			wantErr(t, who+" downloads", err, models.ErrNotFound)
			_, err = env.Svc.IssueCertificate(ctx, sess.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment, ReissueOf: c.CertificateNo})
			wantErr(t, who+" re-issues", err, models.ErrNotFound)
			items, _, err := env.Svc.ListCertificates(ctx, sess.UserID, kernel.Page{Size: 20})
			if err != nil || len(items) != 0 {
				t.Errorf("%s lists %d certificates (%v)", who, len(items), err)
			}
		}
		// Naming another unit with a certificate of this one is refused.
		_, err := env.Svc.IssueCertificate(ctx, up.otherRep.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment,
			UnitID: otherUnitID, ReissueOf: c.CertificateNo})
		wantErr(t, "re-issue under another unit", err, models.ErrNotFound)

		for who, sess := range map[string]people.Session{"legal rep": up.rep, "operator": up.operator} {
			items, _, err := env.Svc.ListCertificates(ctx, sess.UserID, kernel.Page{Size: 20})
			if err != nil || len(items) != 2 || items[0].Unit == nil || items[1].Unit == nil {
				t.Fatalf("%s lists %+v (%v)", who, items, err)
			}
		}

		// An operator the unit removed loses its documents, even those
		// they issued.
		if err := db.Gorm.Model(&store.UnitMemberRow{}).Where("unit_id = ? AND user_id = ?", demoUnitID, up.operator.UserID).
			Updates(map[string]any{"removed_at": servicetest.Start(), "active_key": nil}).Error; err != nil {
			t.Fatal(err)
		}
		_, _, err = env.Svc.DownloadCertificate(ctx, up.operator.UserID, op.CertificateNo)
		wantErr(t, "a removed operator downloads", err, models.ErrNotFound)
		if items, _, err := env.Svc.ListCertificates(ctx, up.operator.UserID, kernel.Page{Size: 20}); err != nil || len(items) != 0 {
			t.Errorf("a removed operator lists %d (%v)", len(items), err)
		}
	})
}

func TestAUnitsReissueReplacesTheOriginal(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		up := newUnitPeople(t, env, db)
		demoUnitMonths(t, db)

		orig := issueCert(t, env, up.rep.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment, UnitID: demoUnitID,
			Scheme: models.SchemeEnterprisePension, PeriodFrom: "202609", PeriodTo: "202610"})
		env.Clock.Advance(time.Minute)
		re := issueCert(t, env, up.operator.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment,
			ReissueOf: orig.CertificateNo})
		if re.CertificateNo == orig.CertificateNo || re.ReissueOf != orig.CertificateNo || re.Unit == nil ||
			re.Unit.UnitID != demoUnitID || re.LineCount != 2 || re.TotalFen != orig.TotalFen ||
			re.PeriodFrom != "202609" || re.PeriodTo != "202610" {
			t.Fatalf("re-issue %+v of %+v", re, orig)
		}
		newV, oldV := verify(t, env, re.CertificateNo, re.VerifyCode), verify(t, env, orig.CertificateNo, orig.VerifyCode)
		if newV.Result != certs.VerifyValid || newV.ReissueOf != orig.CertificateNo || newV.ReplacedBy != "" || newV.Unit == nil {
			t.Errorf("the re-issue verifies as %+v", newV)
		}
		if oldV.Result != certs.VerifyValid || oldV.ReplacedBy != re.CertificateNo {
			t.Errorf("the original verifies as %+v", oldV)
		}
		items, _, err := env.Svc.ListCertificates(ctx, up.rep.UserID, kernel.Page{Size: 20})
		if err != nil || len(items) != 2 || items[0].CertificateNo != re.CertificateNo || items[0].ReplacedBy != "" ||
			items[1].ReplacedBy != re.CertificateNo {
			t.Fatalf("list %+v (%v)", items, err)
		}
		text := servicetest.PDFText(t, download(t, env, up.rep.UserID, re.CertificateNo))
		for _, want := range []string{"补开", "原证明编号：" + orig.CertificateNo, demoUnitName} {
			if !strings.Contains(text, want) {
				t.Errorf("re-issue PDF lacks %q", want)
			}
		}
		// A re-issue of the re-issue points at the original and replaces
		// both.
		env.Clock.Advance(time.Minute)
		again := issueCert(t, env, up.rep.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment, ReissueOf: re.CertificateNo})
		if again.ReissueOf != orig.CertificateNo {
			t.Errorf("second re-issue refers to %s", again.ReissueOf)
		}
		for _, c := range []certs.Certificate{orig, re} {
			if v := verify(t, env, c.CertificateNo, c.VerifyCode); v.ReplacedBy != again.CertificateNo {
				t.Errorf("%s replaced by %q, want %s", c.CertificateNo, v.ReplacedBy, again.CertificateNo)
			}
		}

		// A refund of a month revokes the unit's certificates listing it.
		revoked, err := env.Svc.RevokeUnitCertificatesListing(ctx, demoUnitID, models.SchemeEnterprisePension, "202610", "单位退费")
		if err != nil || len(revoked) != 3 {
			t.Fatalf("revoked %v (%v)", revoked, err)
		}
		if v := verify(t, env, again.CertificateNo, again.VerifyCode); v.Result != certs.VerifyRevoked {
			t.Errorf("after the refund: %+v", v)
		}
		_, err = env.Svc.IssueCertificate(ctx, up.rep.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment, ReissueOf: again.CertificateNo})
		wantErr(t, "re-issue of a revoked certificate", err, models.ErrCertificateRevoked)
	})
}
