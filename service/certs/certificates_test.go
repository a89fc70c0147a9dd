package certs_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/certificate"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/certs"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// certPayer is a verified user who has paid for months of a flexible
// pension: November and December 2026 at the lowest grade (981.40 元 a
// month), paid through the sandbox cashier, records "paid".
type certPayer struct {
	sess    people.Session
	orderNo string
}

// certPay logs a person in, enrols them as a flexible worker and pays
// their months.
func certPay(t *testing.T, env *servicetest.Env, subject, name, idNumber string) certPayer {
	t.Helper()
	ctx := context.Background()
	sess := env.LoginVerified(t, subject, name, idNumber)
	if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: people.PersonRef{Self: true},
		Scheme: models.SchemeFlexiblePension, RegionCode: "150100"}); err != nil {
		t.Fatal(err)
	}
	items, err := env.Svc.QueryPayables(ctx, sess.UserID, people.PersonRef{Self: true})
	if err != nil || len(items) != 1 {
		t.Fatalf("payables %+v %v", items, err)
	}
	return certPayer{sess: sess, orderNo: certPayPayable(t, env, sess, items[0].PayableID, "grade_60")}
}

// certPayPayable declares a payable and pays it through the sandbox.
func certPayPayable(t *testing.T, env *servicetest.Env, sess people.Session, payableID, option string) string {
	t.Helper()
	ctx := context.Background()
	d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: payableID, OptionCode: option})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
		t.Fatal(err)
	}
	return p.OrderNo
}

// zhang is the demo journey's 张三明 with his months paid.
func zhang(t *testing.T, env *servicetest.Env) certPayer {
	p := servicetest.Person(t, "张三明")
	return certPay(t, env, "zhang", p.Name, p.IDNumber)
}

// credit and book run the sandbox treasury and agency: money is credited
// (入库) 2 s after payment and booked (记账) 4 s after.
func credit(env *servicetest.Env) {
	env.Clock.Advance(3 * time.Second)
	env.Svc.WorkOnce(context.Background())
}

func book(env *servicetest.Env) {
	env.Clock.Advance(2 * time.Second)
	env.Svc.WorkOnce(context.Background())
}

func issueCert(t *testing.T, env *servicetest.Env, userID string, in certs.IssueCertificateInput) certs.Certificate {
	t.Helper()
	c, err := env.Svc.IssueCertificate(context.Background(), userID, in)
	if err != nil {
		t.Fatalf("issue %+v: %v", in, err)
	}
	return c
}

func voucherOf(orderNo string) certs.IssueCertificateInput {
	return certs.IssueCertificateInput{Kind: models.CertPaymentVoucher, OrderNo: orderNo}
}

func rangeOf(kind models.CertificateKind, from, to string) certs.IssueCertificateInput {
	return certs.IssueCertificateInput{Kind: kind, Person: people.PersonRef{Self: true}, Scheme: models.SchemeFlexiblePension,
		PeriodFrom: from, PeriodTo: to}
}

func verify(t *testing.T, env *servicetest.Env, no, code string) certs.CertificateVerification {
	t.Helper()
	v, err := env.Svc.VerifyCertificate(context.Background(), no, code)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func download(t *testing.T, env *servicetest.Env, userID, no string) []byte {
	t.Helper()
	pdf, name, err := env.Svc.DownloadCertificate(context.Background(), userID, no)
	if err != nil {
		t.Fatalf("download %s: %v", no, err)
	}
	if name != no || !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[len(pdf)-32:], []byte("%%EOF")) {
		t.Fatalf("download %s: %q, %d bytes, not a whole PDF", no, name, len(pdf))
	}
	return pdf
}

