package certs

import (
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/units"
)

// Certs is the certificate workflows. It is safe for concurrent use.
type Certs struct {
	*kernel.Kernel
	people  *people.People
	units   *units.Units
	contrib *contrib.Contrib
}

// New returns the certificate workflows on k, checking access to people
// through p and to units through u; a tax certificate asks the treasury
// about months still waiting through c.
func New(k *kernel.Kernel, p *people.People, u *units.Units, c *contrib.Contrib) *Certs {
	return &Certs{Kernel: k, people: p, units: u, contrib: c}
}
