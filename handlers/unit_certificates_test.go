package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/handlers/apitest"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// certUnit is the unit whose 完税证明 the HTTP tests issue, with its
// September 2026 paid, credited and booked. It is not the sandbox's demo
// enterprise: the stranger walker builds that one too, and a code binds
// one unit only.
const (
	certUnitID   = "unit-cert-demo"
	certUnitName = "内蒙古联办证明测试有限公司"
	certUnitUSCC = "91150100MA0LBCE7TX"
)

// withCertUnit writes, row by row, what the unit workflows leave behind:
// the unit with the user of token's subject as its legal representative,
// and two employees' September pension paid by the unit and credited
// (unit part 80000 + 96000 fen, individual part 40000 + 48000).
func withCertUnit(t *testing.T, db *store.DB, subject string) {
	t.Helper()
	var u store.UserRow
	if err := db.Gorm.Where("subject = ?", subject).Take(&u).Error; err != nil || u.PersonID == nil {
		t.Fatalf("user %s: %v", subject, err)
	}
	start := servicetest.Start()
	paid := time.Date(2026, 10, 10, 2, 0, 0, 0, time.UTC)
	credited := paid.Add(24 * time.Hour)
	const orderNo, declID = "LBU0000000000000000077", "ud-cert-77"
	rows := []any{
		&store.UnitRow{ID: certUnitID, USCC: certUnitUSCC, Name: certUnitName, UnitType: string(models.UnitEnterprise),
			RegionCode: "150100", CreatedAt: start},
		&store.UnitMemberRow{ID: "um-cert-77", UnitID: certUnitID, UserID: u.ID, PersonID: *u.PersonID, Role: store.UnitRoleLegalRep,
			ActiveKey: store.UnitMemberActiveKey(certUnitID, *u.PersonID), RepKey: store.UnitMemberRepKey(certUnitID, store.UnitRoleLegalRep),
			AddedBy: u.ID, CreatedAt: start},
		&store.UnitDeclarationRow{ID: declID, UnitID: certUnitID, Period: "202609", AmountFen: 264000, UnitFen: 176000,
			IndividualFen: 88000, Headcount: 2, Status: "paid", OrderNo: orderNo, CreatedBy: u.ID, CreatedAt: start, UpdatedAt: start},
		&store.OrderRow{OrderNo: orderNo, Channel: "bank", AmountFen: 264000, Status: "paid", ExpiresAt: paid, CreatedAt: paid,
			PaidAt: &paid, UpdatedAt: paid, UnitID: certUnitID, UnitDeclarationID: declID, Method: "tripartite"},
	}
	for i, e := range []struct {
		person          string
		base, unit, ind int64
	}{{"pe-cert-1", 500000, 80000, 40000}, {"pe-cert-2", 600000, 96000, 48000}} {
		lineID := declID + "-" + string(rune('a'+i))
		rows = append(rows,
			&store.UnitDeclarationLineRow{ID: lineID, DeclarationID: declID, EmployeeID: "emp-" + e.person, PersonID: e.person,
				Scheme: string(models.SchemeEnterprisePension), RegionCode: "150100", BaseFen: e.base, UnitFen: e.unit,
				IndividualFen: e.ind, AmountFen: e.unit + e.ind},
			&store.RecordRow{ID: "rec-" + lineID, PersonID: e.person, Scheme: string(models.SchemeEnterprisePension), Period: "202609",
				RegionCode: "150100", BaseFen: e.base, AmountFen: e.unit + e.ind, Status: "credited", OrderNo: orderNo, PaidAt: paid,
				CreditedAt: &credited, TaxVoucherNo: "315150100000077001", PayerUnitID: certUnitID, UnitLineID: lineID})
	}
	for _, r := range rows {
		if err := db.Gorm.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
}

type unitCertBody struct {
	certBody
	ReplacedBy string `json:"replaced_by"`
	Unit       *struct {
		UnitID string `json:"unit_id"`
		Name   string `json:"name"`
		USCC   string `json:"uscc"`
	} `json:"unit"`
}

func TestAUnitsCertificateIsIssuedReissuedAndVerifiedOverHTTP(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		r := newCertRig(t, db)
		cl := r.cl
		me := servicetest.Person(t, "张三明")
		tok := r.login(t, "zhang", me.Name, me.IDNumber)
		withCertUnit(t, db, "zhang")

		res := cl.Send("POST", "/api/v1/certificates", tok, map[string]string{"kind": "tax_payment_certificate", "unit_id": certUnitID,
			"scheme": "enterprise_pension", "period_from": "202609", "period_to": "202609"})
		if res.Status != 201 {
			t.Fatalf("issue: %d %s", res.Status, res.Body)
		}
		var orig unitCertBody
		res.Decode(t, &orig)
		if orig.Kind != "tax_payment_certificate" || orig.TotalFen != 264000 || orig.PersonNameMasked != "" || orig.Unit == nil ||
			orig.Unit.UnitID != certUnitID || orig.Unit.Name != certUnitName || orig.Unit.USCC != certUnitUSCC {
			t.Fatalf("unit certificate %s", res.Body)
		}
		if st, b := cl.Do("POST", "/api/v1/certificates", tok, map[string]string{"kind": "contribution_proof", "unit_id": certUnitID}); st != 400 {
			t.Errorf("a unit's proof: %d %s", st, b)
		}
		if st, b := cl.Do("POST", "/api/v1/certificates", tok, map[string]string{"kind": "tax_payment_certificate", "unit_id": certUnitID,
			"period_from": "202610"}); st != 404 || !strings.Contains(string(b), "没有已入库") {
			t.Errorf("nothing credited: %d %s", st, b)
		}

		// 补开: a new number naming the original, which is then shown as
		// replaced.
		r.env.Clock.Advance(time.Minute)
		res = cl.Send("POST", "/api/v1/certificates", tok, map[string]string{"kind": "tax_payment_certificate", "reissue_of": orig.CertificateNo})
		var re unitCertBody
		if res.Status != 201 {
			t.Fatalf("re-issue: %d %s", res.Status, res.Body)
		}
		res.Decode(t, &re)
		if re.ReissueOf != orig.CertificateNo || re.CertificateNo == orig.CertificateNo || re.Unit == nil || re.TotalFen != 264000 {
			t.Fatalf("re-issue %s", res.Body)
		}
		var list struct{ Items []unitCertBody }
		if st := cl.DoJSON("GET", "/api/v1/certificates", tok, nil, &list); st != 200 || len(list.Items) != 2 ||
			list.Items[0].CertificateNo != re.CertificateNo || list.Items[1].ReplacedBy != re.CertificateNo {
			t.Fatalf("list %d %+v", st, list.Items)
		}
		if res := cl.Send("GET", "/api/v1/certificates/"+orig.CertificateNo+"/pdf", tok, nil); res.Status != 200 ||
			!strings.Contains(servicetest.PDFText(t, res.Body), certUnitName) {
			t.Fatalf("download %d", res.Status)
		}

		// Verification names the unit, in full as printed, and no person.
		vc := r.from(t, r.newIP(t))
		var got struct {
			Result           string `json:"result"`
			ReplacedBy       string `json:"replaced_by"`
			PersonNameMasked string `json:"person_name_masked"`
			Unit             struct {
				Name string `json:"name"`
				USCC string `json:"uscc"`
			} `json:"unit"`
			Lines []struct {
				Headcount     int   `json:"headcount"`
				UnitFen       int64 `json:"unit_fen"`
				IndividualFen int64 `json:"individual_fen"`
			} `json:"lines"`
		}
		if st := vc.DoJSON("GET", verifyPath(orig.CertificateNo, orig.VerifyCode), "", nil, &got); st != 200 || got.Result != "valid" ||
			got.ReplacedBy != re.CertificateNo || got.Unit.Name != certUnitName || got.Unit.USCC != certUnitUSCC || got.PersonNameMasked != "" || len(got.Lines) != 1 ||
			got.Lines[0].Headcount != 2 || got.Lines[0].UnitFen != 176000 || got.Lines[0].IndividualFen != 88000 {
			t.Fatalf("verify the original: %d %+v", st, got)
		}
		page := vc.Send("GET", verifyPath(orig.CertificateNo, orig.VerifyCode), "", nil, "Accept", "text/html")
		for _, want := range []string{"缴费单位", certUnitName, certUnitUSCC, "已补开", re.CertificateNo, "企业职工基本养老保险", "1760.00", "880.00"} {
			if !strings.Contains(string(page.Body), want) {
				t.Errorf("verify page lacks %q:\n%s", want, page.Body)
			}
		}
		if strings.Contains(string(page.Body), "缴费人") {
			t.Errorf("verify page names a person:\n%s", page.Body)
		}
		newPage := vc.Send("GET", verifyPath(re.CertificateNo, re.VerifyCode), "", nil, "Accept", "text/html")
		if !strings.Contains(string(newPage.Body), "有效") || strings.Contains(string(newPage.Body), "已补开：") ||
			!strings.Contains(string(newPage.Body), "原证明编号") {
			t.Errorf("the re-issue's page:\n%s", newPage.Body)
		}

		// A stranger learns nothing of the unit or its certificates.
		other := servicetest.Person(t, "孙小梅")
		stok := r.login(t, "sun", other.Name, other.IDNumber)
		for _, c := range strangerUnitCertificateCases(certUnitID, orig.CertificateNo) {
			if res := cl.Send(c.method, c.path, stok, c.body); res.Status != 404 {
				t.Errorf("%s as a stranger: %d %s", c.name, res.Status, res.Body)
			}
		}
		var none struct{ Items []unitCertBody }
		if cl.DoJSON("GET", "/api/v1/certificates", stok, nil, &none); len(none.Items) != 0 {
			t.Errorf("a stranger lists %+v", none.Items)
		}
	})
}