func TestEveryKindOfCertificateIsIssuedAtItsStage(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)

		// The voucher: at once, while the money is merely paid.
		v := issueCert(t, env, z.sess.UserID, voucherOf(z.orderNo))
		if v.Kind != models.CertPaymentVoucher || v.Status != certs.CertificateValid || v.LineCount != 2 ||
			v.TotalFen != 2*98140 || v.PersonNameMasked != "张*明" || v.PersonIDNumberMasked != "150102********1237" ||
			v.PayerMasked != "张*明" || v.PeriodFrom != "202611" || v.PeriodTo != "202612" || v.OrderNo != z.orderNo ||
			v.Authority != models.AuthoritySocialInsurance || !models.ValidCertificateNo(v.CertificateNo) ||
			!strings.HasPrefix(v.CertificateNo, "LBV20261120") || !v.IssuedAt.Equal(servicetest.Start()) {
			t.Fatalf("voucher %+v", v)
		}
		if !strings.HasSuffix(v.PDFURL, "/api/v1/certificates/"+v.CertificateNo+"/pdf") ||
			!strings.Contains(v.VerifyURL, "/api/v1/certificates/verify?no="+v.CertificateNo+"&code="+v.VerifyCode) {
			t.Errorf("urls %q %q", v.PDFURL, v.VerifyURL)
		}

		// The tax certificate: refused while the months are only paid,
		// saying which month and when to come back.
		_, err := env.Svc.IssueCertificate(ctx, z.sess.UserID, rangeOf(models.CertTaxPayment, "202611", "202612"))
		wantErr(t, "tax certificate before 入库", err, models.ErrCertificateNotCredited)
		e, _ := models.AsError(err)
		for _, want := range []string{"2026年11月", "尚未入库", "预计2026年11月27日前"} {
			if !strings.Contains(e.Reason, want) {
				t.Errorf("reason %q lacks %q", e.Reason, want)
			}
		}
		if n := servicetest.Count(t, db, "certificates", "kind = ?", "tax_payment_certificate"); n != 0 {
			t.Fatalf("%d tax certificates stored before 入库", n)
		}

		credit(env)
		tax := issueCert(t, env, z.sess.UserID, rangeOf(models.CertTaxPayment, "202611", "202612"))
		if tax.LineCount != 2 || tax.TotalFen != 196280 || tax.Authority != models.AuthorityTax {
			t.Fatalf("tax certificate %+v", tax)
		}
		// A proof asked for the whole year lists the months there are.
		proof := issueCert(t, env, z.sess.UserID, rangeOf(models.CertContributionProof, "202601", "202612"))
		if proof.LineCount != 2 || proof.PeriodFrom != "202601" || proof.PeriodTo != "202612" || proof.PayerMasked != "" {
			t.Fatalf("proof %+v", proof)
		}
		book(env)
		booked := issueCert(t, env, z.sess.UserID, rangeOf(models.CertContributionProof, "202611", "202612"))

		for _, tc := range []struct {
			c      certs.Certificate
			status string
		}{{v, "paid"}, {tax, "credited"}, {proof, "credited"}, {booked, "booked"}} {
			got := verify(t, env, tc.c.CertificateNo, tc.c.VerifyCode)
			if got.Result != certs.VerifyValid || got.CertificateNo != tc.c.CertificateNo || got.Kind != tc.c.Kind ||
				*got.TotalFen != tc.c.TotalFen || got.LineCount != tc.c.LineCount || len(got.Lines) != tc.c.LineCount ||
				got.PersonNameMasked != "张*明" || got.PersonIDNumberMasked != "150102********1237" ||
				got.Lines[0].Status != tc.status || got.Lines[0].Period != "202611" || got.Lines[1].AmountFen != 98140 {
				t.Errorf("verify %s: %+v", tc.c.CertificateNo, got)
			}
		}

		// Newest first: the proof of booked months, then the two issued
		// together (by number), then the voucher.
		items, next, err := env.Svc.ListCertificates(ctx, z.sess.UserID, kernel.Page{Size: 20})
		if err != nil || next != "" || len(items) != 4 {
			t.Fatalf("list: %d items, next %q, %v", len(items), next, err)
		}
		first, second := tax.CertificateNo, proof.CertificateNo
		if first < second {
			first, second = second, first
		}
		for i, want := range []string{booked.CertificateNo, first, second, v.CertificateNo} {
			if items[i].CertificateNo != want || items[i].VerifyCode == "" {
				t.Errorf("item %d: %s, want %s", i, items[i].CertificateNo, want)
			}
		}
	})
}

