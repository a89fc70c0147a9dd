package anomalies

import (
	"github.com/lianban/lianban/service/hall"
	"github.com/lianban/lianban/service/kernel"
)

// Queue is the staff's queue of anomalies: money facts that did not fit a
// workflow, and what the system did about them. It is safe for concurrent
// use.
type Queue struct {
	*kernel.Kernel
	hall *hall.Hall
}

// New returns the anomaly queue on k.
func New(k *kernel.Kernel, h *hall.Hall) *Queue { return &Queue{Kernel: k, hall: h} }
