package unitpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank"
	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

func sqliteEnv(t *testing.T) (*servicetest.Env, *servicetest.UnitFixture) {
	t.Helper()
	db := storetest.Targets()[0].Open(t)
	env := servicetest.NewEnv(t, db)
	return env, servicetest.NewUnitFixture(t, env)
}

func verifiedAgreement(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture) unitpay.Agreement {
	t.Helper()
	a, err := env.Svc.AddTripartiteAgreement(context.Background(), f.Rep.UserID, f.UnitID,
		unitpay.AgreementInput{BankCode: "ICBC", AccountName: f.Unit.Name, AccountNo: f.AccountNo})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != unitpay.AgreementVerified {
		t.Fatalf("agreement %+v, want verified", a)
	}
	return a
}

func payTripartite(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture, a unitpay.Agreement) unitpay.Payment {
	t.Helper()
	p, created, err := env.Svc.CreateUnitPayment(context.Background(), f.Rep.UserID, f.UnitID,
		unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodTripartite, AgreementID: a.AgreementID})
	if err != nil || !created {
		t.Fatalf("createUnitPayment: created %v, %v", created, err)
	}
	return p
}

func declStatus(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	var d store.UnitDeclarationRow
	if err := db.Gorm.Where("id = ?", id).Take(&d).Error; err != nil {
		t.Fatal(err)
	}
	return d.Status
}

// settledOnce checks the one order of the fixture's declaration is paid,
// with one record per line (unit as payer, the line's amount), and the
// declaration paid.
func settledOnce(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture, orderNo string) {
	t.Helper()
	p, err := env.Svc.GetUnitPayment(context.Background(), f.Rep.UserID, f.UnitID, orderNo)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != contrib.OrderPaid || p.PaidAt == nil {
		t.Fatalf("order %+v, want paid", p)
	}
	if got := declStatus(t, env.DB, f.Decl.ID); got != unitpay.DeclPaid {
		t.Fatalf("declaration %s, want paid", got)
	}
	var recs []store.RecordRow
	if err := env.DB.Gorm.Where("order_no = ?", orderNo).Find(&recs).Error; err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(f.Lines) {
		t.Fatalf("%d records, want %d", len(recs), len(f.Lines))
	}
	byLine := map[string]store.UnitDeclarationLineRow{}
	for _, l := range f.Lines {
		byLine[l.ID] = l
	}
	var sum int64
	for _, r := range recs {
		l, ok := byLine[r.UnitLineID]
		if !ok || r.PersonID != l.PersonID || r.Scheme != l.Scheme || r.AmountFen != l.AmountFen || r.PayerUnitID != f.UnitID || r.Period != servicetest.UnitPeriod {
			t.Fatalf("record %+v does not match its line %+v", r, l)
		}
		sum += r.AmountFen
	}
	if sum != f.Decl.AmountFen || p.AmountFen != models.Fen(f.Decl.AmountFen) {
		t.Fatalf("records sum %d, order %d, declaration %d", sum, p.AmountFen, f.Decl.AmountFen)
	}
}

// creditAndBook runs the settlement workers until the treasury and the
// agency have taken the order.
func creditAndBook(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture, orderNo string) {
	t.Helper()
	ctx := context.Background()
	env.Clock.Advance(10 * time.Second)
	env.Svc.WorkOnce(ctx)
	env.Svc.WorkOnce(ctx)
	p, err := env.Svc.GetUnitPayment(ctx, f.Rep.UserID, f.UnitID, orderNo)
	if err != nil {
		t.Fatal(err)
	}
	if p.RecordsBooked != len(f.Lines) {
		t.Fatalf("payment %+v: want every record booked", p)
	}
	// Each employee sees the months their unit paid, with stage times.
	for i, e := range f.Employees {
		recs, err := env.Svc.ListRecords(ctx, e.UserID, contrib.RecordFilter{Person: servicetest.Self})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			t.Fatalf("employee %d sees no records", i)
		}
		for _, r := range recs {
			if r.OrderNo != orderNo {
				continue
			}
			if r.Status != contrib.RecordBooked || r.CreditedAt == nil || r.BookedAt == nil || r.PayerKind != "unit" || r.PayerMasked != models.MaskName(f.Unit.Name) {
				t.Fatalf("employee %d record %+v", i, r)
			}
		}
	}
}

