package unitpay_test

import (
	"context"
	"testing"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/service/unitpay"
)

// TestAgreementIsNoAccountHolderOracle: a 三方协议 is on the unit's own
// account, so a holder name other than the unit's is refused without
// asking the bank. Otherwise the bank's verdict (or its reasons, which
// differ for a wrong name and for an account of another unit) told anyone
// acting for a unit whether any account is held in any name they guess.
func TestAgreementIsNoAccountHolderOracle(t *testing.T) {
	env, f := sqliteEnv(t)
	ctx := context.Background()
	const victimNo, victimName = "6222020200998877", "呼和浩特某某建材有限公司"
	env.Bank.SetAccount(bankfake.Account{No: victimNo, Name: victimName, USCC: "91150100MA0LB00021"})
	before := env.Bank.Calls("agreement")
	right, err := env.Svc.AddTripartiteAgreement(ctx, f.Rep.UserID, f.UnitID, unitpay.AgreementInput{BankCode: "ICBC", AccountName: victimName, AccountNo: victimNo})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := env.Svc.AddTripartiteAgreement(ctx, f.Rep.UserID, f.UnitID, unitpay.AgreementInput{BankCode: "ICBC", AccountName: "别的名字", AccountNo: victimNo})
	if err != nil {
		t.Fatal(err)
	}
	if right.Status != unitpay.AgreementRefused || right.Status != wrong.Status || right.Reason != wrong.Reason {
		t.Fatalf("a right guess %+v and a wrong one %+v must look the same", right, wrong)
	}
	if n := env.Bank.Calls("agreement") - before; n != 0 {
		t.Fatalf("the bank was asked %d times about an account not in the unit's name", n)
	}
}
