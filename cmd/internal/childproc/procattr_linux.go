package childproc

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C on
// the terminal reaches only the parent, which then stops its children
// itself, and has the kernel kill the child should the parent die without
// doing so.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup SIGKILLs the process group a child leads: its own children.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
