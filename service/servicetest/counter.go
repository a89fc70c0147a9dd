package servicetest

import (
	"context"

	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/kernel"
)

// TestBank is the partner bank whose counter pays vouchers in the tests:
// what the signature middleware would put on its requests.
var TestBank = kernel.PartnerActor{PartnerID: "test-bank", Name: "测试银行", KeyID: "test-bank-key-1",
	Channels: []string{counters.ChannelBankCounter}}

// PayVoucherAtBank pays a unit's 银行端凭证 in full at TestBank's counter,
// as a partner terminal does through /partner/v1: open the voucher's order
// and confirm it. Transaction ids derive from the voucher number, so a
// second call is the bank retrying (the same answer), never a second
// payment.
func (e *Env) PayVoucherAtBank(ctx context.Context, voucherNo string) (counters.Order, error) {
	o, _, err := e.Svc.PartnerCreateOrder(ctx, TestBank, counters.CreateOrderInput{VoucherNo: voucherNo,
		PartnerTxnID: "T-" + voucherNo, TerminalID: "TEST-01", Channel: counters.ChannelBankCounter})
	if err != nil {
		return counters.Order{}, err
	}
	return e.Svc.PartnerConfirmOrder(ctx, TestBank, o.OrderNo, counters.ConfirmInput{PartnerTxnID: "C-" + voucherNo,
		PaidFen: o.AmountFen, PaidAt: e.Clock.Now()})
}