func TestTripartitePaymentSettlesAtOnceAndReachesBookedRecords(t *testing.T) {
	env, f := sqliteEnv(t)
	a := verifiedAgreement(t, env, f)
	if a.AccountNoMasked == f.AccountNo || a.AccountNoMasked == "" {
		t.Fatalf("account shown as %q", a.AccountNoMasked)
	}
	var row store.TripartiteAgreementRow
	if err := env.DB.Gorm.Where("id = ?", a.AgreementID).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.AccountNoSealed == f.AccountNo || row.AccountNameSealed == f.Unit.Name {
		t.Fatal("account kept in the clear")
	}
	p := payTripartite(t, env, f, a)
	settledOnce(t, env, f, p.OrderNo)
	// The bank's notice of the same debit arrives too: nothing more.
	env.Bank.Renotify(p.DebitNo)
	env.Bank.WaitNotices()
	settledOnce(t, env, f, p.OrderNo)
	if got := env.Bank.DebitedTotal(); got != models.Fen(f.Decl.AmountFen) {
		t.Fatalf("bank debited %d", got)
	}
	creditAndBook(t, env, f, p.OrderNo)
	// What the certificate and refund workflows read: the unit's paid
	// orders and the records with their unit and individual parts.
	orders, err := env.Svc.UnitOrders(context.Background(), f.UnitID, contrib.OrderPaid)
	if err != nil || len(orders) != 1 || orders[0].OrderNo != p.OrderNo {
		t.Fatalf("unit orders %+v %v", orders, err)
	}
	recs, err := env.Svc.UnitRecords(context.Background(), f.UnitID, "", servicetest.UnitPeriod, servicetest.UnitPeriod)
	if err != nil || len(recs) != len(f.Lines) {
		t.Fatalf("unit records %d %v", len(recs), err)
	}
	var unitSum, indSum models.Fen
	for _, r := range recs {
		if r.Status != contrib.RecordBooked || r.UnitFen+r.IndividualFen != r.AmountFen || r.TaxVoucherNo == "" {
			t.Fatalf("unit record %+v", r)
		}
		unitSum, indSum = unitSum+r.UnitFen, indSum+r.IndividualFen
	}
	if unitSum != models.Fen(f.Decl.UnitFen) || indSum != models.Fen(f.Decl.IndividualFen) {
		t.Fatalf("parts %d + %d, declaration %d + %d", unitSum, indSum, f.Decl.UnitFen, f.Decl.IndividualFen)
	}
	// Paid: no second order.
	if _, _, err := env.Svc.CreateUnitPayment(context.Background(), f.Rep.UserID, f.UnitID,
		unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodPOS}); !errors.Is(err, models.ErrDeclarationPaying) {
		t.Fatalf("paying a paid declaration: %v", err)
	}
}

func TestAgreementRefusedOrUnanswered(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	a, err := env.Svc.AddTripartiteAgreement(ctx, f.Rep.UserID, f.UnitID, unitpay.AgreementInput{BankCode: "ICBC", AccountName: "别的公司", AccountNo: f.AccountNo})
	if err != nil || a.Status != unitpay.AgreementRefused || a.Reason == "" {
		t.Fatalf("wrong holder: %+v %v", a, err)
	}
	env.Bank.FailNext("agreement", bankfake.Fault{DropBefore: true})
	if _, err := env.Svc.AddTripartiteAgreement(ctx, f.Rep.UserID, f.UnitID, unitpay.AgreementInput{BankCode: "ICBC", AccountName: f.Unit.Name, AccountNo: f.AccountNo}); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("bank down: %v", err)
	}
	list, err := env.Svc.ListTripartiteAgreements(ctx, f.Rep.UserID, f.UnitID)
	if err != nil || len(list) != 1 {
		t.Fatalf("agreements %+v %v: the unanswered one must not be kept", list, err)
	}
	// A refused agreement cannot be debited.
	if _, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID,
		Method: unitpay.MethodTripartite, AgreementID: a.AgreementID}); !errors.Is(err, models.ErrAgreementNotVerified) {
		t.Fatalf("refused agreement: %v", err)
	}
	// A stranger learns nothing.
	stranger := env.LoginVerified(t, "stranger", "孙小梅", servicetest.Person(t, "孙小梅").IDNumber)
	if _, err := env.Svc.ListTripartiteAgreements(ctx, stranger.UserID, f.UnitID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("stranger: %v", err)
	}
}

