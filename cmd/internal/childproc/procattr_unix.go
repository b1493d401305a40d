//go:build unix && !linux

package childproc

import "syscall"

// sysProcAttr puts a child in its own process group (a Ctrl-C on the
// terminal reaches only the parent, which then stops its children itself).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup SIGKILLs the process group a child leads: its own children.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
