package hall

import "github.com/lianban/lianban/service/kernel"

// Hall is the workflows of the staff at the service hall: their accounts,
// logins and permissions, and the audit log. It is safe for concurrent use.
type Hall struct {
	*kernel.Kernel
}

// New returns the hall workflows on k.
func New(k *kernel.Kernel) *Hall { return &Hall{Kernel: k} }