func TestALostDebitAnswerStaysPendingUntilTheQuerySettlesIt(t *testing.T) {
	env, f := sqliteEnv(t)
	env.Bank.SetNotifyURL("") // no notices: only the query can tell
	a := verifiedAgreement(t, env, f)
	env.Bank.FailNext("debit", bankfake.Fault{Drop: true})
	p := payTripartite(t, env, f, a)
	if p.Status != contrib.OrderPaying || p.DebitStatus != unitpay.DebitPending {
		t.Fatalf("after a lost answer: %+v", p)
	}
	if got := declStatus(t, env.DB, f.Decl.ID); got != unitpay.DeclPaying {
		t.Fatalf("declaration %s", got)
	}
	// The channel worker leaves unit orders alone; the unit worker asks
	// the bank once the back-off has passed.
	env.Clock.Advance(time.Minute)
	if err := env.Svc.FollowPayingOrders(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := env.Svc.FollowUnitPayments(context.Background()); err != nil {
		t.Fatal(err)
	}
	settledOnce(t, env, f, p.OrderNo)
	if got := env.Bank.DebitedTotal(); got != models.Fen(f.Decl.AmountFen) {
		t.Fatalf("bank debited %d", got)
	}
	creditAndBook(t, env, f, p.OrderNo)
}

func TestARefusedDebitFailsTheOrderAndReopensTheDeclaration(t *testing.T) {
	env, f := sqliteEnv(t)
	a := verifiedAgreement(t, env, f)
	env.Bank.FailNext("debit", bankfake.Fault{Refuse: "INSUFFICIENT_FUNDS"})
	p := payTripartite(t, env, f, a)
	if p.Status != contrib.OrderFailed || p.DebitStatus != unitpay.DebitFailed || p.FailReason == "" {
		t.Fatalf("refused debit: %+v", p)
	}
	if got := declStatus(t, env.DB, f.Decl.ID); got != unitpay.DeclOpen {
		t.Fatalf("declaration %s, want open", got)
	}
	if n := servicetest.Count(t, env.DB, "records", "payer_unit_id = ?", f.UnitID); n != 0 {
		t.Fatalf("%d records of a failed debit", n)
	}
	p2 := payTripartite(t, env, f, a)
	settledOnce(t, env, f, p2.OrderNo)
}

func TestAPendingDebitFailedByTheBankLaterReopensTheDeclaration(t *testing.T) {
	env, f := sqliteEnv(t)
	a := verifiedAgreement(t, env, f)
	env.Bank.FailNext("debit", bankfake.Fault{Processing: true, AfterQueries: 5})
	p := payTripartite(t, env, f, a)
	if p.Status != contrib.OrderPaying {
		t.Fatalf("%+v", p)
	}
	env.Bank.FailNext("debit_query", bankfake.Fault{Refuse: "ACCOUNT_FROZEN"})
	env.Clock.Advance(time.Minute)
	if err := env.Svc.FollowUnitPayments(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.Bank.WaitNotices()
	if got := declStatus(t, env.DB, f.Decl.ID); got != unitpay.DeclOpen {
		t.Fatalf("declaration %s, want open", got)
	}
	got, _ := env.Svc.GetUnitPayment(context.Background(), f.Rep.UserID, f.UnitID, p.OrderNo)
	if got.Status != contrib.OrderFailed {
		t.Fatalf("order %+v", got)
	}
}

// Duplicate notices racing the worker's queries settle the order once.
func TestDuplicateNoticesRacingQueriesSettleOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		f := servicetest.NewUnitFixture(t, env)
		var paid atomic.Int32
		env.Svc.OnPaid = func(context.Context, string) { paid.Add(1) }
		a := verifiedAgreement(t, env, f)
		env.Bank.FailNext("debit", bankfake.Fault{Processing: true, DuplicateNotice: true})
		p := payTripartite(t, env, f, a)
		env.Clock.Advance(time.Minute)
		errs := servicetest.Parallel(8, func(i int) error {
			if i%2 == 0 {
				env.Bank.Renotify(p.DebitNo)
				return nil
			}
			return env.Svc.FollowUnitPayments(context.Background())
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 4; i++ {
			env.Bank.Renotify(p.DebitNo)
		}
		env.Bank.WaitNotices()
		settledOnce(t, env, f, p.OrderNo)
		if n := servicetest.Count(t, db, "notifications", "channel = ? AND order_no = ?", unitpay.MethodTripartite, p.OrderNo); n < 5 {
			t.Fatalf("%d notices recorded: the notices never reached settlement", n)
		}
		if n := paid.Load(); n != 1 {
			t.Fatalf("settled %d times", n)
		}
		if n := servicetest.Count(t, db, "messages", "user_id = ? AND kind = ?", f.Rep.UserID, unitpay.MessageKindUnitPayment); n != 1 {
			t.Fatalf("the legal representative got %d messages", n)
		}
	})
}

func TestTwentySimultaneousUnitPaymentsOpenOneOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		f := servicetest.NewUnitFixture(t, env)
		var mu sync.Mutex
		orders := map[string]bool{}
		created := 0
		errs := servicetest.Parallel(20, func(int) error {
			p, c, err := env.Svc.CreateUnitPayment(context.Background(), f.Rep.UserID, f.UnitID,
				unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
			if err == nil {
				mu.Lock()
				orders[p.OrderNo] = true
				if c {
					created++
				}
				mu.Unlock()
			}
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(orders) != 1 || created != 1 {
			t.Fatalf("%d orders returned, %d created", len(orders), created)
		}
		if n := servicetest.Count(t, db, "orders", "unit_declaration_id = ?", f.Decl.ID); n != 1 {
			t.Fatalf("%d orders stored", n)
		}
		if n := servicetest.Count(t, db, "bank_vouchers", "unit_declaration_id = ?", f.Decl.ID); n != 1 {
			t.Fatalf("%d vouchers stored", n)
		}
	})
}

func TestSimultaneousPaymentConfirmationsSettleOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		env := servicetest.NewEnv(t, db)
		f := servicetest.NewUnitFixture(t, env)
		var paid atomic.Int32
		env.Svc.OnPaid = func(context.Context, string) { paid.Add(1) }
		p, _, err := env.Svc.CreateUnitPayment(context.Background(), f.Rep.UserID, f.UnitID,
			unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
		if err != nil {
			t.Fatal(err)
		}
		errs := servicetest.Parallel(10, func(int) error {
			_, err := env.PayVoucherAtBank(context.Background(), p.VoucherNo)
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		settledOnce(t, env, f, p.OrderNo)
		if n := paid.Load(); n != 1 {
			t.Fatalf("settled %d times", n)
		}
		// The confirmations that lost the race are duplicates, not money
		// "received after the order ended, not booked": that anomaly tells
		// staff to refund money that is in the employees' records.
		if n := servicetest.Count(t, db, "anomalies", "order_no = ?", p.OrderNo); n != 0 {
			t.Fatalf("%d anomalies for an order settled once", n)
		}
	})
}

func TestBankVoucherEndToEndAndExpiry(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	if p.VoucherNo == "" || p.PDFURL == "" || p.VoucherExpiresAt == nil {
		t.Fatalf("voucher payment %+v", p)
	}
	// Issued 2026-11-20 10:00 Beijing: payable until 11-23 23:59:59.
	if want := time.Date(2026, 11, 23, 23, 59, 59, 0, models.Beijing); !p.VoucherExpiresAt.Equal(want) {
		t.Fatalf("expires %s, want %s", p.VoucherExpiresAt, want)
	}
	pdf, no, err := env.Svc.UnitVoucherPDF(ctx, f.Rep.UserID, f.UnitID, p.OrderNo)
	if err != nil || no != p.VoucherNo || len(pdf) < 5 || string(pdf[:5]) != "%PDF-" {
		t.Fatalf("voucher pdf: %v %q", err, no)
	}
	// Expired unpaid: closed, the declaration back to open.
	env.Clock.Advance(4 * 24 * time.Hour)
	env.Svc.WorkOnce(ctx)
	got, _ := env.Svc.GetUnitPayment(ctx, f.Rep.UserID, f.UnitID, p.OrderNo)
	if got.Status != contrib.OrderClosed || declStatus(t, env.DB, f.Decl.ID) != unitpay.DeclOpen {
		t.Fatalf("expired voucher: order %s, declaration %s", got.Status, declStatus(t, env.DB, f.Decl.ID))
	}
	if _, err := env.PayVoucherAtBank(ctx, p.VoucherNo); !errors.Is(err, models.ErrOrderNotPayable) {
		t.Fatalf("paying an expired voucher: %v", err)
	}
	p2, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil || p2.VoucherNo == p.VoucherNo {
		t.Fatalf("new voucher: %+v %v", p2, err)
	}
	if _, err := env.PayVoucherAtBank(ctx, p2.VoucherNo); err != nil {
		t.Fatal(err)
	}
	settledOnce(t, env, f, p2.OrderNo)
	creditAndBook(t, env, f, p2.OrderNo)
}

func TestPOSConfirmationByTheTaxWindowSettlesOnce(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	desk := servicetest.NewHall(t, env)
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodPOS})
	if err != nil || p.Status != contrib.OrderPaying {
		t.Fatalf("%+v %v", p, err)
	}
	// Another method while the POS order is open is refused.
	if _, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher}); !errors.Is(err, models.ErrDeclarationPaying) {
		t.Fatalf("second method: %v", err)
	}
	in := unitpay.POSConfirmInput{POSTxnID: "POS0001", PaidFen: models.Fen(f.Decl.AmountFen)}
	if _, err := env.Svc.ConfirmUnitPOS(ctx, env.Svc.Hall, desk.Si, p.OrderNo, in); !errors.Is(err, models.ErrRoleForbidden) {
		t.Fatalf("si reviewer: %v", err)
	}
	if _, err := env.Svc.ConfirmUnitPOS(ctx, env.Svc.Hall, desk.Tax, p.OrderNo, unitpay.POSConfirmInput{POSTxnID: "POS0001", PaidFen: 1}); !errors.Is(err, models.ErrPaidAmountMismatch) {
		t.Fatalf("wrong amount: %v", err)
	}
	got, err := env.Svc.ConfirmUnitPOS(ctx, env.Svc.Hall, desk.Tax, p.OrderNo, in)
	if err != nil || got.Status != contrib.OrderPaid {
		t.Fatalf("%+v %v", got, err)
	}
	if again, err := env.Svc.ConfirmUnitPOS(ctx, env.Svc.Hall, desk.Tax, p.OrderNo, in); err != nil || again.Status != contrib.OrderPaid {
		t.Fatalf("repeat: %v", err)
	}
	if _, err := env.Svc.ConfirmUnitPOS(ctx, env.Svc.Hall, desk.Tax, p.OrderNo, unitpay.POSConfirmInput{POSTxnID: "POS0002", PaidFen: in.PaidFen}); !errors.Is(err, models.ErrOrderNotPayable) {
		t.Fatalf("second slip: %v", err)
	}
	settledOnce(t, env, f, p.OrderNo)
	if n := servicetest.Count(t, env.DB, "audit_log", "action = ? AND target_id = ?", "unit_payment.pos_confirm", p.OrderNo); n < 3 {
		t.Fatalf("%d audit entries", n)
	}
	creditAndBook(t, env, f, p.OrderNo)
}

