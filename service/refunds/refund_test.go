package refunds_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/certs"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func medicalPaid(t *testing.T, env *servicetest.Env, sess people.Session) contrib.Payment {
	t.Helper()
	if _, err := env.Svc.CreateEnrolment(context.Background(), sess.UserID, contrib.EnrolInput{Person: servicetest.Self,
		Scheme: models.SchemeFlexibleMedical, RegionCode: "150100", MedicalOption: models.MedicalCombined}); err != nil {
		t.Fatal(err)
	}
	return servicetest.PayAndCredit(t, env, sess, models.SchemeFlexibleMedical)
}

func statuses(r refunds.Refund) string {
	var s []string
	for _, st := range r.Timeline {
		s = append(s, string(st.Status)+"@"+st.Holder)
	}
	return strings.Join(s, " ")
}

func recordStatuses(t *testing.T, env *servicetest.Env, sess people.Session, scheme models.Scheme) string {
	t.Helper()
	var s []string
	for _, r := range servicetest.Records(t, env, sess) {
		if r.Scheme == scheme {
			s = append(s, r.Period+":"+r.Status)
		}
	}
	return strings.Join(s, " ")
}

func messages(t *testing.T, env *servicetest.Env, sess people.Session) []kernel.Message {
	t.Helper()
	ms, _, err := env.Svc.ListMessages(context.Background(), sess.UserID, kernel.Page{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestARefusedApplicationShowsTheApplicantEveryReasonAtOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: 98140,
			ReasonDetail: "多缴一个月", Attachments: []models.Attachment{{Kind: models.AttachForm, Name: "退费申请表.pdf", Ref: "media-1"}}})
		if r.Status != models.RefundSubmitted || r.Holder != models.DeptTax || r.HolderName != "税务" || len(r.Items) != 1 || r.Items[0].Period != "202611" {
			t.Fatalf("submitted %+v", r)
		}
		reasons := []string{"缺少《社会保险费退费申请表》原件", "银行账户资料不清晰", "缺少《社会保险费退费申请表》原件", " "}
		if _, err := env.Svc.RefuseRefund(ctx, h.Tax, r.RefundNo, nil); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("refusing without a reason: %v", err)
		}
		if _, err := env.Svc.RefuseRefund(ctx, h.Tax, r.RefundNo, reasons); err != nil {
			t.Fatal(err)
		}
		got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundRefused || got.Holder != "" || len(got.Reasons) != 2 ||
			got.Reasons[0] != reasons[0] || got.Reasons[1] != reasons[1] || got.ClosedAt == nil {
			t.Fatalf("refused %+v", got)
		}
		if statuses(got) != "submitted@tax refused@" || got.Timeline[1].Department != models.DeptTax || got.Timeline[1].DepartmentName != "税务" {
			t.Fatalf("timeline %s %+v", statuses(got), got.Timeline)
		}
		// Every time the application shows is the service clock's, never
		// the database driver's wall clock.
		if !got.UpdatedAt.Equal(env.Clock.Now()) {
			t.Fatalf("updated_at %s, want the service clock's %s", got.UpdatedAt, env.Clock.Now())
		}
		ms := messages(t, env, sess)
		if len(ms) != 2 || ms[0].Title != "退费申请不予受理" || !strings.Contains(ms[0].Body, "1. 缺少") || !strings.Contains(ms[0].Body, "2. 银行账户资料不清晰") {
			t.Fatalf("messages %+v", ms)
		}
		// Nothing moved: the records were never touched, and a refused
		// application frees the scheme for a new one.
		if rs := recordStatuses(t, env, sess, models.SchemeFlexiblePension); rs != "202611:credited 202612:credited" {
			t.Fatalf("records %s", rs)
		}
		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); !errors.Is(err, models.ErrRefundState) {
			t.Fatalf("accepting a refused application: %v", err)
		}
		servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: 98140})
	})
}

