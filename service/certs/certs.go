package certs

import (
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/people"
)

// Certs is the certificate workflows. It is safe for concurrent use.
type Certs struct {
	*kernel.Kernel
	people *people.People
}

// New returns the certificate workflows on k, checking access through p.
func New(k *kernel.Kernel, p *people.People) *Certs { return &Certs{Kernel: k, people: p} }
