//go:build !pubsub_portable

package fsys

import (
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Backend names the backend this build uses.
const Backend = "linux"

// PipeBuf is PIPE_BUF: a write of at most this many bytes to a FIFO is
// whole or fails, never interleaved with another.
const PipeBuf = 4096

// EntryCount returns how many names a tmpfs directory holds, read from its
// size: tmpfs counts 20 bytes per entry plus 40 for "." and "..", which
// lets a subscriber notice stray message files without listing the
// directory. The caller checks once that dirfd is on tmpfs (IsTmpfs);
// elsewhere the number means nothing.
func EntryCount(dirfd int) (n int, ok bool) {
	var st unix.Stat_t
	if unix.Fstat(dirfd, &st) != nil {
		return 0, false
	}
	return int(st.Size/20) - 2, true
}

// IsTmpfs reports whether dirfd lives on tmpfs, where EntryCount holds.
func IsTmpfs(dirfd int) bool {
	var sfs unix.Statfs_t
	return unix.Fstatfs(dirfd, &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC
}

// Mkfifo makes a FIFO called name in dirfd (the directory dir) with mode
// less the umask. To set exact modes, fchmod a descriptor of it: a chmod
// by name follows a symbolic link that someone may have swapped in.
func Mkfifo(dirfd int, dir, name string, mode uint32) error {
	return pathErr("mkfifo", name, retry(func() error { return unix.Mkfifoat(dirfd, name, mode) }))
}

// WaitWritable waits up to d for room in the FIFO open for writing on fd,
// and reports whether there is some.
func WaitWritable(fd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		ts := unix.NsecToTimespec(left.Nanoseconds())
		n, err := unix.Ppoll(fds, &ts, nil)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&unix.POLLOUT != 0
	}
}

// RenameNoReplace moves oldname in olddirfd to newname in newdirfd, and
// fails with ErrExist rather than replace anything.
func RenameNoReplace(olddirfd int, oldname string, newdirfd int, newname string) error {
	err := retry(func() error {
		return unix.Renameat2(olddirfd, oldname, newdirfd, newname, unix.RENAME_NOREPLACE)
	})
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// Created returns a directory's birth time where the file system keeps
// one, else its change time.
func Created(dirfd int) time.Time {
	var stx unix.Statx_t
	if unix.Statx(dirfd, "", unix.AT_EMPTY_PATH, unix.STATX_BTIME|unix.STATX_CTIME, &stx) != nil {
		return time.Time{}
	}
	if stx.Mask&unix.STATX_BTIME != 0 {
		return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec))
	}
	return time.Unix(stx.Ctime.Sec, int64(stx.Ctime.Nsec))
}

// emptyPathLink records whether linkat(AT_EMPTY_PATH) works for us; it
// needs CAP_DAC_READ_SEARCH on older kernels, and /proc/self/fd does not.
var emptyPathLink atomic.Int32 // 0 unknown, 1 works, 2 refused

// ProbeLinkFD finds out once, with a throwaway file called name in dirfd,
// whether LinkFD can use AT_EMPTY_PATH, so that a real link's failure is
// never mistaken for the capability missing.
func ProbeLinkFD(dirfd int, name string) {
	if emptyPathLink.Load() != 0 {
		return
	}
	fd, err := CreateUnnamed(dirfd, 0o600)
	if err != nil {
		return
	}
	defer Close(fd)
	if unix.Linkat(fd, "", dirfd, name, unix.AT_EMPTY_PATH) == nil {
		_ = unix.Unlinkat(dirfd, name, 0)
		emptyPathLink.Store(1)
		return
	}
	emptyPathLink.Store(2)
}

// LinkFD gives the open file fd the name newname inside newdirfd. The file
// must never have had a name (CreateUnnamed).
func LinkFD(fd, newdirfd int, newname string) error {
	if emptyPathLink.Load() == 1 {
		err := retry(func() error { return unix.Linkat(fd, "", newdirfd, newname, unix.AT_EMPTY_PATH) })
		if err != nil {
			return &os.LinkError{Op: "link", Old: "fd " + strconv.Itoa(fd), New: newname, Err: err}
		}
		return nil
	}
	old := "/proc/self/fd/" + strconv.Itoa(fd)
	err := retry(func() error { return unix.Linkat(unix.AT_FDCWD, old, newdirfd, newname, unix.AT_SYMLINK_FOLLOW) })
	if err != nil {
		return &os.LinkError{Op: "link", Old: old, New: newname, Err: err}
	}
	return nil
}

// CreateUnnamed opens a new, nameless file in dirfd for writing. Nothing
// can see it until LinkFD names it, and the kernel frees it if the process
// dies first, so a crash leaves no staging file behind. NoTmpfile tells
// its error when the file system cannot.
func CreateUnnamed(dirfd int, mode uint32) (int, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat(dirfd, ".", unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, mode)
		return err
	})
	return fd, pathErr("open", "O_TMPFILE", err)
}

// NoTmpfile reports whether err from CreateUnnamed means that the file
// system has no O_TMPFILE: stage the file under a name instead.
func NoTmpfile(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL)
}

// WriteAll writes the buffers in order with writev, resuming after short
// writes.
func WriteAll(fd int, bufs ...[]byte) error {
	for {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return nil
		}
		n, err := unix.Writev(fd, bufs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		for n > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
			} else {
				bufs[0] = bufs[0][n:]
				n = 0
			}
		}
	}
}
