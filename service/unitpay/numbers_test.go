package unitpay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lianban/lianban/service"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/servicetest"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// TestAVoucherNumberAlreadyDrawnIsDrawnAgain: two units paying by bank
// voucher in the same second can draw the same six random digits. The
// second payment used to fail with a 500 (the voucher number is the
// table's key). It now draws again, and its attempt that met the taken
// number left nothing behind: one order for the declaration, its voucher
// under a number of its own.
func TestAVoucherNumberAlreadyDrawnIsDrawnAgain(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		const taken = "BV20261120100000424242"
		env, f, draws := collidingUnit(t, db, "BV", taken)
		ctx := context.Background()
		in := unitpay.PaymentInput{DeclarationID: f.Decl.ID, Method: unitpay.MethodBankVoucher}
		first, _, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, in)
		if err != nil || first.VoucherNo != taken {
			t.Fatalf("first voucher: %+v %v", first, err)
		}
		// The voucher expires unpaid; the declaration is open again and a
		// second voucher is drawn, meeting the first one's number.
		env.Clock.Advance(4 * 24 * time.Hour)
		env.Svc.WorkOnce(ctx)
		if s := declStatus(t, env.DB, f.Decl.ID); s != unitpay.DeclOpen {
			t.Fatalf("declaration %s after the voucher expired, want open", s)
		}
		second, created, err := env.Svc.CreateUnitPayment(ctx, f.Rep.UserID, f.UnitID, in)
		if err != nil || !created {
			t.Fatalf("second voucher: created %v, %v", created, err)
		}
		if second.VoucherNo == taken || second.VoucherNo == "" || *draws != 3 {
			t.Fatalf("second voucher %q after %d draws, want a number of its own on the third", second.VoucherNo, *draws)
		}
		var orders, vouchers int64
		if err := db.Gorm.Model(&store.OrderRow{}).Where("unit_declaration_id = ? AND status = ?", f.Decl.ID, "paying").Count(&orders).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Model(&store.BankVoucherRow{}).Where("unit_declaration_id = ?", f.Decl.ID).Count(&vouchers).Error; err != nil {
			t.Fatal(err)
		}
		if orders != 1 || vouchers != 2 {
			t.Fatalf("%d paying orders and %d vouchers for the declaration, want 1 and 2 (the expired one and the new)", orders, vouchers)
		}
		if _, err := env.PayVoucherAtBank(ctx, second.VoucherNo); err != nil {
			t.Fatal(err)
		}
		settledOnce(t, env, f, second.OrderNo)
	})
}

// TestAnAgreementNumberAlreadyHeldIsNeverSentToTheBank: an agreement's
// number goes to the bank before the agreement is stored, so a number
// another agreement holds must be drawn again before the bank hears it,
// not found out at the insert (a 500, and the bank told one number for
// two agreements).
func TestAnAgreementNumberAlreadyHeldIsNeverSentToTheBank(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		const taken = "TA20261120100000424242"
		env, f, draws := collidingUnit(t, db, "TA", taken)
		first := verifiedAgreement(t, env, f)
		second := verifiedAgreement(t, env, f)
		var nos []string
		if err := db.Gorm.Model(&store.TripartiteAgreementRow{}).Where("unit_id = ?", f.UnitID).Order("agreement_no").
			Pluck("agreement_no", &nos).Error; err != nil {
			t.Fatal(err)
		}
		if first.AgreementID == second.AgreementID || len(nos) != 2 || nos[0] == nos[1] || *draws != 3 ||
			(nos[0] != taken && nos[1] != taken) {
			t.Fatalf("agreement numbers %v after %d draws, want %s and a number of its own drawn third", nos, *draws, taken)
		}
	})
}

// collidingUnit is a unit fixture whose service hands out taken for the
// first two draws of prefix (the first row's, then the next row's first
// draw) and random numbers otherwise; draws counts prefix's draws.
func collidingUnit(t *testing.T, db *store.DB, prefix, taken string) (*servicetest.Env, *servicetest.UnitFixture, *int) {
	t.Helper()
	var mu sync.Mutex
	draws := new(int)
	env := servicetest.NewEnvWith(t, db, func(d *service.Deps, _ *service.Options) {
		d.Numbers = func(p string, at time.Time, n int) string {
			if p != prefix {
				return kernel.NewNumber(p, at, n)
			}
			mu.Lock()
			defer mu.Unlock()
			*draws++
			if *draws <= 2 {
				return taken
			}
			return kernel.NewNumber(p, at, n)
		}
	})
	return env, servicetest.NewUnitFixture(t, env), draws
}