// An employee whose month is already paid in the same fund (as a flexible
// worker) is not booked twice; the rest of the order is, and the line is
// an anomaly.
func TestAMonthAlreadyPaidInTheSameFundIsNotBookedTwice(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	first := f.Lines[0]
	if err := env.DB.Gorm.Create(&store.ClaimRow{PersonID: first.PersonID, Scheme: string(models.SchemeFlexiblePension), Period: servicetest.UnitPeriod,
		DeclarationID: "d_elsewhere", State: contrib.ClaimPaid}).Error; err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.PayVoucherAtBank(ctx, p.VoucherNo); err != nil {
		t.Fatal(err)
	}
	if n := servicetest.Count(t, env.DB, "records", "order_no = ?", p.OrderNo); n != int64(len(f.Lines)-1) {
		t.Fatalf("%d records", n)
	}
	if n := servicetest.Count(t, env.DB, "records", "order_no = ? AND unit_line_id = ?", p.OrderNo, first.ID); n != 0 {
		t.Fatal("the already-paid month was booked again")
	}
	if n := servicetest.Count(t, env.DB, "anomalies", "order_no = ? AND kind = ? AND amount_fen = ?", p.OrderNo, "unit_line_already_paid", first.AmountFen); n != 1 {
		t.Fatalf("%d anomalies", n)
	}
	if declStatus(t, env.DB, f.Decl.ID) != unitpay.DeclPaid {
		t.Fatal("declaration not paid")
	}
}