func TestAMedicalRefundRejectedByTheMedicalAgencyShowsItsReason(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		sess, _ := servicetest.PensionPaid(t, env)
		mp := medicalPaid(t, env, sess)
		h := servicetest.NewHall(t, env)
		r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexibleMedical, Periods: []string{"202612"},
			RefundFen: 1000, Reason: models.ReasonWronglyCollected})
		if r.Department != models.DeptMedicalInsurance || r.Items[0].OrderNo != mp.OrderNo {
			t.Fatalf("submitted %+v", r)
		}
		// Reviewers see nothing before the tax window forwards it.
		if _, err := env.Svc.GetStaffRefund(ctx, h.Mi, r.RefundNo); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("医保 reading before forwarding: %v", err)
		}
		if _, err := env.Svc.AcceptRefund(ctx, h.Mi, r.RefundNo); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("医保 accepting: %v", err)
		}
		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundForwarded || got.Holder != models.DeptMedicalInsurance || got.HolderName != "医保经办机构" {
			t.Fatalf("forwarded %+v", got)
		}
		if statuses(got) != "submitted@tax accepted@tax forwarded@medical_insurance" {
			t.Fatalf("timeline %s", statuses(got))
		}
		if rs := recordStatuses(t, env, sess, models.SchemeFlexibleMedical); rs != "202611:credited 202612:refunding" {
			t.Fatalf("records while under review %s", rs)
		}
		// The 社保 reviewer cannot review a medical scheme; nobody rejects
		// without saying why.
		no := false
		if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &no, Reason: "x"}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("社保 reviewing medical: %v", err)
		}
		if _, err := env.Svc.ReviewRefund(ctx, h.Mi, r.RefundNo, refunds.ReviewInput{Approve: &no}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("rejecting without a reason: %v", err)
		}
		reason := "该月费款已用于医保待遇结算，不符合退费条件"
		if _, err := env.Svc.ReviewRefund(ctx, h.Mi, r.RefundNo, refunds.ReviewInput{Approve: &no, Reason: reason}); err != nil {
			t.Fatal(err)
		}
		got = servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundRejected || len(got.Reasons) != 1 || got.Reasons[0] != reason || got.Holder != "" {
			t.Fatalf("rejected %+v", got)
		}
		last := got.Timeline[len(got.Timeline)-1]
		if last.Department != models.DeptMedicalInsurance || last.DepartmentName != "医保经办机构" || last.Reasons[0] != reason {
			t.Fatalf("rejection step %+v", last)
		}
		if rs := recordStatuses(t, env, sess, models.SchemeFlexibleMedical); rs != "202611:credited 202612:credited" {
			t.Fatalf("records after rejection %s", rs)
		}
		if ms := messages(t, env, sess); ms[0].Title != "退费申请未通过复核" || !strings.Contains(ms[0].Body, reason) || !strings.Contains(ms[0].Body, "医保经办机构") {
			t.Fatalf("message %+v", ms[0])
		}
		if o := servicetest.OrderRow(t, db, mp.OrderNo); o.Status != contrib.OrderPaid || o.RefundedFen != 0 {
			t.Fatalf("order after rejection %+v", o)
		}
		// The applicant's view never names a person; the hall's names who.
		sv, err := env.Svc.GetStaffRefund(ctx, h.Tax, r.RefundNo)
		if err != nil {
			t.Fatal(err)
		}
		if sv.StaffTimeline[len(sv.StaffTimeline)-1].ActorName != "mi1" {
			t.Fatalf("staff timeline %+v", sv.StaffTimeline)
		}
	})
}

func TestAPensionRefundApprovedBySocialInsuranceIsPaidBackThroughTheSandboxChannel(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		sess, p := servicetest.PensionPaid(t, env)
		// 记账 too, so a record goes back to booked, not credited.
		env.Clock.Advance(5 * time.Second)
		env.Svc.WorkOnce(ctx)
		h := servicetest.NewHall(t, env)
		r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, Periods: []string{"202611", "202612"}, RefundFen: 98140 + 40000})
		if len(r.Items) != 2 || r.Items[0].AmountFen != 98140 || r.Items[1].AmountFen != 40000 || r.Route != models.RouteOriginal {
			t.Fatalf("items %+v", r)
		}
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrRefundState) {
			t.Fatalf("executing before review: %v", err)
		}
		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		yes := true
		if _, err := env.Svc.ReviewRefund(ctx, h.Mi, r.RefundNo, refunds.ReviewInput{Approve: &yes}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("医保 reviewing pension: %v", err)
		}
		if _, err := env.Svc.ExecuteRefund(ctx, h.Si, r.RefundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("社保 executing: %v", err)
		}
		if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &yes, Reason: "核实多缴"}); err != nil {
			t.Fatal(err)
		}
		got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundApproved || got.Holder != models.DeptTax {
			t.Fatalf("approved %+v", got)
		}
		sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil {
			t.Fatal(err)
		}
		if sv.Status != models.RefundRefunded || sv.RefundedFen != 138140 || len(sv.Payouts) != 1 || sv.Payouts[0].Kind != refunds.PayoutChannel ||
			sv.Payouts[0].Status != refunds.PayoutSuccess || sv.Payouts[0].PayoutNo != r.RefundNo+"-1C1" {
			t.Fatalf("executed %+v", sv)
		}
		at, err := env.Sandbox.QueryRefund(ctx, p.OrderNo, sv.Payouts[0].PayoutNo)
		if err != nil || at.State != models.RefundSuccess || at.Amount != 138140 {
			t.Fatalf("at the channel: %+v %v", at, err)
		}
		o := servicetest.OrderRow(t, db, p.OrderNo)
		if o.Status != contrib.OrderPartiallyRefunded || o.RefundedFen != 138140 {
			t.Fatalf("order %+v", o)
		}
		pay, err := env.Svc.GetPayment(ctx, sess.UserID, p.OrderNo)
		if err != nil || pay.Status != contrib.OrderPartiallyRefunded || pay.RefundedFen != 138140 {
			t.Fatalf("payer's view of the order (cache dropped?) %+v %v", pay, err)
		}
		// November came back whole; December only in part, so it is booked again.
		if rs := recordStatuses(t, env, sess, models.SchemeFlexiblePension); rs != "202611:refunded 202612:booked" {
			t.Fatalf("records %s", rs)
		}
		// A contribution proof certifies only what stayed in the fund:
		// November not at all, December less the 400 元 paid back.
		proof, err := env.Svc.IssueCertificate(ctx, sess.UserID, certs.IssueCertificateInput{Kind: models.CertContributionProof,
			Person: people.PersonRef{Self: true}, Scheme: models.SchemeFlexiblePension, PeriodFrom: "202601", PeriodTo: "202612"})
		if err != nil || proof.TotalFen != 98140-40000 {
			t.Fatalf("proof after a partial refund: %+v %v", proof, err)
		}
		got = servicetest.ApplicantView(t, env, sess, r.RefundNo)
		want := "submitted@tax accepted@tax forwarded@social_insurance approved@tax refunding@tax refunded@"
		if statuses(got) != want || got.HolderName != "已办结" {
			t.Fatalf("timeline %s", statuses(got))
		}
		var titles []string
		for _, m := range messages(t, env, sess) {
			titles = append(titles, m.Title)
		}
		if strings.Join(titles, ",") != "退费已办结,退费申请复核通过,退费申请已受理,退费申请已提交" {
			t.Fatalf("messages %v", titles)
		}
		// December's remaining 581.40 元 can be asked back; no more.
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension,
			Periods: []string{"202612"}, RefundFen: 58141, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("asking more than is left: %v", err)
		}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension,
			Periods: []string{"202611"}, RefundFen: 1, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("asking a refunded month again: %v", err)
		}
		servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, Periods: []string{"202612"}, RefundFen: 58140})
	})
}

