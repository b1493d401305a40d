//go:build !unix

package childproc

import "syscall"

// sysProcAttr is the default: there are no process groups here.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup does nothing: there are no process groups here.
func killGroup(int) {}