// A genuine notice reporting another amount than the order's is an
// anomaly and settles nothing; the query then settles with the right one.
func TestANoticeWithAnotherAmountIsAnAnomalyNotASettlement(t *testing.T) {
	env, f := sqliteEnv(t)
	env.Bank.SetNotifyURL("")
	a := verifiedAgreement(t, env, f)
	env.Bank.FailNext("debit", bankfake.Fault{Processing: true})
	p := payTripartite(t, env, f, a)
	cfg := env.Bank.Config(time.Second)
	body, _ := json.Marshal(bank.DebitNoticeBody{NoticeID: "N-forged-amount", DebitAnswer: bank.DebitAnswer{DebitNo: p.DebitNo, State: bank.StateSuccess,
		AmountFen: f.Decl.AmountFen - 1, FinishedAt: env.Clock.Now().UTC().Format(time.RFC3339)}})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/bank-debit", bytes.NewReader(body))
	req.Header = bank.SignNotice(cfg.Key, cfg.MerchantID, env.Clock.Now(), "nonce-1", body)
	w := httptest.NewRecorder()
	if res := env.Svc.HandleBankDebitNotice(context.Background(), w, req); res != unitpay.NoticeProcessed || w.Code != 200 {
		t.Fatalf("notice %s %d", res, w.Code)
	}
	got, _ := env.Svc.GetUnitPayment(context.Background(), f.Rep.UserID, f.UnitID, p.OrderNo)
	if got.Status != contrib.OrderPaying {
		t.Fatalf("order %s after a wrong-amount notice", got.Status)
	}
	if n := servicetest.Count(t, env.DB, "anomalies", "order_no = ? AND kind = ?", p.OrderNo, "amount_mismatch"); n != 1 {
		t.Fatalf("%d anomalies", n)
	}
	if n := servicetest.Count(t, env.DB, "records", "order_no = ?", p.OrderNo); n != 0 {
		t.Fatalf("%d records", n)
	}
	// An unsigned notice is rejected.
	req = httptest.NewRequest(http.MethodPost, "/api/v1/notify/bank-debit", bytes.NewReader(body))
	w = httptest.NewRecorder()
	if res := env.Svc.HandleBankDebitNotice(context.Background(), w, req); res != unitpay.NoticeRejected || w.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned notice %s %d", res, w.Code)
	}
	env.Clock.Advance(time.Minute)
	if err := env.Svc.FollowUnitPayments(context.Background()); err != nil {
		t.Fatal(err)
	}
	settledOnce(t, env, f, p.OrderNo)
}

