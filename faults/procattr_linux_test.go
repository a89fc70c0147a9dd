//go:build (faults || soak) && linux

package faults

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes a child (an instance, redis-server) die with the test
// binary, so a run killed by its timeout leaves no server behind.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