func TestARefundToABankAccountIsTransferredOnceAndShownMasked(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank := servicetest.NewEnvWithBank(t, db, nil)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		acct := &models.BankAccount{BankName: "中国工商银行呼和浩特分行", AccountName: "张三明", AccountNo: "6222 0202 0011 2233 445"}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension,
			OrderNo: p.OrderNo, RefundFen: 100, Reason: models.ReasonPolicy, BankAccount: &models.BankAccount{BankName: "x", AccountName: "张三明", AccountNo: "12ab"}}); !errors.Is(err, models.ErrBankAccountInvalid) {
			t.Fatalf("a malformed account: %v", err)
		}
		r := servicetest.Apply(t, env, sess, refunds.RefundInput{Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: p.AmountFen,
			Reason: models.ReasonPolicy, BankAccount: acct})
		if r.Route != models.RouteBank || r.BankAccount == nil || r.BankAccount.AccountNoMasked != "6222 **** **** 3445" || r.BankAccount.AccountNameMasked != "张*明" {
			t.Fatalf("bank account %+v", r.BankAccount)
		}
		var row store.RefundRow
		if err := db.Gorm.Where("refund_no = ?", r.RefundNo).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		// The whole number, not a few digits of it: base64 ciphertext holds
		// "6222" now and then by chance (CI met it once).
		digits := strings.ReplaceAll(acct.AccountNo, " ", "")
		if strings.Contains(row.AccountNoSealed, digits) || strings.Contains(row.AccountNoSealed, acct.AccountNo) ||
			strings.Contains(row.AccountNameSealed, "张") || row.AccountNoSealed == "" {
			t.Fatalf("bank account stored in clear: %+v", row)
		}
		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		sv, err := env.Svc.GetStaffRefund(ctx, h.Si, r.RefundNo)
		if err != nil {
			t.Fatal(err)
		}
		if len(sv.MaterialsMissing) != 1 || sv.MaterialsMissing[0] != "银行账户资料" {
			t.Fatalf("materials %v", sv.MaterialsMissing)
		}
		yes := true
		if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &yes}); err != nil {
			t.Fatal(err)
		}
		if sv, err = env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); err != nil {
			t.Fatal(err)
		}
		if sv.Status != models.RefundRefunded || len(sv.Payouts) != 1 || sv.Payouts[0].Kind != refunds.PayoutBank || sv.Payouts[0].BankAccount.AccountNoMasked != "6222 **** **** 3445" {
			t.Fatalf("executed %+v", sv)
		}
		tr, ok := bank.Get(sv.Payouts[0].PayoutNo)
		if !ok || !tr.Paid || tr.Amount != p.AmountFen || tr.AccountNo != "6222020200112233445" || tr.AccountName != "张三明" || bank.PaidCount() != 1 {
			t.Fatalf("at the bank %+v (%d paid)", tr, bank.PaidCount())
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); o.Status != contrib.OrderRefunded || models.Fen(o.RefundedFen) != p.AmountFen {
			t.Fatalf("order %+v", o)
		}
		if rs := recordStatuses(t, env, sess, models.SchemeFlexiblePension); rs != "202611:refunded 202612:refunded" {
			t.Fatalf("records %s", rs)
		}
		if ms := messages(t, env, sess); !strings.Contains(ms[0].Body, "6222 **** **** 3445") || strings.Contains(ms[0].Body, "6222020200112233445") {
			t.Fatalf("message %+v", ms[0])
		}
		// Executing again changes nothing.
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrRefundState) {
			t.Fatalf("executing a refunded application: %v", err)
		}
		if bank.PaidCount() != 1 {
			t.Fatalf("paid %d times", bank.PaidCount())
		}
	})
}