// strangerUnitCertificateCases are the unit certificate requests a
// stranger must be refused (the stranger walker runs them too).
func strangerUnitCertificateCases(unitID, certNo string) []struct {
	name, method, path string
	body               any
} {
	return []struct {
		name, method, path string
		body               any
	}{
		{"issue the owner's unit's 完税证明", "POST", "/api/v1/certificates", map[string]string{"kind": "tax_payment_certificate", "unit_id": unitID}},
		{"re-issue the owner's unit's 完税证明", "POST", "/api/v1/certificates", map[string]string{"kind": "tax_payment_certificate", "reissue_of": certNo}},
		{"download the owner's unit's 完税证明", "GET", "/api/v1/certificates/" + certNo + "/pdf", nil},
	}
}

// unitCertificateOf gives the owner of subject (logged in with tok) the
// demo unit and one of its 完税证明, for the stranger walker.
func unitCertificateOf(t *testing.T, db *store.DB, cl *apitest.Client, subject, tok string) string {
	t.Helper()
	withCertUnit(t, db, subject)
	var c struct {
		CertificateNo string `json:"certificate_no"`
	}
	if st := cl.DoJSON("POST", "/api/v1/certificates", tok, map[string]string{"kind": "tax_payment_certificate", "unit_id": certUnitID}, &c); st != 201 {
		t.Fatalf("issue the unit's certificate: %d", st)
	}
	return c.CertificateNo
}
