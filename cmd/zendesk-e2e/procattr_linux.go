package main

import "syscall"

// childProcAttr puts a child in its own process group (a Ctrl-C on the
// terminal reaches the runner, which then stops the children itself) and
// has the kernel kill it should the runner die without cleaning up.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