func TestTwoStaffExecutingTheSameRefundAtOncePayItOnce(t *testing.T) {
	for _, route := range []string{"channel", "bank"} {
		t.Run(route, func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				var counting *countingChannel
				env, bank := servicetest.NewEnvWithBank(t, db, func(d *service.Deps, _ *service.Options) {
					counting = &countingChannel{PaymentChannel: d.Payments[models.ChannelSandbox]}
					d.Payments[models.ChannelSandbox] = counting
				})
				sess, p := servicetest.PensionPaid(t, env)
				h := servicetest.NewHall(t, env)
				var acct *models.BankAccount
				if route == "bank" {
					acct = servicetest.SomeAccount
				}
				r := servicetest.Approved(t, env, h, sess, p, acct)
				tax2 := h.Tax
				tax2.StaffID, tax2.Username = "st_second", "tax2"
				errs := servicetest.Parallel(8, func(i int) error {
					a := h.Tax
					if i%2 == 1 {
						a = tax2
					}
					_, err := env.Svc.ExecuteRefund(ctx, a, r.RefundNo, payouts.ExecuteInput{})
					return err
				})
				for _, err := range errs {
					if err != nil && !errors.Is(err, models.ErrRefundState) && !strings.Contains(err.Error(), "REQUEST_IN_PROGRESS") {
						t.Fatalf("execute: %v", err)
					}
				}
				got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
				if got.Status != models.RefundRefunded || got.RefundedFen != p.AmountFen {
					t.Fatalf("refund %+v", got)
				}
				if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen || o.Status != contrib.OrderRefunded {
					t.Fatalf("order %+v", o)
				}
				if n := servicetest.Count(t, db, "refund_payouts", "refund_no = ?", r.RefundNo); n != 1 {
					t.Fatalf("%d payouts planned", n)
				}
				if route == "bank" && (bank.PaidCount() != 1 || bank.PaidTotal() != p.AmountFen) {
					t.Fatalf("bank paid %d transfers, %d fen", bank.PaidCount(), bank.PaidTotal())
				}
				if route == "channel" && (counting.distinct() != 1 || bank.PaidCount() != 0) {
					t.Fatalf("channel refund numbers used: %v", counting.numbers())
				}
				if n := servicetest.Count(t, db, "anomalies", "kind LIKE ?", "refund%"); n != 0 {
					t.Fatalf("%d refund anomalies", n)
				}
			})
		})
	}
}

func TestARetriedExecuteAfterABankTimeoutPaysOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank := servicetest.NewEnvWithBank(t, db, nil)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, servicetest.SomeAccount)
		// The bank pays, then the connection drops: the result is unknown.
		bank.FailNext("transfer", bankfake.Fault{Drop: true})
		sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil {
			t.Fatal(err)
		}
		if sv.Status != models.RefundRefunding || sv.Payouts[0].Status != refunds.PayoutPending || sv.Payouts[0].LastError == "" {
			t.Fatalf("after the timeout %+v", sv)
		}
		if bank.PaidCount() != 1 {
			t.Fatalf("bank paid %d", bank.PaidCount())
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); o.RefundedFen != 0 {
			t.Fatalf("an unknown result was booked: %+v", o)
		}
		// The window retries: the same transfer number, paid once.
		sv, err = env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil {
			t.Fatal(err)
		}
		if sv.Status != models.RefundRefunded || len(sv.Payouts) != 1 || bank.PaidCount() != 1 || bank.Calls("transfer") != 2 {
			t.Fatalf("after the retry %+v, bank paid %d in %d calls", sv, bank.PaidCount(), bank.Calls("transfer"))
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen {
			t.Fatalf("order %+v", o)
		}
	})
}

func TestTheWorkerConfirmsAnUnknownBankTransferByQuery(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank := servicetest.NewEnvWithBank(t, db, nil)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, servicetest.SomeAccount)
		bank.FailNext("transfer", bankfake.Fault{Processing: true})
		if sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); err != nil || sv.Status != models.RefundRefunding {
			t.Fatalf("processing %+v %v", sv, err)
		}
		env.Svc.WorkOnce(ctx) // too early: not asked yet
		if bank.Calls("query") != 0 {
			t.Fatal("queried before the first query time")
		}
		env.Clock.Advance(2 * time.Minute)
		env.Svc.WorkOnce(ctx)
		got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundRefunded || bank.PaidCount() != 1 || bank.Calls("transfer") != 1 {
			t.Fatalf("after the query %+v, bank paid %d, %d transfers", got, bank.PaidCount(), bank.Calls("transfer"))
		}
		// A transfer the bank never received is sent again, same number.
		sess2, p2 := secondPayer(t, env)
		r2 := servicetest.Approved(t, env, h, sess2, p2, &models.BankAccount{BankName: "中国银行", AccountName: "李秀英", AccountNo: "6216610200007654321"})
		bank.FailNext("transfer", bankfake.Fault{DropBefore: true})
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r2.RefundNo, payouts.ExecuteInput{}); err != nil {
			t.Fatal(err)
		}
		if bank.PaidCount() != 1 {
			t.Fatal("a dropped request was paid")
		}
		env.Clock.Advance(2 * time.Minute)
		env.Svc.WorkOnce(ctx)
		if got := servicetest.ApplicantView(t, env, sess2, r2.RefundNo); got.Status != models.RefundRefunded || bank.PaidCount() != 2 {
			t.Fatalf("after the resend %+v, bank paid %d", got, bank.PaidCount())
		}
	})
}

