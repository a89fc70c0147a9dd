package kernel

import (
	"context"
	"net/http"
)

// Cashier pays an order as the payer would at a channel's cashier page.
// Only channels running against an in-process fake have one.
type Cashier interface {
	Pay(ctx context.Context, orderNo string, success bool) error
}

// HoldingCashier is a Cashier that can also pay an order and hand back
// the signed notification instead of delivering it (the sandbox's own
// channel): the caller delivers it to NotifyURL itself.
type HoldingCashier interface {
	Cashier
	PayHeld(orderNo string) (http.Header, []byte, error)
	NotifyURL() string
}
