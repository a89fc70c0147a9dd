package reconcile

import (
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
)

// Reconciler checks the channels' daily bills against our orders. It is
// safe for concurrent use.
type Reconciler struct {
	*kernel.Kernel
	contrib *contrib.Contrib
}

// New returns the reconciliation on k, settling through c what a bill
// shows paid and we do not.
func New(k *kernel.Kernel, c *contrib.Contrib) *Reconciler { return &Reconciler{Kernel: k, contrib: c} }