// Verifications are an oracle on account numbers (is this one the unit's?):
// a unit gets a few an hour. Names other than the unit's never reach the
// bank (TestAgreementIsNoAccountHolderOracle).
func TestAgreementVerificationsAreLimitedPerUnit(t *testing.T) {
	env, f := sqliteEnv(t)
	in := unitpay.AgreementInput{BankCode: "ICBC", AccountName: f.Unit.Name, AccountNo: "6222000011112222"}
	for i := 0; i < unitpay.AgreementChecksPerHour; i++ {
		if _, err := env.Svc.AddTripartiteAgreement(context.Background(), f.Rep.UserID, f.UnitID, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Svc.AddTripartiteAgreement(context.Background(), f.Rep.UserID, f.UnitID, in); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("verification %d: %v", unitpay.AgreementChecksPerHour+1, err)
	}
	if n := env.Bank.Calls("agreement"); n != unitpay.AgreementChecksPerHour {
		t.Fatalf("the bank was asked %d times", n)
	}
}

// A flexible worker's own payment of a month their unit already paid into
// the same fund is not booked: it is refunded whole, like any order whose
// months are someone else's.
//
// On every store: the check rides on the claims' update except on
// MariaDB, where it is a read of its own (contrib's bookPaidOrder). A
// unit's month refunded since is no longer paid, and the person's own
// payment of it is booked.
func TestAPersonsOwnPaymentOfAMonthTheirUnitPaidIsNotBooked(t *testing.T) {
	for _, refunded := range []bool{false, true} {
		t.Run(map[bool]string{false: "unit month paid", true: "unit month refunded"}[refunded], func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				env := servicetest.NewEnv(t, db)
				personsOwnPaymentOfAMonthTheirUnitPaid(t, env, servicetest.NewUnitFixture(t, env), refunded)
			})
		})
	}
}

