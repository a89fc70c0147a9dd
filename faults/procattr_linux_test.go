//go:build (faults || soak) && linux

package faults

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// dieWithTest makes a child (an instance, redis-server) die with the test
// binary, so a run killed by its timeout leaves no server behind.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// processSetting is the value of key in the environment a live process
// was started with, as the kernel holds it: what the instance really got.
func processSetting(pid int, key string) (string, bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return "", false, err
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true, nil
		}
	}
	return "", false, nil
}
