package unitrefunds_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/uploads"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// pngBytes is a PNG's signature and a little more: what a phone photo of a
// 开户许可证 starts with.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 300)...)

func upload(t *testing.T, env *servicetest.Env, sess people.Session, unitID string) uploads.Upload {
	t.Helper()
	u, err := env.Svc.CreateUpload(context.Background(), sess.UserID, unitID, bytes.NewReader(pngBytes), int64(len(pngBytes)))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func unitRefund(pu servicetest.PaidUnit, scheme models.Scheme, fen int64, attach ...string) refunds.UnitRefundInput {
	return refunds.UnitRefundInput{OrderNo: pu.OrderNo, Scheme: scheme, RefundFen: models.Fen(fen), Reason: models.ReasonOverpaid,
		ReasonDetail: "多报一人", BankAccount: pu.UnitAccount(), Attachments: attach}
}

func TestAUnitRefundGoesThroughTheStaffStepsToTheUnitsAccount(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		wang := servicetest.Person(t, "王建国")
		emp := env.LoginVerified(t, "wang", wang.Name, wang.IDNumber)
		pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司", emp)
		other := servicetest.NewPaidUnit(t, env, "li", "李秀英", "91150100MA0LB0012X", "内蒙古另一家有限公司")
		zhao := servicetest.Person(t, "赵海峰")
		op := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		servicetest.AddUnitOperator(t, env, pu.Unit.ID, op)
		liu := servicetest.Person(t, "刘建华")
		stranger := env.LoginVerified(t, "liu", liu.Name, liu.IDNumber)
		h := servicetest.NewHall(t, env)

		permit := upload(t, env, pu.Rep, pu.Unit.ID)
		voucher := upload(t, env, op, pu.Unit.ID)
		theirs := upload(t, env, other.Rep, other.Unit.ID)
		in := unitRefund(pu, models.SchemeEnterprisePension, pu.Pension, permit.UploadID, voucher.UploadID)

		// Nobody else files for the unit, and another unit's files are not its.
		for _, who := range []people.Session{stranger, other.Rep, emp} {
			if _, err := env.Svc.CreateUnitRefund(ctx, who.UserID, pu.Unit.ID, in); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("%s filed for the unit: %v", who.Subject, err)
			}
			if _, _, err := env.Svc.ListUnitRefunds(ctx, who.UserID, pu.Unit.ID, kernel.Page{Size: 10}); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("%s listed the unit's refunds: %v", who.Subject, err)
			}
		}
		bad := unitRefund(pu, models.SchemeEnterprisePension, pu.Pension, permit.UploadID, theirs.UploadID)
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, bad); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another unit's attachment: %v", err)
		}
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, unitRefund(pu, models.SchemeEnterprisePension, 100)); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("no attachment: %v", err)
		}
		// The unit's money goes to the unit's account, and the bank says whose it is.
		bad = unitRefund(pu, models.SchemeEnterprisePension, pu.Pension, permit.UploadID)
		bad.BankAccount = &models.BankAccount{BankName: "中国银行", AccountName: "张三明", AccountNo: "6216610200001234567"}
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, bad); !errors.Is(err, models.ErrBankAccountInvalid) {
			t.Fatalf("the legal representative's own account: %v", err)
		}
		env.Bank.SetAccountHolder("6216610200009999999", "别的公司")
		bad.BankAccount = &models.BankAccount{BankName: "中国银行", AccountName: pu.Unit.Name, AccountNo: "6216610200009999999"}
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, bad); !errors.Is(err, models.ErrBankAccountName) {
			t.Fatalf("an account the bank says is not the unit's: %v", err)
		}
		bad.BankAccount = pu.UnitAccount()
		bad.OrderNo = other.OrderNo
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, bad); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another unit's order: %v", err)
		}
		bad = unitRefund(pu, models.SchemeEnterprisePension, pu.Pension+1, permit.UploadID)
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, bad); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("more than the scheme's part of the order: %v", err)
		}
		// An employee's month the unit paid is not theirs to ask back.
		if _, err := env.Svc.CreateRefund(ctx, emp.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeEnterprisePension,
			OrderNo: pu.OrderNo, RefundFen: 100, Reason: models.ReasonOverpaid, BankAccount: &models.BankAccount{BankName: "中国银行",
				AccountName: wang.Name, AccountNo: "6216610200007777777"}}); !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrSchemeInvalid) {
			t.Fatalf("an employee asked back the unit's money: %v", err)
		}

		r, err := env.Svc.CreateUnitRefund(ctx, op.UserID, pu.Unit.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != models.RefundSubmitted || r.Department != models.DeptSocialInsurance || r.UnitID != pu.Unit.ID || r.UnitName != pu.Unit.Name ||
			r.ApplicantRole != refunds.RoleUnit || len(r.Uploads) != 2 || r.Route != models.RouteBank || len(r.Items) != 2 {
			t.Fatalf("submitted %+v", r)
		}
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, unitRefund(pu, models.SchemeEnterprisePension, 100, permit.UploadID)); !errors.Is(err, models.ErrRefundOpen) {
			t.Fatalf("a second open application for the scheme: %v", err)
		}
		med, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, unitRefund(pu, models.SchemeEnterpriseMedical, pu.Medical, permit.UploadID))
		if err != nil || med.Department != models.DeptMedicalInsurance {
			t.Fatalf("medical %+v %v", med, err)
		}
		// The medical one is refused with every reason at once.
		reasons := []string{"缺少《社会保险费退费申请表》", "开户许可证复印件不清晰"}
		if _, err := env.Svc.RefuseRefund(ctx, h.Tax, med.RefundNo, reasons); err != nil {
			t.Fatal(err)
		}
		if got, err := env.Svc.GetRefund(ctx, pu.Rep.UserID, med.RefundNo); err != nil || got.Status != models.RefundRefused || len(got.Reasons) != 2 {
			t.Fatalf("refused %+v %v", got, err)
		}

		// Every member sees it and hears of it; nobody else does.
		for _, who := range []people.Session{pu.Rep, op} {
			list, _, err := env.Svc.ListUnitRefunds(ctx, who.UserID, pu.Unit.ID, kernel.Page{Size: 10})
			if err != nil || len(list) != 2 {
				t.Fatalf("%s lists %d: %v", who.Subject, len(list), err)
			}
			if _, err := env.Svc.GetRefund(ctx, who.UserID, r.RefundNo); err != nil {
				t.Fatalf("%s reads it: %v", who.Subject, err)
			}
		}
		for _, who := range []people.Session{stranger, other.Rep, emp} {
			if _, err := env.Svc.GetRefund(ctx, who.UserID, r.RefundNo); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("%s reads the unit's refund: %v", who.Subject, err)
			}
		}
		if mine, _, _ := env.Svc.ListRefunds(ctx, op.UserID, kernel.Page{Size: 10}); len(mine) != 0 {
			t.Fatalf("the unit's applications in the operator's personal list: %d", len(mine))
		}

		// The window sees the files, downloads them (audited), and only
		// staff who may read the application do.
		sv, err := env.Svc.GetStaffRefund(ctx, h.Tax, r.RefundNo)
		if err != nil || len(sv.Uploads) != 2 || sv.UnitUSCC != pu.Unit.USCC || sv.UnitName != pu.Unit.Name ||
			!strings.Contains(strings.Join(sv.ApplicantWarnings, " "), "即时办结") || sv.PersonNameMasked != "" {
			t.Fatalf("staff view %+v %v", sv, err)
		}
		work, _, err := env.Svc.ListStaffRefunds(ctx, h.Tax, "", kernel.Page{Size: 50})
		listed := false
		for _, w := range work {
			if w.RefundNo == r.RefundNo {
				listed = w.UnitName == pu.Unit.Name && !w.ReviewFirst && w.PersonNameMasked == ""
			}
		}
		if err != nil || !listed {
			t.Fatalf("the hall's work list %+v %v", work, err)
		}
		up, b, err := env.Svc.DownloadRefundAttachment(ctx, h.Tax, r.RefundNo, permit.UploadID)
		if err != nil || !bytes.Equal(b, pngBytes) || up.ContentType != models.ContentTypePNG {
			t.Fatalf("download %v", err)
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND target_id = ? AND outcome = ?", "refund.attachment",
			r.RefundNo+"/"+permit.UploadID, kernel.AuditOK); n != 1 {
			t.Fatalf("%d audit entries for the download", n)
		}
		if _, _, err := env.Svc.DownloadRefundAttachment(ctx, h.Tax, r.RefundNo, theirs.UploadID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a file the application does not carry: %v", err)
		}
		if _, _, err := env.Svc.DownloadRefundAttachment(ctx, h.Si, r.RefundNo, permit.UploadID); !errors.Is(err, models.ErrRoleForbidden) {
			t.Fatalf("社保 before it was forwarded: %v", err)
		}

		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		yes := true
		if _, err := env.Svc.ReviewRefund(ctx, h.Mi, r.RefundNo, refunds.ReviewInput{Approve: &yes}); !errors.Is(err, models.ErrRoleForbidden) {
			t.Fatalf("医保 reviewed a pension refund: %v", err)
		}
		if _, _, err := env.Svc.DownloadRefundAttachment(ctx, h.Si, r.RefundNo, voucher.UploadID); err != nil {
			t.Fatalf("社保 reviewing it: %v", err)
		}
		if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &yes}); err != nil {
			t.Fatal(err)
		}
		// The window cannot redirect the unit's money to a person's account either.
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{BankAccount: &models.BankAccount{BankName: "中国银行",
			AccountName: "张三明", AccountNo: "6216610200001234567"}}); !errors.Is(err, models.ErrBankAccountInvalid) {
			t.Fatalf("execute to a person's account: %v", err)
		}
		sv, err = env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil || sv.Status != models.RefundRefunded || len(sv.Payouts) != 1 || sv.Payouts[0].Kind != refunds.PayoutBank {
			t.Fatalf("execute %+v %v", sv, err)
		}
		if env.Bank.PaidCount() != 1 {
			t.Fatalf("bank paid %d", env.Bank.PaidCount())
		}
		o := servicetest.OrderRow(t, db, pu.OrderNo)
		if o.RefundedFen != pu.Pension || o.Status != contrib.OrderPartiallyRefunded {
			t.Fatalf("order %+v", o)
		}
		var recs []store.RecordRow
		db.Gorm.Where("order_no = ?", pu.OrderNo).Order("scheme, person_id").Find(&recs)
		for _, rec := range recs {
			want := contrib.RecordRefunded
			if rec.Scheme == string(models.SchemeEnterpriseMedical) {
				want = contrib.RecordCredited
			}
			if rec.Status != want {
				t.Fatalf("record %s %s: %s, want %s", rec.Scheme, rec.PersonID, rec.Status, want)
			}
		}
		var back int64
		db.Gorm.Raw(`SELECT COALESCE(SUM(i.amount_fen), 0) FROM refund_items i JOIN refunds r ON r.refund_no = i.refund_no
			WHERE r.unit_id = ? AND r.status = ?`, pu.Unit.ID, string(models.RefundRefunded)).Scan(&back)
		if back != pu.Pension {
			t.Fatalf("records refunded %d, want %d", back, pu.Pension)
		}
		got, err := env.Svc.GetRefund(ctx, op.UserID, r.RefundNo)
		if err != nil || got.Status != models.RefundRefunded || len(got.Timeline) < 5 {
			t.Fatalf("member's view %+v %v", got, err)
		}
		for _, who := range []people.Session{pu.Rep, op} {
			ms, _, err := env.Svc.ListMessages(ctx, who.UserID, kernel.Page{Size: 50})
			if err != nil {
				t.Fatal(err)
			}
			done := false
			for _, m := range ms {
				done = done || (m.RefundNo == r.RefundNo && strings.Contains(m.Title, "退费已办结"))
			}
			if !done {
				t.Fatalf("%s was not told the refund is done: %+v", who.Subject, ms)
			}
		}
		for _, who := range []people.Session{stranger, emp} {
			ms, _, _ := env.Svc.ListMessages(ctx, who.UserID, kernel.Page{Size: 50})
			for _, m := range ms {
				if m.RefundNo == r.RefundNo {
					t.Fatalf("%s heard of the unit's refund", who.Subject)
				}
			}
		}
		// A money's worth is asked back once: nothing of the pension is left.
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, unitRefund(pu, models.SchemeEnterprisePension, 1, permit.UploadID)); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("again after it was refunded: %v", err)
		}
	})
}