// secondPayer is 李秀英 paying her own resident medical insurance (400 元
// for 2027) through the sandbox, credited.
func secondPayer(t *testing.T, env *servicetest.Env) (people.Session, contrib.Payment) {
	t.Helper()
	li := servicetest.Person(t, "李秀英")
	sess := env.LoginVerified(t, "li", li.Name, li.IDNumber)
	if _, err := env.Svc.CreateEnrolment(context.Background(), sess.UserID, contrib.EnrolInput{Person: servicetest.Self,
		Scheme: models.SchemeResidentMedical, RegionCode: "150100"}); err != nil {
		t.Fatal(err)
	}
	return sess, servicetest.PayAndCredit(t, env, sess, models.SchemeResidentMedical)
}

func TestAChannelRefundWhoseAnswerWasLostIsConfirmedByQueryOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var flaky *countingChannel
		env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			flaky = &countingChannel{PaymentChannel: d.Payments[models.ChannelSandbox], loseAnswers: 1}
			d.Payments[models.ChannelSandbox] = flaky
		})
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, nil)
		sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil || sv.Status != models.RefundRefunding {
			t.Fatalf("lost answer %+v %v", sv, err)
		}
		env.Clock.Advance(2 * time.Minute)
		env.Svc.WorkOnce(ctx)
		env.Svc.WorkOnce(ctx)
		got := servicetest.ApplicantView(t, env, sess, r.RefundNo)
		if got.Status != models.RefundRefunded || flaky.distinct() != 1 {
			t.Fatalf("after the query %+v, numbers %v", got, flaky.numbers())
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen {
			t.Fatalf("order %+v", o)
		}
	})
}

func TestARefundNotificationConfirmsAPendingRefundOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var slow *countingChannel
		env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
			slow = &countingChannel{PaymentChannel: d.Payments[models.ChannelSandbox], alwaysPending: true}
			d.Payments[models.ChannelSandbox] = slow
		})
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, nil)
		sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil || sv.Status != models.RefundRefunding {
			t.Fatalf("pending %+v %v", sv, err)
		}
		no := sv.Payouts[0].PayoutNo
		notice := func(id string, amount models.Fen, state models.RefundState) models.Notification {
			return models.Notification{Channel: models.ChannelSandbox, ID: id, Kind: models.NotifyRefund, OrderNo: p.OrderNo,
				OutRefundNo: no, Amount: amount, RefundState: state, At: env.Clock.Now()}
		}
		cases := []struct {
			n    models.Notification
			want string
		}{
			{notice("N0", p.AmountFen, models.RefundPending), contrib.OutcomeIgnored},
			{notice("N1", p.AmountFen-1, models.RefundSuccess), contrib.OutcomeAnomaly},
			{models.Notification{Channel: models.ChannelSandbox, ID: "N2", Kind: models.NotifyRefund, OrderNo: p.OrderNo,
				OutRefundNo: "TF-unknown", Amount: 1, RefundState: models.RefundSuccess}, contrib.OutcomeAnomaly},
		}
		for _, c := range cases {
			if got, err := env.Svc.Settle(ctx, c.n, "notify"); err != nil || got != c.want {
				t.Fatalf("%s: %s %v, want %s", c.n.ID, got, err, c.want)
			}
		}
		if got := servicetest.ApplicantView(t, env, sess, r.RefundNo); got.Status != models.RefundRefunding {
			t.Fatalf("settled by a wrong notification: %+v", got)
		}
		outcomes := make([]string, 10)
		errs := servicetest.Parallel(10, func(i int) error {
			id := "N3"
			if i%2 == 1 {
				id = "N4" // a second delivery under another id
			}
			var err error
			outcomes[i], err = env.Svc.Settle(ctx, notice(id, p.AmountFen, models.RefundSuccess), "notify")
			return err
		})
		settled := 0
		for i, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
			if outcomes[i] == contrib.OutcomeSettled {
				settled++
			}
		}
		if settled != 1 {
			t.Fatalf("outcomes %v", outcomes)
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen || o.Status != contrib.OrderRefunded {
			t.Fatalf("order %+v", o)
		}
		if got := servicetest.ApplicantView(t, env, sess, r.RefundNo); got.Status != models.RefundRefunded || got.RefundedFen != p.AmountFen {
			t.Fatalf("refund %+v", got)
		}
	})
}

