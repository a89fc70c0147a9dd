package servicetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/store"
	"github.com/pquerna/otp/totp"
)

// The sandbox hall's accounts (API.md): every one with this password and
// TOTP secret.
const (
	HallPassword = "sandbox-password"
	HallTOTP     = "JBSWY3DPEHPK3PXP"
)

// HallMeta is where staff in the tests sign in from.
var HallMeta = kernel.RequestMeta{ClientIP: "10.1.2.3", PeerIP: "127.0.0.1", RequestID: "test-request"}

// SeedHall creates the hall's staff accounts the tests sign in as.
func SeedHall(t *testing.T, env *Env) {
	t.Helper()
	for _, a := range []struct {
		name string
		role models.StaffRole
	}{{"tax1", models.RoleTaxWindow}, {"si1", models.RoleSIReviewer}, {"mi1", models.RoleMIReviewer}, {"admin1", models.RoleAdmin}, {"auditor1", models.RoleAuditor}} {
		if err := env.Svc.SeedStaffAccount(context.Background(), a.name, a.role, HallPassword, HallTOTP); err != nil {
			t.Fatal(err)
		}
	}
}

// StaffLogin logs a hall account in with a code of the test clock's
// current step and returns the actor its session authenticates as.
func StaffLogin(t *testing.T, env *Env, username string) kernel.StaffActor {
	t.Helper()
	ctx := context.Background()
	code, err := totp.GenerateCode(HallTOTP, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Svc.LoginStaff(ctx, hall.StaffLoginInput{Username: username, Password: HallPassword, TOTP: code}, HallMeta)
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	a, err := env.Svc.AuthenticateStaff(ctx, res.Token, HallMeta)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// StaffDesk is one signed-in actor per staff role.
type StaffDesk struct{ Tax, Si, Mi, Admin, Auditor kernel.StaffActor }

// NewHall seeds the hall and signs every role in.
func NewHall(t *testing.T, env *Env) StaffDesk {
	t.Helper()
	SeedHall(t, env)
	return StaffDesk{Tax: StaffLogin(t, env, "tax1"), Si: StaffLogin(t, env, "si1"), Mi: StaffLogin(t, env, "mi1"),
		Admin: StaffLogin(t, env, "admin1"), Auditor: StaffLogin(t, env, "auditor1")}
}

// Self is the caller as the person of a request.
var Self = people.PersonRef{Self: true}

// PayAndCredit declares and pays every open month of a scheme's payable
// through the sandbox and lets the treasury credit it (入库).
func PayAndCredit(t *testing.T, env *Env, sess people.Session, scheme models.Scheme) contrib.Payment {
	t.Helper()
	return PayAndCreditFor(t, env, sess, Self, scheme)
}

// PayAndCreditFor declares and pays scheme's first payable for who in the
// sandbox and runs the workers once, so the payment is settled and moving
// on to the treasury.
func PayAndCreditFor(t *testing.T, env *Env, sess people.Session, who people.PersonRef, scheme models.Scheme) contrib.Payment {
	t.Helper()
	p := PaidFor(t, env, sess, who, scheme)
	env.Clock.Advance(3 * time.Second)
	env.Svc.WorkOnce(context.Background())
	return p
}

// PaidFor declares and pays scheme's first payable for who in the
// sandbox: settled, not yet asked about at the treasury.
func PaidFor(t *testing.T, env *Env, sess people.Session, who people.PersonRef, scheme models.Scheme) contrib.Payment {
	t.Helper()
	ctx := context.Background()
	pbs, err := env.Svc.QueryPayables(ctx, sess.UserID, who)
	if err != nil {
		t.Fatal(err)
	}
	var pb *contrib.Payable
	for i := range pbs {
		if pbs[i].Scheme == scheme {
			pb = &pbs[i]
		}
	}
	if pb == nil || len(pb.Options) == 0 {
		t.Fatalf("no payable for %s: %+v", scheme, pbs)
	}
	option := pb.Options[0].Code
	if scheme == models.SchemeFlexiblePension {
		option = "grade_60"
	}
	d, err := env.Svc.CreateDeclaration(ctx, sess.UserID, contrib.DeclareInput{PayableID: pb.PayableID, OptionCode: option})
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
	return p
}

// PensionPaid is 张三明 with November and December 2026 of his pension
// paid (2 × 981.40 元) and credited.
func PensionPaid(t *testing.T, env *Env) (people.Session, contrib.Payment) {
	t.Helper()
	j := StartJourney(t, env)
	return j.Sess, PayAndCredit(t, env, j.Sess, models.SchemeFlexiblePension)
}

// Apply files a refund application (reason overpaid and the caller's own
// person unless in says otherwise), failing t on error.
func Apply(t *testing.T, env *Env, sess people.Session, in refunds.RefundInput) refunds.Refund {
	t.Helper()
	if in.Reason == "" {
		in.Reason = models.ReasonOverpaid
	}
	if in.Person == (people.PersonRef{}) {
		in.Person = Self
	}
	r, err := env.Svc.CreateRefund(context.Background(), sess.UserID, in)
	if err != nil {
		t.Fatalf("createRefund: %v", err)
	}
	return r
}

// ApplicantView reads an application as its applicant.
func ApplicantView(t *testing.T, env *Env, sess people.Session, no string) refunds.Refund {
	t.Helper()
	r, err := env.Svc.GetRefund(context.Background(), sess.UserID, no)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// OrderRow loads an order row.
func OrderRow(t *testing.T, db *store.DB, orderNo string) store.OrderRow {
	t.Helper()
	var o store.OrderRow
	if err := db.Gorm.Where("order_no = ?", orderNo).Take(&o).Error; err != nil {
		t.Fatal(err)
	}
	return o
}

// NewEnvWith is NewEnv with deps adjusted.
func NewEnvWith(t *testing.T, db *store.DB, mutate func(*service.Deps, *service.Options)) *Env {
	t.Helper()
	var env *Env
	srv := newNotifyServer(t, &env)
	env = New(t, db, Config{PublicURL: srv, Mutate: mutate})
	return env
}

// NewEnvWithBank is NewEnvWith whose partner bank is a fake of the test's
// own (bank transfers for refunds); mutate, when not nil, changes the
// deps and options further.
func NewEnvWithBank(t *testing.T, db *store.DB, mutate func(*service.Deps, *service.Options)) (*Env, *bankfake.Server) {
	t.Helper()
	var bank *bankfake.Server
	env := NewEnvWith(t, db, func(d *service.Deps, o *service.Options) {
		bank = bankfake.NewForTest(t, nil)
		d.Bank = bank.Client()
		if mutate != nil {
			mutate(d, o)
		}
	})
	return env, bank
}

// Approved files an application for the whole pension order and takes it
// through acceptance and 社保's approval.
func Approved(t *testing.T, env *Env, h StaffDesk, sess people.Session, p contrib.Payment, bankAcct *models.BankAccount) refunds.Refund {
	t.Helper()
	ctx := context.Background()
	r := Apply(t, env, sess, refunds.RefundInput{Scheme: p.Scheme, OrderNo: p.OrderNo, RefundFen: p.AmountFen, BankAccount: bankAcct})
	if _, err := env.Svc.AcceptRefund(ctx, h.Tax, r.RefundNo); err != nil {
		t.Fatal(err)
	}
	yes := true
	reviewer := h.Si
	if p.Scheme.Department() == models.DeptMedicalInsurance {
		reviewer = h.Mi
	}
	if _, err := env.Svc.ReviewRefund(ctx, reviewer, r.RefundNo, refunds.ReviewInput{Approve: &yes}); err != nil {
		t.Fatal(err)
	}
	return r
}

// SomeAccount is a bank account in the name of the tests' payer.
var SomeAccount = &models.BankAccount{BankName: "中国银行", AccountName: "张三明", AccountNo: "6216610200001234567"}

// newNotifyServer serves the sandbox's notifications to *env's service.
func newNotifyServer(t *testing.T, env **Env) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = (*env).Svc.HandleNotification(r.Context(), models.ChannelSandbox, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
