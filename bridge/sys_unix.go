//go:build unix

package bridge

import (
	"os"

	"golang.org/x/sys/unix"
)

// The bridge's few system calls, one small function each, with the same
// signature in sys_other.go.

// fileID returns the device and inode numbers of the file at path. Their
// types differ from one system to another (Dev is an int32 on Darwin, a
// uint64 on Linux): both are made Linux's uint64, so that an origin on
// Linux stays what it was.
func fileID(path string) (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return uint64(st.Dev), uint64(st.Ino), nil
}

// openNoFollow opens the regular file at path for reading and writing,
// creating it if need be, and refuses a symbolic link in its place: the
// home's tmp directory is shared with its other users.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
}

// tryLock takes an exclusive flock on f without waiting; busy reports
// that another open file description holds it.
func tryLock(f *os.File) (busy bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lerr error
	err = rc.Control(func(fd uintptr) {
		for {
			lerr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if lerr != unix.EINTR {
				return
			}
		}
	})
	switch {
	case err != nil:
		return false, err
	case lerr == unix.EWOULDBLOCK:
		return true, nil
	case lerr != nil:
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: lerr}
	}
	return false, nil
}