func TestASecondApplicationForTheSameMonthsIsRefusedWhileOneIsOpenAndWhenNothingIsLeft(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		in := refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: p.AmountFen, Reason: models.ReasonOverpaid}
		r := servicetest.Apply(t, env, sess, in)
		for _, again := range []refunds.RefundInput{in, {Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, Periods: []string{"202612"}, RefundFen: 1, Reason: models.ReasonPolicy}} {
			if _, err := env.Svc.CreateRefund(ctx, sess.UserID, again); !errors.Is(err, models.ErrRefundOpen) {
				t.Fatalf("a second open application: %v", err)
			}
		}
		if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); !errors.Is(err, models.ErrRefundOpen) {
			t.Fatalf("while under review: %v", err)
		}
		yes := true
		if _, err := env.Svc.ReviewRefund(ctx, h.Si, r.RefundNo, refunds.ReviewInput{Approve: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("after the months came back: %v", err)
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen {
			t.Fatalf("order %+v", o)
		}
	})
}

func TestARefundLargerThanWhatWasPaidIsRefusedAndConcurrentApplicationsMakeOne(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := servicetest.NewEnv(t, db)
		j := servicetest.StartJourney(t, env)
		sess := j.Sess
		// Paid but not yet credited: nothing can be asked back.
		pbs, _ := env.Svc.QueryPayables(ctx, sess.UserID, servicetest.Self)
		d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pbs[0].PayableID, OptionCode: "grade_60"})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := env.Svc.CreatePayment(ctx, sess, contrib.PayInput{DeclarationID: d.DeclarationID, Channel: models.ChannelSandbox})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Svc.SandboxPay(ctx, p.OrderNo, true); err != nil {
			t.Fatal(err)
		}
		in := refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension, OrderNo: p.OrderNo, RefundFen: 100, Reason: models.ReasonOverpaid}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); !errors.Is(err, models.ErrRefundNotCredited) {
			t.Fatalf("before 入库: %v", err)
		}
		env.Clock.Advance(3 * time.Second)
		env.Svc.WorkOnce(ctx)
		in.RefundFen = p.AmountFen + 1
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("more than paid: %v", err)
		}
		// Other people's months, other schemes and unknown months are not found.
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexibleMedical,
			OrderNo: p.OrderNo, RefundFen: 1, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another scheme's order: %v", err)
		}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension,
			Periods: []string{"202611", "202501"}, RefundFen: 1, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a month never paid: %v", err)
		}
		in.RefundFen = p.AmountFen
		var mu sync.Mutex
		var made []string
		errs := servicetest.Parallel(10, func(int) error {
			r, err := env.Svc.CreateRefund(ctx, sess.UserID, in)
			if err == nil {
				mu.Lock()
				made = append(made, r.RefundNo)
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, models.ErrRefundOpen) {
				t.Fatalf("unexpected: %v", err)
			}
		}
		if len(made) != 1 || servicetest.Count(t, db, "refunds", "person_id IS NOT NULL") != 1 || servicetest.Count(t, db, "refund_items", "refund_no = ?", made[0]) != 2 {
			t.Fatalf("%d applications made", len(made))
		}
		// Someone without access to the person's records cannot apply.
		stranger := servicetest.Person(t, "赵海峰")
		ss := env.LoginVerified(t, "stranger", stranger.Name, stranger.IDNumber)
		if _, err := env.Svc.CreateRefund(ctx, ss.UserID, refunds.RefundInput{Person: people.PersonRef{MemberID: "m_nope"}, Scheme: models.SchemeFlexiblePension,
			OrderNo: p.OrderNo, RefundFen: 1, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a stranger naming a member: %v", err)
		}
		if _, err := env.Svc.CreateRefund(ctx, ss.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension,
			OrderNo: p.OrderNo, RefundFen: 1, Reason: models.ReasonOverpaid}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a stranger naming another's order: %v", err)
		}
		if _, err := env.Svc.GetRefund(ctx, ss.UserID, made[0]); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a stranger reading the application: %v", err)
		}
	})
}