// TestThePrintedCodeVerifies reads the voucher the way its holder does:
// the PDF's text has the number and the code, and that code verifies.
func TestThePrintedCodeVerifies(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		v := issueCert(t, env, z.sess.UserID, voucherOf(z.orderNo))
		text := servicetest.PDFText(t, download(t, env, z.sess.UserID, v.CertificateNo))
		for _, want := range []string{"缴费凭证", "凭证编号：" + v.CertificateNo, "姓名：张*明", "缴费人：张*明",
			"150102********1237", "1962.80", "订单号：" + z.orderNo} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%s", want, text)
			}
		}
		m := regexp.MustCompile(`验证码：([0-9A-Z]{8})`).FindStringSubmatch(text)
		if m == nil || m[1] != v.VerifyCode {
			t.Fatalf("printed code %v, issued %s", m, v.VerifyCode)
		}
		if got := verify(t, env, v.CertificateNo, m[1]); got.Result != certs.VerifyValid {
			t.Fatalf("the printed code does not verify: %+v", got)
		}
		if strings.Contains(text, "张三明") || strings.Contains(text, servicetest.Person(t, "张三明").IDNumber) {
			t.Error("the PDF prints unmasked personal data")
		}
	})
}

func TestOnlyThePersonTheirGranteesAndThePayerGetCertificates(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		v := issueCert(t, env, z.sess.UserID, voucherOf(z.orderNo))

		// 张三明 pays his mother's resident medical insurance (代缴): he
		// gets the voucher of what he paid, not her contribution proof.
		mother := servicetest.Person(t, "李秀英")
		m, err := env.Svc.AddFamilyMember(ctx, z.sess.UserID, people.FamilyInput{Name: mother.Name, IDNumber: mother.IDNumber, Relation: "parent"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.CreateEnrolment(ctx, z.sess.UserID, contrib.EnrolInput{Person: people.PersonRef{MemberID: m.MemberID},
			Scheme: models.SchemeResidentMedical, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		mp, err := env.Svc.QueryPayables(ctx, z.sess.UserID, people.PersonRef{MemberID: m.MemberID})
		if err != nil {
			t.Fatal(err)
		}
		motherOrder := certPayPayable(t, env, z.sess, mp[0].PayableID, mp[0].Options[0].Code)
		mv := issueCert(t, env, z.sess.UserID, voucherOf(motherOrder))
		if mv.PersonNameMasked != "李*英" || mv.PayerMasked != "张*明" || mv.TotalFen != 40000 ||
			mv.PeriodFrom != "202701" || mv.PeriodTo != "202712" || mv.Authority != models.AuthorityMedicalInsurance {
			t.Fatalf("mother's voucher %+v", mv)
		}
		_, err = env.Svc.IssueCertificate(ctx, z.sess.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof,
			Person: people.PersonRef{MemberID: m.MemberID}, Scheme: models.SchemeResidentMedical, PeriodFrom: "202701", PeriodTo: "202712"})
		wantErr(t, "proof for a member one may only pay for", err, models.ErrForbidden)

		// A stranger learns nothing.
		li := env.LoginVerified(t, "li", "李四海", models.MakeIDNumber("150203", time.Date(1988, 6, 1, 0, 0, 0, 0, time.UTC), 555))
		_, err = env.Svc.IssueCertificate(ctx, li.UserID, voucherOf(z.orderNo))
		wantErr(t, "stranger's voucher", err, models.ErrNotFound)
		_, err = env.Svc.IssueCertificate(ctx, li.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof,
			Person: people.PersonRef{MemberID: m.MemberID}, Scheme: models.SchemeResidentMedical, PeriodFrom: "202701", PeriodTo: "202712"})
		wantErr(t, "stranger naming another user's member", err, models.ErrNotFound)
		_, err = env.Svc.IssueCertificate(ctx, li.UserID, certs.IssueCertificateInput{Kind: models.CertPaymentVoucher, ReissueOf: v.CertificateNo})
		wantErr(t, "stranger's re-issue", err, models.ErrNotFound)
		_, _, err = env.Svc.DownloadCertificate(ctx, li.UserID, v.CertificateNo)
		wantErr(t, "stranger's download", err, models.ErrNotFound)
		if items, _, err := env.Svc.ListCertificates(ctx, li.UserID, kernel.Page{Size: 20}); err != nil || len(items) != 0 {
			t.Fatalf("stranger's list: %+v %v", items, err)
		}

		// With a grant, 李四海 sees 张三明's certificates and may issue
		// his proofs and vouchers.
		g, err := env.Svc.GrantRecordsAccess(ctx, z.sess.UserID, people.GrantInput{GranteeUserID: li.UserID})
		if err != nil {
			t.Fatal(err)
		}
		download(t, env, li.UserID, v.CertificateNo)
		zm, err := env.Svc.AddFamilyMember(ctx, li.UserID, people.FamilyInput{Name: "张三明", IDNumber: servicetest.Person(t, "张三明").IDNumber, Relation: "other"})
		if err != nil {
			t.Fatal(err)
		}
		granted := issueCert(t, env, li.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof,
			Person: people.PersonRef{MemberID: zm.MemberID}, Scheme: models.SchemeFlexiblePension, PeriodFrom: "202611", PeriodTo: "202612"})
		if granted.PersonNameMasked != "张*明" {
			t.Fatalf("grantee's proof %+v", granted)
		}
		issueCert(t, env, li.UserID, voucherOf(z.orderNo))
		items, _, err := env.Svc.ListCertificates(ctx, li.UserID, kernel.Page{Size: 20})
		// 张三明's two vouchers and the proof; not his mother's voucher,
		// which is hers, not his.
		if err != nil || len(items) != 3 {
			t.Fatalf("grantee's list: %d %v", len(items), err)
		}
		for _, it := range items {
			if it.CertificateNo == mv.CertificateNo {
				t.Fatal("the grantee sees the mother's voucher")
			}
		}

		// Once the grant ends, only what 李四海 issued himself remains his.
		if err := env.Svc.RevokeGrant(ctx, z.sess.UserID, g.GrantID); err != nil {
			t.Fatal(err)
		}
		_, _, err = env.Svc.DownloadCertificate(ctx, li.UserID, v.CertificateNo)
		wantErr(t, "download after the grant ended", err, models.ErrNotFound)
		download(t, env, li.UserID, granted.CertificateNo)
		if items, _, _ = env.Svc.ListCertificates(ctx, li.UserID, kernel.Page{Size: 20}); len(items) != 2 {
			t.Fatalf("after the grant ended the grantee lists %d", len(items))
		}
		// 张三明 sees his own, including what 李四海 issued for him.
		if items, _, _ = env.Svc.ListCertificates(ctx, z.sess.UserID, kernel.Page{Size: 20}); len(items) != 4 {
			t.Fatalf("张三明 lists %d", len(items))
		}
	})
}

