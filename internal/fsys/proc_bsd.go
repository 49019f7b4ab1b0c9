//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package fsys

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// GroupAttr returns the attributes that start a child process as the
// leader of a process group of its own: SignalGroup then reaches every
// process the child starts, and a terminal's Ctrl-C, which goes to the
// foreground group, reaches it only through its parent.
//
// dieWithParent asks for what Linux's PR_SET_PDEATHSIG does; these
// systems have nothing like it that os/exec can set (FreeBSD's
// PROC_PDEATHSIG_CTL must be called by the child), so the caller must see
// to it another way.
func GroupAttr(dieWithParent bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// GroupExists reports whether the process group pgid has a process left
// in it, which may be a zombie: these systems have no /proc to tell.
func GroupExists(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := unix.Kill(-pgid, 0)
	return err == nil || err == unix.EPERM
}