func TestAnOrderTooOldForItsChannelNeedsABankAccount(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank := servicetest.NewEnvWithBank(t, db, nil)
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, nil)
		// The review took long: the channel no longer refunds the order.
		env.Clock.Advance(366 * 24 * time.Hour)
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrBankAccountNeeded) {
			t.Fatalf("without an account: %v", err)
		}
		h.Tax = servicetest.StaffLogin(t, env, "tax1") // the old session timed out meanwhile
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{BankAccount: &models.BankAccount{BankName: "农业银行",
			AccountName: "王五", AccountNo: "6228480000000000001"}}); !errors.Is(err, models.ErrBankAccountInvalid) {
			t.Fatalf("someone else's account: %v", err)
		}
		sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{BankAccount: servicetest.SomeAccount})
		if err != nil || sv.Status != models.RefundRefunded || sv.Payouts[0].Kind != refunds.PayoutBank || bank.PaidTotal() != p.AmountFen {
			t.Fatalf("with the applicant's account %+v %v", sv, err)
		}
		if n := servicetest.Count(t, db, "audit_log", "action = ? AND target_id = ?", "refund.bank_account", r.RefundNo); n != 1 {
			t.Fatalf("%d audit entries for the entered account", n)
		}
		// An application for an order already near a year old asks for an
		// account up front.
		_, err = env.Svc.CreateRefund(ctx, sess.UserID, refunds.RefundInput{Person: servicetest.Self, Scheme: models.SchemeFlexiblePension,
			OrderNo: p.OrderNo, RefundFen: 1, Reason: models.ReasonOverpaid})
		if !errors.Is(err, models.ErrRefundExceeds) {
			t.Fatalf("nothing left to ask: %v", err)
		}
	})
}

func TestAFailedChannelRefundIsPaidByBankWithANewNumber(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ch *countingChannel
		env, bank := servicetest.NewEnvWithBank(t, db, func(d *service.Deps, _ *service.Options) {
			ch = &countingChannel{PaymentChannel: d.Payments[models.ChannelSandbox], refuse: true}
			d.Payments[models.ChannelSandbox] = ch
		})
		sess, p := servicetest.PensionPaid(t, env)
		h := servicetest.NewHall(t, env)
		r := servicetest.Approved(t, env, h, sess, p, nil)
		sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
		if err != nil || sv.Status != models.RefundRefunding || sv.Payouts[0].Status != refunds.PayoutFailed {
			t.Fatalf("refused by the channel %+v %v", sv, err)
		}
		if got := servicetest.ApplicantView(t, env, sess, r.RefundNo); !strings.Contains(got.Timeline[len(got.Timeline)-1].Note, "原路退回未成功") {
			t.Fatalf("timeline %+v", got.Timeline)
		}
		if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrBankAccountNeeded) {
			t.Fatalf("no account to fall back on: %v", err)
		}
		sv, err = env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{BankAccount: servicetest.SomeAccount})
		if err != nil || sv.Status != models.RefundRefunded || len(sv.Payouts) != 2 || sv.Payouts[1].PayoutNo != r.RefundNo+"-2B" {
			t.Fatalf("by bank %+v %v", sv, err)
		}
		if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen || bank.PaidTotal() != p.AmountFen {
			t.Fatalf("order %+v, bank %d", o, bank.PaidTotal())
		}
	})
}

// countingChannel wraps a payment channel to watch and disturb refunds:
// it records the out_refund_no of every call, and can lose answers (the
// refund is made, the caller gets a timeout), answer pending for ever, or
// refuse every refund.
type countingChannel struct {
	models.PaymentChannel
	loseAnswers   int
	alwaysPending bool
	refuse        bool

	mu   sync.Mutex
	seen map[string]int
}

func (c *countingChannel) Refund(ctx context.Context, req models.RefundRequest) (models.RefundResult, error) {
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[req.OutRefundNo]++
	lose := c.loseAnswers > 0
	if lose {
		c.loseAnswers--
	}
	c.mu.Unlock()
	if c.refuse {
		return models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundFailed}, nil
	}
	if c.alwaysPending {
		return models.RefundResult{OutRefundNo: req.OutRefundNo, State: models.RefundPending}, nil
	}
	res, err := c.PaymentChannel.Refund(ctx, req)
	if lose {
		return models.RefundResult{}, models.ErrUnavailable.WithReason("timeout")
	}
	return res, err
}

func (c *countingChannel) QueryRefund(ctx context.Context, orderNo, outRefundNo string) (models.RefundResult, error) {
	if c.alwaysPending {
		return models.RefundResult{OutRefundNo: outRefundNo, State: models.RefundPending}, nil
	}
	return c.PaymentChannel.QueryRefund(ctx, orderNo, outRefundNo)
}

func (c *countingChannel) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *countingChannel) numbers() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

