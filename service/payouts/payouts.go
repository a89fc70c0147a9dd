package payouts

import (
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/refunds"
)

// Payouts is the money of refunds going back: through the original
// channel or by bank, abnormal payouts, refund notifications and the
// automatic refund of paid orders that cannot be booked. It is safe for
// concurrent use.
type Payouts struct {
	*kernel.Kernel
	hall    *hall.Hall
	contrib *contrib.Contrib
	refunds *refunds.Refunds
}

// New returns the payout workflows on k.
func New(k *kernel.Kernel, h *hall.Hall, c *contrib.Contrib, r *refunds.Refunds) *Payouts {
	return &Payouts{Kernel: k, hall: h, contrib: c, refunds: r}
}
