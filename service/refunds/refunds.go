package refunds

import (
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
)

// Refunds is the refund applications: filed by payers or insured people,
// moved by the hall's staff. It is safe for concurrent use.
type Refunds struct {
	*kernel.Kernel
	people  *people.People
	hall    *hall.Hall
	contrib *contrib.Contrib
}

// New returns the refund workflows on k.
func New(k *kernel.Kernel, p *people.People, h *hall.Hall, c *contrib.Contrib) *Refunds {
	return &Refunds{Kernel: k, people: p, hall: h, contrib: c}
}
