package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

var unitNow = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// mustCreate inserts row and fails the test on any error.
func mustCreate(t *testing.T, db *store.DB, row any) {
	t.Helper()
	if err := db.Gorm.Create(row).Error; err != nil {
		t.Fatalf("insert %T: %v", row, err)
	}
}

// mustBeDuplicate inserts row and wants a unique-key violation.
func mustBeDuplicate(t *testing.T, db *store.DB, what string, row any) {
	t.Helper()
	err := db.Gorm.Create(row).Error
	if err == nil {
		t.Fatalf("%s: accepted", what)
	}
	if !store.IsDuplicate(err) {
		t.Fatalf("%s: not a duplicate: %v", what, err)
	}
}

func TestUnitKeysAreUniqueOnEveryDialect(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustCreate(t, db, &store.UnitRow{ID: "u1", USCC: "91150100MA0LB00013", Name: "内蒙古联办示范科技有限公司",
			UnitType: "enterprise", RegionCode: "150100", CreatedAt: unitNow})
		mustBeDuplicate(t, db, "second unit with the same USCC", &store.UnitRow{ID: "u2", USCC: "91150100MA0LB00013",
			Name: "x", UnitType: "enterprise", RegionCode: "150100", CreatedAt: unitNow})

		rep := store.UnitMemberRow{ID: "m1", UnitID: "u1", UserID: "us1", PersonID: "p1", Role: store.UnitRoleLegalRep,
			ActiveKey: store.UnitMemberActiveKey("u1", "p1"), RepKey: store.UnitMemberRepKey("u1", store.UnitRoleLegalRep),
			AddedBy: "us1", CreatedAt: unitNow}
		mustCreate(t, db, &rep)
		mustBeDuplicate(t, db, "second legal representative", &store.UnitMemberRow{ID: "m2", UnitID: "u1", PersonID: "p2",
			Role: store.UnitRoleLegalRep, ActiveKey: store.UnitMemberActiveKey("u1", "p2"),
			RepKey: store.UnitMemberRepKey("u1", store.UnitRoleLegalRep), AddedBy: "us2", CreatedAt: unitNow})
		op := store.UnitMemberRow{ID: "m3", UnitID: "u1", PersonID: "p3", Role: store.UnitRoleOperator,
			ActiveKey: store.UnitMemberActiveKey("u1", "p3"), RepKey: store.UnitMemberRepKey("u1", store.UnitRoleOperator),
			AddedBy: "us1", CreatedAt: unitNow}
		mustCreate(t, db, &op)
		again := op
		again.ID = "m4"
		mustBeDuplicate(t, db, "second active membership of one person", &again)
		// Removed memberships clear their key, so the person can be
		// authorised again and the history stays.
		if err := db.Gorm.Model(&store.UnitMemberRow{}).Where("id = ?", "m3").
			Updates(map[string]any{"active_key": nil, "removed_at": unitNow, "removed_by": "us1"}).Error; err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, &again)

		mustCreate(t, db, &store.UnitRegistrationRow{ID: "g1", UnitID: "u1", Scheme: "enterprise_pension",
			RegionCode: "150100", ReceiptNo: "R1", RegisteredBy: "us1", RegisteredAt: unitNow})
		mustBeDuplicate(t, db, "second registration in one scheme", &store.UnitRegistrationRow{ID: "g2", UnitID: "u1",
			Scheme: "enterprise_pension", RegionCode: "150100", ReceiptNo: "R2", RegisteredBy: "us1", RegisteredAt: unitNow})
		mustBeDuplicate(t, db, "reused receipt number", &store.UnitRegistrationRow{ID: "g3", UnitID: "u1",
			Scheme: "enterprise_medical", RegionCode: "150100", ReceiptNo: "R1", RegisteredBy: "us1", RegisteredAt: unitNow})

		emp := store.UnitEmployeeRow{ID: "e1", UnitID: "u1", Scheme: "enterprise_pension", PersonID: "p9",
			WageFen: 600000, FromPeriod: "202601", OpenKey: store.UnitEmployeeOpenKey("p9", "enterprise_pension"),
			CreatedBy: "us1", CreatedAt: unitNow}
		mustCreate(t, db, &emp)
		other := emp
		other.ID, other.UnitID, other.FromPeriod = "e2", "u-other", "202603"
		mustBeDuplicate(t, db, "open spell in a second unit, same scheme", &other)
		// Another scheme is another spell.
		med := emp
		med.ID, med.Scheme, med.OpenKey = "e3", "enterprise_medical", store.UnitEmployeeOpenKey("p9", "enterprise_medical")
		mustCreate(t, db, &med)
		// 减员 ends the spell; then another unit may take the person on.
		if err := db.Gorm.Model(&store.UnitEmployeeRow{}).Where("id = ?", "e1").
			Updates(map[string]any{"to_period": "202602", "open_key": nil, "removed_at": unitNow, "removed_by": "us1"}).Error; err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, &other)

		decl := store.UnitDeclarationRow{ID: "d1", UnitID: "u1", Period: "202601", AmountFen: 240000, UnitFen: 192000,
			IndividualFen: 48000, Headcount: 1, Status: "confirmed", CreatedBy: "us1", CreatedAt: unitNow, UpdatedAt: unitNow}
		mustCreate(t, db, &decl)
		twice := decl
		twice.ID = "d2"
		mustBeDuplicate(t, db, "second declaration of one unit and period", &twice)
		corr := decl
		corr.ID, corr.Seq, corr.CorrectsID = "d3", 1, "d1"
		mustCreate(t, db, &corr)
		race := corr
		race.ID = "d4"
		mustBeDuplicate(t, db, "two corrections with one number", &race)

		line := store.UnitDeclarationLineRow{ID: "l1", DeclarationID: "d1", EmployeeID: "e1", PersonID: "p9",
			Scheme: "enterprise_pension", RegionCode: "150100", BaseFen: 600000, UnitFen: 96000, IndividualFen: 48000, AmountFen: 144000}
		mustCreate(t, db, &line)
		line.ID = "l2"
		mustBeDuplicate(t, db, "employee twice in one declaration", &line)

		agr := store.TripartiteAgreementRow{ID: "a1", UnitID: "u1", AgreementNo: "A1", BankCode: "ICBC",
			AccountNameSealed: "sealed-name", AccountNoSealed: "sealed-no", AccountNoIndex: "idx", Status: "verified",
			CreatedBy: "us1", CreatedAt: unitNow, VerifiedAt: &unitNow}
		mustCreate(t, db, &agr)
		agr.ID = "a2"
		mustBeDuplicate(t, db, "reused agreement number", &agr)

		debit := store.TripartiteDebitRow{DebitNo: "DB1", OrderNo: "o1", AgreementID: "a1", UnitID: "u1",
			AmountFen: 240000, Status: "pending", CreatedAt: unitNow, UpdatedAt: unitNow}
		mustCreate(t, db, &debit)
		debit.DebitNo = "DB2"
		mustBeDuplicate(t, db, "second debit of one order", &debit)

		v := store.BankVoucherRow{VoucherNo: "V1", OrderNo: "o2", UnitID: "u1", UnitDeclarationID: "d1",
			AmountFen: 240000, CreatedAt: unitNow, ExpiresAt: unitNow.AddDate(0, 0, 10)}
		mustCreate(t, db, &v)
		v.VoucherNo = "V2"
		mustBeDuplicate(t, db, "second voucher of one order", &v)

		mustCreate(t, db, &store.UploadRow{ID: "up1", OwnerUserID: "us1", UnitID: "u1", Size: 3, ContentType: "application/pdf",
			SHA256: "ab", BlobKey: "b1", CreatedAt: unitNow})
		mustCreate(t, db, &store.UploadBlobRow{BlobKey: "b1", Content: []byte("%PD"), CreatedAt: unitNow})
		att := store.RefundAttachmentRow{RefundNo: "RF1", UploadID: "up1", Kind: "account_permit", CreatedAt: unitNow}
		mustCreate(t, db, &att)
		mustBeDuplicate(t, db, "one upload attached twice", &att)
	})
}