func TestAReissueReferencesTheOriginalAndBothVerify(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		credit(env)
		orig := issueCert(t, env, z.sess.UserID, rangeOf(models.CertContributionProof, "202611", "202612"))
		book(env)

		re := issueCert(t, env, z.sess.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof,
			ReissueOf: strings.ToLower(orig.CertificateNo)})
		if re.CertificateNo == orig.CertificateNo || re.ReissueOf != orig.CertificateNo || re.PeriodFrom != "202611" ||
			re.PeriodTo != "202612" || re.LineCount != 2 {
			t.Fatalf("re-issue %+v of %s", re, orig.CertificateNo)
		}
		for _, c := range []certs.Certificate{orig, re} {
			if got := verify(t, env, c.CertificateNo, c.VerifyCode); got.Result != certs.VerifyValid || got.ReissueOf != c.ReissueOf {
				t.Errorf("verify %s: %+v", c.CertificateNo, got)
			}
		}
		// The re-issue states the months as they stand now.
		if got := verify(t, env, re.CertificateNo, re.VerifyCode); got.Lines[0].Status != "booked" {
			t.Errorf("re-issue lines %+v", got.Lines)
		}
		text := servicetest.PDFText(t, download(t, env, z.sess.UserID, re.CertificateNo))
		for _, want := range []string{"补开", "原证明编号：" + orig.CertificateNo, re.CertificateNo} {
			if !strings.Contains(text, want) {
				t.Errorf("re-issue PDF lacks %q", want)
			}
		}
		// A re-issue of a re-issue still points at the original.
		again := issueCert(t, env, z.sess.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof, ReissueOf: re.CertificateNo})
		if again.ReissueOf != orig.CertificateNo {
			t.Errorf("second re-issue refers to %s", again.ReissueOf)
		}
		_, err := env.Svc.IssueCertificate(ctx, z.sess.UserID, certs.IssueCertificateInput{Kind: models.CertTaxPayment, ReissueOf: orig.CertificateNo})
		wantErr(t, "re-issue as another kind", err, models.ErrInvalid)
		if err := env.Svc.RevokeCertificate(ctx, orig.CertificateNo, "测试作废"); err != nil {
			t.Fatal(err)
		}
		_, err = env.Svc.IssueCertificate(ctx, z.sess.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof, ReissueOf: orig.CertificateNo})
		wantErr(t, "re-issue of a revoked certificate", err, models.ErrCertificateRevoked)
		if got := verify(t, env, re.CertificateNo, re.VerifyCode); got.Result != certs.VerifyValid {
			t.Errorf("revoking the original revoked the re-issue: %+v", got)
		}
	})
}