// Two members applying at once for the same order and scheme file one
// application.
func TestConcurrentUnitApplicationsFileOne(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
		zhao := servicetest.Person(t, "赵海峰")
		op := env.LoginVerified(t, "zhao", zhao.Name, zhao.IDNumber)
		servicetest.AddUnitOperator(t, env, pu.Unit.ID, op)
		a := upload(t, env, pu.Rep, pu.Unit.ID)
		users := []string{pu.Rep.UserID, op.UserID}
		errs := servicetest.Parallel(6, func(i int) error {
			_, err := env.Svc.CreateUnitRefund(ctx, users[i%2], pu.Unit.ID, unitRefund(pu, models.SchemeEnterprisePension, 1000+int64(i), a.UploadID))
			return err
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrRefundOpen) || errors.Is(err, models.ErrRefundExceeds):
			default:
				t.Fatalf("unexpected: %v", err)
			}
		}
		if ok != 1 || servicetest.Count(t, db, "refunds", "unit_id = ?", pu.Unit.ID) != 1 {
			t.Fatalf("%d applications filed", ok)
		}
	})
}

// A unit order that was paid but whose months could not be booked (the
// declaration paid by another order meanwhile, or an employee's month
// already paid in the same fund) is money the anomaly tells staff to
// refund "by the unit refund path". That path used to ask only records,
// so the unbooked money could never be asked back: it is refundable up to
// the order's unbooked part of the scheme, and executing it leaves the
// order refunded and no record touched.
func TestAUnitsUnbookedMoneyIsRefundable(t *testing.T) {
	ctx := context.Background()
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
	var first store.OrderRow
	if err := db.Gorm.Where("order_no = ?", pu.OrderNo).Take(&first).Error; err != nil {
		t.Fatal(err)
	}
	// A second order of the same declaration, paid, booking nothing.
	now := env.Clock.Now().UTC()
	dup := first
	dup.OrderNo, dup.Method, dup.Channel, dup.CreatedAt, dup.UpdatedAt = "UDUP0001", "pos", "pos", now, now
	if err := db.Gorm.Create(&dup).Error; err != nil {
		t.Fatal(err)
	}
	permit := upload(t, env, pu.Rep, pu.Unit.ID)
	in := unitRefund(pu, models.SchemeEnterprisePension, pu.Pension+1, permit.UploadID)
	in.OrderNo = dup.OrderNo
	if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, in); !errors.Is(err, models.ErrRefundExceeds) {
		t.Fatalf("more than the scheme's unbooked part: %v", err)
	}
	in.RefundFen = models.Fen(pu.Pension)
	r, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	h := servicetest.NewHall(t, env)
	yes := true
	if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &yes}); err != nil {
		t.Fatal(err)
	}
	sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
	if err != nil || sv.Status != models.RefundRefunded {
		t.Fatalf("execute %+v %v", sv, err)
	}
	var o store.OrderRow
	if err := db.Gorm.Where("order_no = ?", dup.OrderNo).Take(&o).Error; err != nil {
		t.Fatal(err)
	}
	if o.RefundedFen != pu.Pension || o.Status != contrib.OrderPartiallyRefunded {
		t.Fatalf("order %s refunded %d", o.Status, o.RefundedFen)
	}
	if n := servicetest.Count(t, db, "records", "order_no = ? AND status <> ?", pu.OrderNo, contrib.RecordCredited); n != 0 {
		t.Fatalf("%d records of the booked order touched", n)
	}
	// Nothing more of it: the medical part is still there, the pension part is not.
	in.RefundFen = 1
	if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, in); !errors.Is(err, models.ErrRefundExceeds) {
		t.Fatalf("asked back twice: %v", err)
	}
}

