//go:build unix && !linux

package bench

import (
	"fmt"
	"runtime"
	"syscall"
)

// workerAttr puts a worker in a process group of its own, so that a ^C
// reaches only pubsub bench, which stops the workers and removes the
// home. Only Linux can also have a worker killed when pubsub bench dies
// (Pdeathsig).
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// onTmpfs reports whether the directory path is on tmpfs: told only on
// Linux, by the file system's magic number.
func onTmpfs(string) bool { return false }

// errNoTmpfile is the tmpfile floor's error outside Linux.
var errNoTmpfile = fmt.Errorf("the tmpfile floor stages files with O_TMPFILE, which %s does not have", runtime.GOOS)

// openStaging fails: see errNoTmpfile.
func openStaging(string) (int, error) { return -1, errNoTmpfile }

// stageTmpfile fails: see errNoTmpfile.
func stageTmpfile(_, _ int, _ string, _ []byte) error { return errNoTmpfile }