func TestVerificationTellsOnlyTheHolderOfTheCode(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		v := issueCert(t, env, z.sess.UserID, voucherOf(z.orderNo))
		no, code := v.CertificateNo, v.VerifyCode

		typed := strings.ToLower(code[:4]) + "-" + code[4:]
		if got := verify(t, env, " "+strings.ToLower(no), typed); got.Result != certs.VerifyValid {
			t.Fatalf("typed code %q: %+v", typed, got)
		}
		unknown := certs.CertificateVerification{Result: certs.VerifyUnknown}
		tampered := no[:len(no)-1] + string('0'+(no[len(no)-1]-'0'+1)%10) // the last digit, plus one
		wrong := []byte(code)
		if wrong[0] == 'A' {
			wrong[0] = 'B'
		} else {
			wrong[0] = 'A'
		}
		for name, nc := range map[string][2]string{
			"wrong code":        {no, string(wrong)},
			"tampered number":   {tampered, code},
			"never issued":      {models.NewCertificateNo(models.CertPaymentVoucher, env.Clock.Now()), code},
			"malformed number":  {"LBV2026", code},
			"code of another":   {no, "00000000"},
			"overlong code":     {no, strings.Repeat(code, 10)},
			"proof number form": {"LBP" + no[3:], code},
		} {
			if got := verify(t, env, nc[0], nc[1]); !reflect.DeepEqual(got, unknown) {
				t.Errorf("%s: %+v, want exactly %+v", name, got, unknown)
			}
		}

		// Rows written behind our back fail the signature check.
		var row store.CertificateRow
		if err := db.Gorm.Where("certificate_no = ?", no).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		forge := func(name string, mutate func(r *store.CertificateRow) string) {
			r := row
			r.CertificateNo = models.NewCertificateNo(models.CertPaymentVoucher, env.Clock.Now())
			code := mutate(&r)
			if err := db.Gorm.Create(&r).Error; err != nil {
				t.Fatal(err)
			}
			if got := verify(t, env, r.CertificateNo, code); !reflect.DeepEqual(got, unknown) {
				t.Errorf("%s: %+v", name, got)
			}
		}
		forge("a genuine certificate under another number", func(r *store.CertificateRow) string { return code })
		forge("a raised total with the old signature", func(r *store.CertificateRow) string {
			c, _ := models.ParseCanonical(r.Canonical)
			c.No, c.TotalFen, c.Lines[0].AmountFen = r.CertificateNo, c.TotalFen+100000, c.Lines[0].AmountFen+100000
			r.Canonical = c.Canonical()
			return c.VerifyCode
		})
		forge("a certificate signed with another key", func(r *store.CertificateRow) string {
			c, _ := models.ParseCanonical(r.Canonical)
			c.No, c.VerifyCode = r.CertificateNo, "ABCDEFGH"
			signer, _ := certificate.NewEd25519Signer(bytes.Repeat([]byte{7}, ed25519.SeedSize), "test-key")
			r.Canonical = c.Canonical()
			r.Signature, _ = signer.Sign(r.Canonical)
			return c.VerifyCode
		})
		if got := verify(t, env, no, code); got.Result != certs.VerifyValid {
			t.Fatalf("the genuine certificate after the forgeries: %+v", got)
		}

		// Revoked: the holder of the code is told so, with the summary;
		// the download is marked 已作废.
		env.Clock.Advance(time.Hour)
		if err := env.Svc.RevokeCertificate(ctx, no, "费款已退还"); err != nil {
			t.Fatal(err)
		}
		got := verify(t, env, no, code)
		if got.Result != certs.VerifyRevoked || got.RevokedAt == nil || !got.RevokedAt.Equal(servicetest.Start().Add(time.Hour)) ||
			got.CertificateNo != no || *got.TotalFen != v.TotalFen {
			t.Fatalf("revoked: %+v", got)
		}
		if got := verify(t, env, no, string(wrong)); !reflect.DeepEqual(got, unknown) {
			t.Errorf("revoked with a wrong code: %+v", got)
		}
		env.Clock.Advance(time.Hour)
		if err := env.Svc.RevokeCertificate(ctx, no, "again"); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if got := verify(t, env, no, code); !got.RevokedAt.Equal(servicetest.Start().Add(time.Hour)) {
			t.Errorf("a second revocation moved revoked_at to %v", got.RevokedAt)
		}
		wantErr(t, "revoking an unknown number", env.Svc.RevokeCertificate(ctx, tampered, "x"), models.ErrNotFound)
		wantErr(t, "revoking without a reason", env.Svc.RevokeCertificate(ctx, no, " "), models.ErrInvalid)
		// The list shows the genuine certificate only, not the forgeries.
		items, _, _ := env.Svc.ListCertificates(ctx, z.sess.UserID, kernel.Page{Size: 20})
		if len(items) != 1 || items[0].CertificateNo != no || items[0].Status != certs.CertificateRevoked || items[0].RevokedAt == nil {
			t.Errorf("list after revocation %+v", items)
		}
		if text := servicetest.PDFText(t, download(t, env, z.sess.UserID, no)); !strings.Contains(text, "已作废") || !strings.Contains(text, no) {
			t.Errorf("revoked PDF:\n%s", text)
		}
	})
}