func TestUnattachedUploadsArePurgedAfterAWeekAndAttachedOnesNever(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		pu := servicetest.NewPaidUnit(t, env, "rep", "张三明", "91150100MA0LB00013", "内蒙古联办示范科技有限公司")
		permit := upload(t, env, pu.Rep, pu.Unit.ID)
		old := upload(t, env, pu.Rep, pu.Unit.ID)
		if _, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, unitRefund(pu, models.SchemeEnterprisePension, pu.Pension, permit.UploadID)); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(24 * time.Hour)
		young := upload(t, env, pu.Rep, pu.Unit.ID)

		// Six days and a second on, the old upload is refused when filing,
		// so no filing can race its purge.
		env.Clock.Advance(5*24*time.Hour + time.Second)
		_, err := env.Svc.CreateUnitRefund(ctx, pu.Rep.UserID, pu.Unit.ID, unitRefund(pu, models.SchemeEnterpriseMedical, pu.Medical, old.UploadID))
		if !errors.Is(err, models.ErrInvalid) || !strings.Contains(err.Error(), "重新上传") {
			t.Fatalf("a 6-day-old attachment: %v", err)
		}
		env.Svc.WorkOnce(ctx)
		if n := servicetest.Count(t, db, "uploads", "1 = 1"); n != 3 {
			t.Fatalf("%d uploads before any is a week old", n)
		}

		env.Clock.Advance(24 * time.Hour)
		env.Svc.WorkOnce(ctx)
		if n := servicetest.Count(t, db, "uploads", "id = '"+old.UploadID+"'"); n != 0 {
			t.Fatal("a week-old unattached upload was kept")
		}
		if _, err := env.Deps.Blobs.Get(ctx, uploads.BlobKey(old.UploadID)); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the purged upload's blob: %v", err)
		}
		for _, u := range []uploads.Upload{permit, young} {
			var row store.UploadRow
			if err := db.Gorm.Where("id = ?", u.UploadID).Take(&row).Error; err != nil {
				t.Fatalf("%s purged: %v", u.UploadID, err)
			}
			if b, err := uploads.Open(ctx, env.Deps.Blobs, env.Deps.PII, row); err != nil || !bytes.Equal(b, pngBytes) {
				t.Fatalf("%s's blob: %v", u.UploadID, err)
			}
		}
	})
}
