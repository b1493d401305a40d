package bench

import "syscall"

// childProcAttr puts a child in its own process group, so that a Ctrl-C
// on the terminal reaches only this process, which then stops its children
// itself, and has the kernel kill the child should this process die
// without doing so.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
