//go:build (faults || soak) && !linux

package faults

import "os/exec"

// dieWithTest does nothing where the kernel cannot tie a child's life to
// its parent's.
func dieWithTest(*exec.Cmd) {}
