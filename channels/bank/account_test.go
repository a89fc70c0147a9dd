package bank_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
)

// A refund goes only to an account the bank says is held in the name it is
// paid to; an answer the bank did not sign, or none, is never a yes.
func TestAccountNameVerificationSaysWhoseAccountItIs(t *testing.T) {
	ctx := context.Background()
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	f.SetAccountHolder("6222020200112233445", "张三明")
	if err := c.VerifyAccountName(ctx, "张三明", "6222020200112233445"); err != nil {
		t.Fatalf("the holder's own name: %v", err)
	}
	if err := c.VerifyAccountName(ctx, "赵海峰", "6222020200112233445"); !errors.Is(err, models.ErrBankAccountName) {
		t.Fatalf("another name: %v", err)
	}
	f.FailNext("verify", bankfake.Fault{BadSignature: true})
	if err := c.VerifyAccountName(ctx, "张三明", "6222020200112233445"); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("an unsigned answer: %v", err)
	}
	f.FailNext("verify", bankfake.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"})
	if err := c.VerifyAccountName(ctx, "张三明", "6222020200112233445"); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("a proxy's error page: %v", err)
	}
	if err := c.VerifyAccountName(ctx, "", "6222020200112233445"); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("no name: %v", err)
	}
	if f.Calls("verify") != 4 {
		t.Fatalf("%d verify calls", f.Calls("verify"))
	}
}
