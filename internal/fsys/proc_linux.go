package fsys

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// GroupAttr returns the attributes that start a child process as the
// leader of a process group of its own: SignalGroup then reaches every
// process the child starts, and a terminal's Ctrl-C, which goes to the
// foreground group, reaches it only through its parent.
//
// With dieWithParent, Linux also kills the child with SIGKILL when its
// parent dies (PR_SET_PDEATHSIG), however the parent dies. The kernel
// sends it when the thread that started the child exits, not the
// process (golang.org/issue/27505); the Go runtime ends a thread only
// when a goroutine locked to it with runtime.LockOSThread returns without
// unlocking, so the caller must not start the child from such a
// goroutine. The signal reaches the child alone, not the processes it
// started.
func GroupAttr(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}

// GroupExists reports whether the process group pgid has a process left
// in it that runs: a zombie does not count. kill(-pgid, 0) alone counts
// zombies, and a process whose parent died stays one until init reaps it,
// which some inits (in containers, notably) do late or never; the
// processes of /proc that are in the group say which are zombies.
func GroupExists(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	if err := unix.Kill(-pgid, 0); err != nil && err != unix.EPERM {
		return false
	}
	d, err := os.Open("/proc")
	if err != nil {
		return true
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return true
	}
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone since
		}
		// "pid (comm) state ppid pgrp ...": comm may hold anything,
		// ')' included, so the fields are counted from its last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 3 || string(f[0]) == "Z" {
			continue
		}
		if g, err := strconv.Atoi(string(f[2])); err == nil && g == pgid {
			return true
		}
	}
	return false
}