func TestTheDatabaseRefusesToChangeOrDeleteACertificate(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		v := issueCert(t, env, z.sess.UserID, voucherOf(z.orderNo))
		for _, stmt := range []string{
			"UPDATE certificates SET total_fen = total_fen + 1 WHERE certificate_no = ?",
			"UPDATE certificates SET canonical = signature WHERE certificate_no = ?",
			"UPDATE certificates SET pdf = canonical WHERE certificate_no = ?",
			"UPDATE certificates SET person_id = 'p_other' WHERE certificate_no = ?",
			"DELETE FROM certificates WHERE certificate_no = ?",
		} {
			if err := db.Gorm.Exec(stmt, v.CertificateNo).Error; err == nil {
				t.Errorf("%s: accepted", stmt)
			}
		}
		if got := verify(t, env, v.CertificateNo, v.VerifyCode); got.Result != certs.VerifyValid || *got.TotalFen != v.TotalFen {
			t.Fatalf("after the refused changes: %+v", got)
		}
		if err := env.Svc.RevokeCertificate(ctx, v.CertificateNo, "测试"); err != nil {
			t.Fatal(err)
		}
		// Revocation is final.
		for _, stmt := range []string{
			"UPDATE certificates SET revoked_at = NULL WHERE certificate_no = ?",
			"UPDATE certificates SET revoke_reason = 'other' WHERE certificate_no = ?",
		} {
			if err := db.Gorm.Exec(stmt, v.CertificateNo).Error; err == nil {
				t.Errorf("%s: accepted on a revoked certificate", stmt)
			}
		}
		if got := verify(t, env, v.CertificateNo, v.VerifyCode); got.Result != certs.VerifyRevoked {
			t.Fatalf("after un-revoking was refused: %+v", got)
		}
	})
}