func TestARefundIsPaidBackThroughWechatAndAlipay(t *testing.T) {
	for _, tc := range []struct{ channel, code string }{{models.ChannelWechat, "wx-refund"}, {models.ChannelAlipay, "ali-refund"}} {
		t.Run(tc.channel, func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				env := servicetest.NewChannelEnv(t, db, nil)
				sess, p := servicetest.ChannelJourney(t, env, tc.channel, tc.code, false)
				var err error
				if tc.channel == models.ChannelWechat {
					err = env.Wechat.Pay(p.OrderNo, true)
				} else {
					err = env.Alipay.Pay(p.OrderNo, true)
				}
				if err != nil {
					t.Fatal(err)
				}
				servicetest.WaitPaid(t, db, p.OrderNo)
				// The fakes date the payment on the wall clock, which runs on
				// while the service clock stands still: move the service
				// clock past the sandbox treasury's delay after that time.
				if paid := servicetest.OrderRow(t, db, p.OrderNo).PaidAt; paid != nil && paid.After(env.Clock.Now()) {
					env.Clock.Set(*paid)
				}
				env.Clock.Advance(3 * time.Second)
				env.Svc.WorkOnce(ctx)
				h := servicetest.NewHall(t, env)
				r := servicetest.Approved(t, env, h, sess, p, nil)
				sv, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{})
				if err != nil || sv.Status != models.RefundRefunded || sv.Payouts[0].Channel != tc.channel {
					t.Fatalf("execute %+v %v", sv, err)
				}
				// Retrying changes nothing at the channel.
				if _, err := env.Svc.ExecuteRefund(ctx, h.Tax, r.RefundNo, payouts.ExecuteInput{}); !errors.Is(err, models.ErrRefundState) {
					t.Fatalf("again: %v", err)
				}
				if tc.channel == models.ChannelWechat {
					if n := env.Wechat.RefundCount(p.OrderNo); n != 1 {
						t.Fatalf("WeChat holds %d refunds", n)
					}
					rf, ok := env.Wechat.Refund(sv.Payouts[0].PayoutNo)
					if !ok || rf.Amount != p.AmountFen {
						t.Fatalf("WeChat refund %+v", rf)
					}
					// WeChat's REFUND.SUCCESS notification arrives too and settles nothing more.
					for i := 0; i < 100 && servicetest.Count(t, db, "notifications", "kind = ?", "refund") == 0; i++ {
						time.Sleep(50 * time.Millisecond)
					}
					var ns []store.NotificationRow
					db.Gorm.Where("kind = ?", "refund").Find(&ns)
					if len(ns) != 1 || (ns[0].Outcome != contrib.OutcomeDuplicate && ns[0].Outcome != contrib.OutcomeSettled) {
						t.Fatalf("refund notifications %+v", ns)
					}
					var pushed bool
					for _, m := range env.Wechat.SentMessages() {
						pushed = pushed || strings.Contains(m.Page, r.RefundNo)
					}
					if !pushed {
						t.Fatal("no subscribe message about the refund")
					}
				} else {
					tr, ok := env.Alipay.Trade(p.OrderNo)
					if !ok || tr.Refunds != 1 || tr.Refunded != p.AmountFen {
						t.Fatalf("Alipay trade %+v", tr)
					}
				}
				if o := servicetest.OrderRow(t, db, p.OrderNo); models.Fen(o.RefundedFen) != p.AmountFen || o.Status != contrib.OrderRefunded {
					t.Fatalf("order %+v", o)
				}
				if rs := recordStatuses(t, env, sess, models.SchemeFlexiblePension); !strings.HasSuffix(rs, ":refunded") {
					t.Fatalf("records %s", rs)
				}
			})
		})
	}
}

// A bank payout goes only to an account in the name of the person or the
// payer, and only one the bank says is held in that name.
func TestABankRefundGoesOnlyToThePersonsOrThePayersAccount(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env, bank := servicetest.NewEnvWithBank(t, db, nil)
		zhang := servicetest.Person(t, "张三明")
		mother := servicetest.Person(t, "李秀英")
		sess := env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
		m, err := env.Svc.AddFamilyMember(ctx, sess.UserID, people.FamilyInput{Name: mother.Name, IDNumber: mother.IDNumber, Relation: "parent"})
		if err != nil {
			t.Fatal(err)
		}
		mom := people.PersonRef{MemberID: m.MemberID}
		if _, err := env.Svc.CreateEnrolment(ctx, sess.UserID, contrib.EnrolInput{Person: mom, Scheme: models.SchemeResidentMedical, RegionCode: "150100"}); err != nil {
			t.Fatal(err)
		}
		momPaid := servicetest.PayAndCreditFor(t, env, sess, mom, models.SchemeResidentMedical)
		in := refunds.RefundInput{Person: mom, Scheme: models.SchemeResidentMedical, OrderNo: momPaid.OrderNo, RefundFen: 100,
			Reason: models.ReasonPolicy, BankAccount: &models.BankAccount{BankName: "中国银行", AccountName: "王五", AccountNo: "6216610200001111111"}}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); !errors.Is(err, models.ErrBankAccountInvalid) {
			t.Fatalf("a third person's account: %v", err)
		}
		// The bank knows the account as someone else's: the name typed in
		// is not taken on trust.
		bank.SetAccountHolder("6216610200002222222", "王五")
		in.BankAccount = &models.BankAccount{BankName: "中国银行", AccountName: zhang.Name, AccountNo: "6216610200002222222"}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); !errors.Is(err, models.ErrBankAccountName) {
			t.Fatalf("an account the bank says is not the payer's: %v", err)
		}
		if bank.Calls("verify") == 0 {
			t.Fatal("the bank was never asked whose account it is")
		}
		// The payer's own account.
		in.BankAccount = &models.BankAccount{BankName: "中国银行", AccountName: zhang.Name, AccountNo: "6216610200001234567"}
		if _, err := env.Svc.CreateRefund(ctx, sess.UserID, in); err != nil {
			t.Fatalf("the payer's account: %v", err)
		}
	})
}
