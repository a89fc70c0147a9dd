package kernel

import (
	"context"
)

// Cashier pays an order as the payer would at a channel's cashier page.
// Only channels running against an in-process fake have one.
type Cashier interface {
	Pay(ctx context.Context, orderNo string, success bool) error
}