func personsOwnPaymentOfAMonthTheirUnitPaid(t *testing.T, env *servicetest.Env, f *servicetest.UnitFixture, unitRefunded bool) {
	ctx := context.Background()
	me, voucherNo := unitDeclaresNovemberOfTheRep(t, env, f)
	if _, err := env.PayVoucherAtBank(ctx, voucherNo); err != nil {
		t.Fatal(err)
	}
	if unitRefunded {
		if err := env.DB.Gorm.Model(&store.RecordRow{}).Where("person_id = ? AND scheme = ?", me, string(models.SchemeEnterprisePension)).
			Update("status", contrib.RecordRefunded).Error; err != nil {
			t.Fatal(err)
		}
	}
	_, own := servicetest.PensionPaid(t, env) // 张三明 pays November and December himself
	if unitRefunded {
		if n := servicetest.Count(t, env.DB, "records", "order_no = ?", own.OrderNo); n != 2 {
			t.Fatalf("%d records of the person's own order, of the unit's refunded month and the next", n)
		}
		return
	}
	if n := servicetest.Count(t, env.DB, "records", "order_no = ?", own.OrderNo); n != 0 {
		t.Fatalf("%d records of the person's own order", n)
	}
	if n := servicetest.Count(t, env.DB, "records", "person_id = ? AND period = ?", me, "202611"); n != 1 {
		t.Fatalf("%d records of November", n)
	}
	// Refunded whole, for the reason the unit's month gives.
	var r store.RefundRow
	if err := env.DB.Gorm.Where("refund_no = ?", contrib.AutoRefundNo(own.OrderNo)).Take(&r).Error; err != nil {
		t.Fatalf("automatic refund of the person's own order: %v", err)
	}
	if r.RefundFen != int64(own.AmountFen) || !strings.Contains(r.ReasonDetail, "所属期 202611 已由单位缴纳") {
		t.Fatalf("automatic refund %d fen of %d, %q", r.RefundFen, own.AmountFen, r.ReasonDetail)
	}
}

// A correction declaration's line for an employee whose month another
// unit has paid into the same fund is not booked: a correction is how a
// unit declares someone it took on after confirming the month (the other
// unit having ended them with that month since), and its lines used to
// skip the month's claim, so the employee was credited twice for one
// fund-month, once by each unit.
func TestACorrectionLineForAMonthAnotherUnitPaidIsNotBookedTwice(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.PayVoucherAtBank(ctx, p.VoucherNo); err != nil {
		t.Fatal(err)
	}
	x := f.Lines[0]
	other := servicetest.NewPaidUnit(t, env, "li", "李秀英", "91150100MA0LB0012X", "内蒙古另一家有限公司")
	now := env.Clock.Now().UTC()
	corr := store.UnitDeclarationRow{ID: "ud_corr", UnitID: other.Unit.ID, Period: servicetest.UnitPeriod, Seq: 1, Status: unitpay.DeclOpen,
		AmountFen: 30000, UnitFen: 20000, IndividualFen: 10000, Headcount: 1, CreatedBy: other.Rep.UserID, CreatedAt: now, UpdatedAt: now}
	line := store.UnitDeclarationLineRow{ID: "udl_corr", DeclarationID: corr.ID, EmployeeID: "ue_corr", PersonID: x.PersonID, Scheme: x.Scheme,
		RegionCode: x.RegionCode, BaseFen: x.BaseFen, UnitFen: 20000, IndividualFen: 10000, AmountFen: 30000}
	if err := env.DB.Gorm.Create(&corr).Error; err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Gorm.Create(&line).Error; err != nil {
		t.Fatal(err)
	}
	q, _, err := env.Svc.CreateUnitPayment(ctx, other.Rep.UserID, other.Unit.ID, unitpay.PaymentInput{DeclarationID: corr.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.PayVoucherAtBank(ctx, q.VoucherNo); err != nil {
		t.Fatal(err)
	}
	if n := servicetest.Count(t, env.DB, "records", "person_id = ? AND scheme = ? AND period = ? AND payer_unit_id = ?",
		x.PersonID, x.Scheme, servicetest.UnitPeriod, other.Unit.ID); n != 0 {
		t.Fatalf("%d records of the other unit for a month the first unit paid", n)
	}
	if n := servicetest.Count(t, env.DB, "anomalies", "order_no = ? AND kind = ? AND amount_fen = ?", q.OrderNo, "unit_line_already_paid", line.AmountFen); n != 1 {
		t.Fatalf("%d anomalies for the skipped line", n)
	}
}

// The hall's POS slip is money taken: a confirmation that reaches us after
// the worker closed the waiting order (past its expiry) still settles it,
// as a channel payment reported after the close does. It used to be
// refused, and the unit's money taken at the counter was recorded nowhere.
func TestAPOSConfirmationAfterTheOrderClosedStillSettlesIt(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	desk := servicetest.NewHall(t, env)
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodPOS})
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Duration(unitpay.VoucherDays+2) * 24 * time.Hour)
	if err := env.Svc.FollowUnitPayments(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := env.Svc.GetUnitPayment(ctx, f.Rep.UserID, f.UnitID, p.OrderNo); got.Status != contrib.OrderClosed {
		t.Fatalf("order %s, want closed", got.Status)
	}
	got, err := env.Svc.ConfirmUnitPOS(ctx, env.Svc.Hall, desk.Tax, p.OrderNo, unitpay.POSConfirmInput{POSTxnID: "POS0009", PaidFen: models.Fen(f.Decl.AmountFen)})
	if err != nil || got.Status != contrib.OrderPaid {
		t.Fatalf("%+v %v", got, err)
	}
	settledOnce(t, env, f, p.OrderNo)
}

