//go:build (faults || soak) && !linux

package faults

import (
	"errors"
	"os/exec"
)

// dieWithTest does nothing where the kernel cannot tie a child's life to
// its parent's.
func dieWithTest(*exec.Cmd) {}

// processSetting cannot read another process's environment here.
func processSetting(int, string) (string, bool, error) {
	return "", false, errors.ErrUnsupported
}
