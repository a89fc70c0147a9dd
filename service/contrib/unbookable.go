package contrib

import (
	"strings"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
)

// An order paid that cannot be booked — its declaration was paid by
// another order, or its months were taken by another payment after it was
// closed (an Alipay H5 URL paid after the payer switched to WeChat) — is
// still paid: the money is ours until it goes back. It used to be left paid
// with no records and only an anomaly nobody read. Now the settlement that
// finds it so opens, in the same transaction, a refund of the whole order
// through its original channel: an application the system files for the
// payer, already refunding, with one payout under a number derived from
// the order (so it is made at most once, whoever settles the order), the
// payer is told, and an anomaly says what the system did. The payout then
// follows the ordinary path: sent now, confirmed by the answer, the
// notification or the worker; a failed one is paid by bank by the tax
// window like any other.

// UnbookableError says a paid order cannot be booked, and why (for
// people). A booking step returns it to have settlement refund the order
// whole instead (AutoRefunder).
type UnbookableError struct{ Why string }

func (e UnbookableError) Error() string { return "order cannot be booked: " + e.Why }

// autoRefundPrefix starts the number of an automatic refund; the rest is
// the order number without its own prefix, so each order has one.
const autoRefundPrefix = "TZ"

// AutoRefundNo is the fixed number of an order's automatic refund.
func AutoRefundNo(orderNo string) string {
	return autoRefundPrefix + strings.TrimPrefix(orderNo, "LB")
}

// IsAutoRefund reports whether an application is an automatic refund.
func IsAutoRefund(refundNo string) bool { return strings.HasPrefix(refundNo, autoRefundPrefix) }

// AutoRefund is what to do after the settlement commits: send the payout
// and the payer's message.
type AutoRefund struct {
	Payout store.RefundPayoutRow
	Push   kernel.PendingPush
}
