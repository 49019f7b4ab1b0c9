//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package fsys

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalGroup sends sig to every process in the process group pgid, as
// kill(-pgid, sig) does. The error is an *os.SyscallError; ESRCH means
// the group is empty.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		// kill(0) and kill(-1) would signal our own group or every process.
		return os.NewSyscallError("kill", unix.ESRCH)
	}
	return os.NewSyscallError("kill", unix.Kill(-pgid, sig))
}