// A debit the bank reported failed and later reports successful has taken
// the unit's money. With the declaration still the unit's to pay (as the
// failure left it) the order settles and books it, staff are told the bank
// changed its answer, and the order is never left failed with the money
// recorded only in an anomaly that no refund path could reach.
func TestADebitFailedThenReportedSuccessfulSettlesTheOrder(t *testing.T) {
	env, f := sqliteEnv(t)
	env.Bank.SetNotifyURL("")
	a := verifiedAgreement(t, env, f)
	env.Bank.FailNext("debit", bankfake.Fault{Refuse: "INSUFFICIENT_FUNDS"})
	p := payTripartite(t, env, f, a)
	if p.Status != contrib.OrderFailed {
		t.Fatalf("%+v", p)
	}
	cfg := env.Bank.Config(time.Second)
	body, _ := json.Marshal(bank.DebitNoticeBody{NoticeID: "N-late-success", DebitAnswer: bank.DebitAnswer{DebitNo: p.DebitNo, State: bank.StateSuccess,
		AmountFen: f.Decl.AmountFen, FinishedAt: env.Clock.Now().UTC().Format(time.RFC3339)}})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/notify/bank-debit", bytes.NewReader(body))
	req.Header = bank.SignNotice(cfg.Key, cfg.MerchantID, env.Clock.Now(), "nonce-late", body)
	w := httptest.NewRecorder()
	if res := env.Svc.HandleBankDebitNotice(context.Background(), w, req); res != unitpay.NoticeProcessed || w.Code != 200 {
		t.Fatalf("notice %s %d", res, w.Code)
	}
	settledOnce(t, env, f, p.OrderNo)
	got, _ := env.Svc.GetUnitPayment(context.Background(), f.Rep.UserID, f.UnitID, p.OrderNo)
	if got.DebitStatus != unitpay.DebitSuccess {
		t.Fatalf("debit %s", got.DebitStatus)
	}
	if n := servicetest.Count(t, env.DB, "anomalies", "order_no = ? AND kind = ?", p.OrderNo, "paid_after_final"); n != 1 {
		t.Fatalf("%d anomalies telling staff the bank changed its answer", n)
	}
}

// A flexible worker's order still paying for a month is not a month paid:
// the unit's line is booked. It used to be skipped for good (the unit
// cannot declare the line again) and, when the worker's order then closed
// unpaid, the employee's month was credited by nobody; had the worker
// paid instead, their order is unbookable and refunded whole through its
// channel.
func TestAFlexibleOrderStillPayingDoesNotKeepTheUnitsMonthFromTheEmployee(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	first := f.Lines[0]
	if err := env.DB.Gorm.Create(&store.ClaimRow{PersonID: first.PersonID, Scheme: string(models.SchemeFlexiblePension), Period: servicetest.UnitPeriod,
		DeclarationID: "d_paying", State: contrib.ClaimPaying}).Error; err != nil {
		t.Fatal(err)
	}
	p, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.PayVoucherAtBank(ctx, p.VoucherNo); err != nil {
		t.Fatal(err)
	}
	settledOnce(t, env, f, p.OrderNo)
}
