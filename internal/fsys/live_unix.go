//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package fsys

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// ProcessAlive reports whether a process with this pid exists. EPERM means
// it exists but belongs to another user: it is alive (formix-pubsub treats
// it as dead).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// Lock creates (or opens) the file name in dirfd and takes an exclusive
// flock on it for as long as the returned descriptor stays open. The kernel
// drops the lock when the process dies, which, unlike a pid, cannot be
// inherited by an unrelated process that reuses the number.
func Lock(dirfd int, name string, mode uint32) (int, error) {
	fd, err := openat(dirfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW, mode)
	if err != nil {
		return -1, err
	}
	// Liveness probes (LockHeld) hold a shared lock for the length of a
	// system call: try again rather than fail for one of them.
	var err2 error
	for range 1000 {
		err2 = retry(func() error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) })
		if err2 != unix.EWOULDBLOCK {
			break
		}
		runtime.Gosched()
	}
	if err2 != nil {
		Close(fd)
		return -1, pathErr("flock", name, err2)
	}
	return fd, nil
}

// LockWait is Lock that waits for the lock, for locks held only briefly.
func LockWait(dirfd int, name string, mode uint32) (int, error) {
	fd, err := openat(dirfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW, mode)
	if err != nil {
		return -1, err
	}
	if err := retry(func() error { return unix.Flock(fd, unix.LOCK_EX) }); err != nil {
		Close(fd)
		return -1, pathErr("flock", name, err)
	}
	return fd, nil
}

// LockHeld reports whether some process holds the flock taken by Lock on
// name in dirfd. known is false when that cannot be told (no such file,
// not a regular file, or not readable by us): the caller falls back to
// the pid. err is a passing failure (out of descriptors or memory): try
// again later, and meanwhile judge nothing.
func LockHeld(dirfd int, name string) (held, known bool, err error) {
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if OutOfResources(err) {
		return false, false, err
	}
	if err != nil {
		return false, false, nil
	}
	defer Close(fd)
	if st, err := Fstat(fd); err != nil || !st.IsRegular() {
		return false, false, nil
	}
	err = retry(func() error { return unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) })
	switch err {
	case nil:
		return false, true, nil // nobody holds it; our shared lock goes with fd
	case unix.EWOULDBLOCK:
		return true, true, nil
	}
	return false, false, nil
}

// MaxFiles returns how many descriptors the process may have open
// (RLIMIT_NOFILE), or 0 if it cannot tell.
func MaxFiles() int {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur > 1<<30 {
		return 0
	}
	return int(rl.Cur)
}

// ReadSmall returns up to max bytes from the start of the regular file name
// in dirfd, without following a symbolic link or blocking on a FIFO.
func ReadSmall(dirfd int, name string, max int) ([]byte, error) {
	fd, err := OpenFile(dirfd, name)
	if err != nil {
		return nil, err
	}
	defer Close(fd)
	b := make([]byte, max)
	n, err := Pread(fd, b, 0)
	if err != nil {
		return nil, pathErr("read", name, err)
	}
	return b[:n], nil
}