func TestNamesArePrintedOrRefusedBeforeAnythingIsStored(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		born := time.Date(1990, 4, 2, 0, 0, 0, 0, time.UTC)

		// 𬌗 (U+2C317) is rare but in the font: printed, masked as 李*𬌗.
		rare := certPay(t, env, "rare", "李明𬌗", models.MakeIDNumber("150102", born, 611))
		v := issueCert(t, env, rare.sess.UserID, voucherOf(rare.orderNo))
		if v.PersonNameMasked != "李*𬌗" {
			t.Fatalf("masked name %q", v.PersonNameMasked)
		}
		if text := servicetest.PDFText(t, download(t, env, rare.sess.UserID, v.CertificateNo)); !strings.Contains(text, "姓名：李*𬌗") {
			t.Errorf("PDF text lacks the rare name:\n%s", text)
		}

		// 𱍐 (U+31350, CJK Extension H) is not: refused, nothing stored.
		lacking := certPay(t, env, "lacking", "王小𱍐", models.MakeIDNumber("150102", born, 613))
		before := servicetest.Count(t, db, "certificates", "1 = 1")
		_, err := env.Svc.IssueCertificate(ctx, lacking.sess.UserID, voucherOf(lacking.orderNo))
		wantErr(t, "a name the font lacks", err, models.ErrCertificateGlyphMissing)
		if e, _ := models.AsError(err); e.Kind != models.KindUnprocessable || !strings.Contains(e.Reason, "𱍐") {
			t.Errorf("error %+v", e)
		}
		if n := servicetest.Count(t, db, "certificates", "1 = 1"); n != before {
			t.Errorf("%d certificates stored for an unprintable name", n-before)
		}
	})
}

func TestProofsListWhatThereIsAndRefuseWhatThereIsNot(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		for name, tc := range map[string]struct {
			in   certs.IssueCertificateInput
			want error
		}{
			"no months in the range":      {rangeOf(models.CertContributionProof, "202501", "202512"), models.ErrNotFound},
			"range backwards":             {rangeOf(models.CertContributionProof, "202612", "202611"), models.ErrInvalid},
			"a bad month":                 {rangeOf(models.CertContributionProof, "202613", "202613"), models.ErrInvalid},
			"more than thirty years":      {rangeOf(models.CertContributionProof, "199001", "202612"), models.ErrInvalid},
			"no scheme":                   {certs.IssueCertificateInput{Kind: models.CertContributionProof, PeriodFrom: "202611", PeriodTo: "202612"}, models.ErrSchemeInvalid},
			"unknown kind":                {certs.IssueCertificateInput{Kind: "receipt"}, models.ErrInvalid},
			"voucher without an order":    {certs.IssueCertificateInput{Kind: models.CertPaymentVoucher}, models.ErrInvalid},
			"voucher of an unknown order": {voucherOf("LB000"), models.ErrNotFound},
			"inline person":               {certs.IssueCertificateInput{Kind: models.CertContributionProof, Person: people.PersonRef{Name: "张三明", IDNumber: "x"}, Scheme: models.SchemeFlexiblePension, PeriodFrom: "202611", PeriodTo: "202612"}, models.ErrInvalid},
			"re-issue of nothing":         {certs.IssueCertificateInput{Kind: models.CertContributionProof, ReissueOf: "LBP20261120000000000000"}, models.ErrNotFound},
		} {
			if _, err := env.Svc.IssueCertificate(ctx, z.sess.UserID, tc.in); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
			}
		}

		// An order still at the cashier has no voucher yet.
		if err := db.Gorm.Exec("INSERT INTO orders (order_no, declaration_id, person_id, payer_user_id, channel, scheme, amount_fen, status, expires_at, created_at, updated_at) "+
			"SELECT 'LB_UNPAID_1', declaration_id, person_id, payer_user_id, channel, scheme, amount_fen, 'paying', expires_at, created_at, updated_at FROM orders WHERE order_no = ?", z.orderNo).Error; err != nil {
			t.Fatal(err)
		}
		_, err := env.Svc.IssueCertificate(ctx, z.sess.UserID, voucherOf("LB_UNPAID_1"))
		wantErr(t, "voucher of an unpaid order", err, models.ErrCertificateOrderNotPaid)

		// The thirty-first certificate in an hour is refused (the real
		// limiter, primed to its limit).
		if err := env.Redis.Client.Set(ctx, "lb:rl:cert:"+z.sess.UserID, 30, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		_, err = env.Svc.IssueCertificate(ctx, z.sess.UserID, voucherOf(z.orderNo))
		wantErr(t, "the 31st certificate in an hour", err, models.ErrRateLimited)
	})
}