// A unit's payment, months, certificate and refund are rows of the
// individual's tables, which keep their rules.
func TestUnitRowsInSharedTablesOnEveryDialect(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustCreate(t, db, &store.OrderRow{OrderNo: "o1", PayerUserID: "us1", Channel: "bank", Scheme: "enterprise_pension",
			AmountFen: 144000, Status: "created", ExpiresAt: unitNow, CreatedAt: unitNow, UpdatedAt: unitNow,
			UnitID: "u1", UnitDeclarationID: "d1", Method: "tripartite"})
		var o store.OrderRow
		if err := db.Gorm.Where("unit_id = ?", "u1").First(&o).Error; err != nil || o.Method != "tripartite" || o.PersonID != "" {
			t.Fatalf("unit order read back %+v, %v", o, err)
		}

		// One contribution per person, scheme and month, whoever pays: a
		// unit cannot credit a month someone else (a user, another unit)
		// already paid in the same scheme.
		flex := store.RecordRow{ID: "r1", PersonID: "p9", Scheme: "enterprise_pension", Period: "202601", RegionCode: "150100",
			BaseFen: 600000, AmountFen: 120000, Status: "paid", OrderNo: "o0", PayerUserID: "us9", PaidAt: unitNow}
		mustCreate(t, db, &flex)
		unit := flex
		unit.ID, unit.OrderNo, unit.PayerUserID, unit.PayerUnitID, unit.UnitLineID = "r2", "o1", "us1", "u1", "l1"
		mustBeDuplicate(t, db, "month credited twice", &unit)
		// Another scheme's month is another row.
		unit.Scheme = "enterprise_medical"
		mustCreate(t, db, &unit)
		// A correction's difference for the month is its own row.
		diff := unit
		diff.ID, diff.AmountFen, diff.AdjustmentNo = "r3", 2000, 1
		mustCreate(t, db, &diff)
		diff.ID = "r4"
		mustBeDuplicate(t, db, "difference credited twice", &diff)
		var n int64
		if err := db.Gorm.Model(&store.RecordRow{}).Where("payer_unit_id = ? AND person_id = ?", "u1", "p9").Count(&n).Error; err != nil || n != 2 {
			t.Fatalf("unit-paid records of the employee: %d, %v", n, err)
		}

		cert := store.CertificateRow{CertificateNo: "C1", Kind: "tax_payment_certificate", IssuedByUserID: "us1",
			Scheme: "enterprise_pension", PeriodFrom: "202601", PeriodTo: "202601", OrderNo: "o1", TotalFen: 144000, LineCount: 1,
			Canonical: []byte("c"), Signature: []byte("s"), KeyID: "k", Algorithm: "ed25519", PDF: []byte("%PDF"),
			IssuedAt: unitNow, UnitID: "u1"}
		mustCreate(t, db, &cert)
		// The immutability triggers cover unit_id too.
		if err := db.Gorm.Model(&store.CertificateRow{}).Where("certificate_no = ?", "C1").Update("unit_id", "u2").Error; err == nil ||
			!strings.Contains(err.Error(), "immutable") {
			t.Fatalf("a certificate's unit was changed: %v", err)
		}
		if err := db.Gorm.Model(&store.CertificateRow{}).Where("certificate_no = ?", "C1").Update("kind", "x").Error; err == nil ||
			!strings.Contains(err.Error(), "immutable") {
			t.Fatalf("a certificate's kind was changed: %v", err)
		}
		if err := db.Gorm.Model(&store.CertificateRow{}).Where("certificate_no = ? AND revoked_at IS NULL", "C1").
			Updates(map[string]any{"revoked_at": unitNow, "revoke_reason": "补开"}).Error; err != nil {
			t.Fatalf("revoking still allowed: %v", err)
		}
		var got store.CertificateRow
		if err := db.Gorm.Select(store.CertificateColumnsWithoutPDF()).Where("unit_id = ?", "u1").First(&got).Error; err != nil || got.CertificateNo != "C1" {
			t.Fatalf("unit certificate read back %+v, %v", got, err)
		}

		key := "unit:u1|enterprise_pension"
		ref := store.RefundRow{RefundNo: "RF1", ApplicantUserID: "us1", Scheme: "enterprise_pension", Department: "tax",
			Reason: "overpaid", RefundFen: 1000, Route: "bank", Status: "submitted", OpenKey: &key,
			CreatedAt: unitNow, UpdatedAt: unitNow, UnitID: "u1"}
		mustCreate(t, db, &ref)
		ref.RefundNo = "RF2"
		mustBeDuplicate(t, db, "second open refund of a unit in one scheme", &ref)
	})
}
