package people

import "github.com/lianban/lianban/service/kernel"

// People is the workflows of users and the people they act for. It is safe
// for concurrent use.
type People struct {
	*kernel.Kernel
	decoded *sessionMemo
}

// New returns the people workflows on k.
func New(k *kernel.Kernel) *People {
	return &People{Kernel: k, decoded: newSessionMemo(sessionMemoSize)}
}