func TestTwentySimultaneousIssuesMakeTwentyIntactCertificates(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		var mu sync.Mutex
		issued := map[string]certs.Certificate{}
		errs := servicetest.Parallel(20, func(int) error {
			c, err := env.Svc.IssueCertificate(ctx, z.sess.UserID, voucherOf(z.orderNo))
			if err == nil {
				mu.Lock()
				issued[c.CertificateNo] = c
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(issued) != 20 {
			t.Fatalf("%d distinct numbers", len(issued))
		}
		if n := servicetest.Count(t, db, "certificates", "order_no = ?", z.orderNo); n != 20 {
			t.Fatalf("%d rows", n)
		}
		// All were issued in the same second: the keyset pages by number
		// then, and a walk in pages of 7 sees each exactly once.
		seen := map[string]bool{}
		var prev string
		page := kernel.Page{Size: 7}
		for pages := 0; ; pages++ {
			items, next, err := env.Svc.ListCertificates(ctx, z.sess.UserID, page)
			if err != nil || pages > 3 {
				t.Fatalf("page %d: %v", pages, err)
			}
			for _, it := range items {
				if seen[it.CertificateNo] || (prev != "" && it.CertificateNo >= prev) {
					t.Fatalf("page %d: %s out of order or twice", pages, it.CertificateNo)
				}
				seen[it.CertificateNo], prev = true, it.CertificateNo
			}
			if next == "" {
				break
			}
			page.After = next
		}
		if len(seen) != 20 {
			t.Fatalf("the pages held %d certificates", len(seen))
		}
		for no, c := range issued {
			if got := verify(t, env, no, c.VerifyCode); got.Result != certs.VerifyValid || *got.TotalFen != 196280 {
				t.Fatalf("%s: %+v", no, got)
			}
			download(t, env, z.sess.UserID, no)
		}
		_, _, err := env.Svc.ListCertificates(ctx, z.sess.UserID, kernel.Page{Size: 7, After: "garbage"})
		wantErr(t, "a bad page token", err, models.ErrInvalid)
	})
}

func TestRefundedMonthsRevokeTheCertificatesListingThem(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		credit(env)
		voucher := issueCert(t, env, z.sess.UserID, voucherOf(z.orderNo))
		both := issueCert(t, env, z.sess.UserID, rangeOf(models.CertContributionProof, "202611", "202612"))
		tax := issueCert(t, env, z.sess.UserID, rangeOf(models.CertTaxPayment, "202612", "202612"))
		november := issueCert(t, env, z.sess.UserID, rangeOf(models.CertContributionProof, "202611", "202611"))
		var personID string
		if err := db.Gorm.Table("certificates").Where("certificate_no = ?", voucher.CertificateNo).Pluck("person_id", &personID).Error; err != nil {
			t.Fatal(err)
		}
		revoked, err := env.Svc.RevokeCertificatesListing(ctx, personID, models.SchemeFlexiblePension, "202612", "2026年12月费款已退还")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{voucher.CertificateNo: true, both.CertificateNo: true, tax.CertificateNo: true}
		if len(revoked) != 3 {
			t.Fatalf("revoked %v", revoked)
		}
		for _, no := range revoked {
			if !want[no] {
				t.Errorf("revoked %s", no)
			}
		}
		if got := verify(t, env, november.CertificateNo, november.VerifyCode); got.Result != certs.VerifyValid {
			t.Errorf("the November proof: %+v", got)
		}
		if got := verify(t, env, tax.CertificateNo, tax.VerifyCode); got.Result != certs.VerifyRevoked {
			t.Errorf("the December tax certificate: %+v", got)
		}
	})
}

// A voucher for one's own payment reads the order and its records and
// stores the certificate: the caller, as payer and as person, comes from
// the session (make perf issues such vouchers by the hundred a second).
func TestAVoucherForOnesOwnPaymentIsThreeStatements(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		z := zhang(t, env)
		ctx := servicetest.RequestContext(context.Background(), z.sess)
		meter := servicetest.MeterCost(t, env)
		var err error
		cost := meter.Measure(func() {
			_, err = env.Svc.IssueCertificate(ctx, z.sess.UserID, voucherOf(z.orderNo))
		})
		if err != nil {
			t.Fatal(err)
		}
		if cost.Statements != 3 || cost.Writes != 1 {
			t.Errorf("voucher: %s, want 3 statements, 1 write:\n%s", cost, strings.Join(cost.SQL, "\n"))
		}
	})
}
