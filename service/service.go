package service

import (
	"github.com/lianban/lianban/service/anomalies"
	"github.com/lianban/lianban/service/certs"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/counters"
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/service/partners"
	"github.com/lianban/lianban/service/payouts"
	"github.com/lianban/lianban/service/people"
	"github.com/lianban/lianban/service/reconcile"
	"github.com/lianban/lianban/service/refunds"
	"github.com/lianban/lianban/service/unitpay"
	"github.com/lianban/lianban/service/unitrefunds"
	"github.com/lianban/lianban/service/units"
	"github.com/lianban/lianban/service/uploads"
)

// Options and Deps are the kernel's: the composition root (cmd/lianban,
// servicetest) builds them here without knowing how the areas are cut.
type (
	Options = kernel.Options
	Deps    = kernel.Deps
	// Cashier and CertificateDeps are Deps field types.
	Cashier         = kernel.Cashier
	CertificateDeps = kernel.CertificateDeps
)

// Defaults returns the production defaults.
func Defaults() Options { return kernel.Defaults() }

// Service is the workflow layer: every area's workflows on one value, for
// the handlers and the workers. It is safe for concurrent use.
type Service struct {
	*kernel.Kernel
	*people.People
	*hall.Hall
	*contrib.Contrib
	*reconcile.Reconciler
	*certs.Certs
	*refunds.Refunds
	*payouts.Payouts
	*anomalies.Queue
	*units.Units
	*uploads.Uploads
	*unitrefunds.UnitRefunds
	*unitpay.UnitPay
	*partners.Partners
	*counters.Counters
}

// New returns a Service with every area wired to the ones below it.
func New(d Deps, opt Options) *Service {
	k := kernel.New(d, opt)
	p := people.New(k)
	h := hall.New(k)
	c := contrib.New(k, p)
	u := units.New(k, p)
	r := refunds.New(k, p, h, c)
	po := payouts.New(k, h, c, r)
	c.UsePayouts(po)
	up := unitpay.New(k, p, c, u)
	return &Service{Kernel: k, People: p, Hall: h, Contrib: c, Reconciler: reconcile.New(k, c), Certs: certs.New(k, p, u, c),
		Refunds: r, Payouts: po, Queue: anomalies.New(k, h), Units: u, UnitPay: up,
		Uploads: uploads.New(k, u), UnitRefunds: unitrefunds.New(k, u, r),
		Partners: partners.New(k, h), Counters: counters.New(k, p, c, up, h)}
}
