//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && pubsub_portable)

package fsys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Backend names the backend this build uses.
const Backend = "portable"

// PipeBuf is PIPE_BUF: a write of at most this many bytes to a FIFO is
// whole or fails, never interleaved with another. POSIX promises 512, and
// macOS and the BSDs give no more.
const PipeBuf = 512

// EntryCount cannot tell how many names a directory holds without listing
// it on these systems.
func EntryCount(dirfd int) (n int, ok bool) { return 0, false }

// IsTmpfs reports false: no directory's size counts its entries here.
func IsTmpfs(dirfd int) bool { return false }

// Mkfifo makes a FIFO called name in dirfd, the directory dir, with mode
// less the umask. macOS has no mkfifoat in golang.org/x/sys/unix, so the
// FIFO is made by path, and then looked for in dirfd: if dir no longer
// names dirfd (a name swapped for a symbolic link), the FIFO is not there
// and Mkfifo fails rather than let a caller use another one.
func Mkfifo(dirfd int, dir, name string, mode uint32) error {
	path := filepath.Join(dir, name)
	if err := retry(func() error { return unix.Mkfifo(path, mode) }); err != nil {
		return pathErr("mkfifo", path, err)
	}
	st, err := Fstatat(dirfd, name)
	if err != nil || !st.IsFIFO() {
		return pathErr("mkfifo", path, errors.New("the FIFO made by path is not in the directory opened: "+dir+" was replaced"))
	}
	return nil
}

// WaitWritable waits up to d, in whole milliseconds, for room in the FIFO
// open for writing on fd, and reports whether there is some.
func WaitWritable(fd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		n, err := unix.Poll(fds, int((left+time.Millisecond-1)/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&unix.POLLOUT != 0
	}
}

// RenameNoReplace moves oldname in olddirfd to newname in newdirfd, and
// fails with ErrExist rather than replace anything. These systems have no
// such rename for every file system, so it checks first; in the window
// between the check and the rename, only an empty directory could be
// replaced (rename refuses to replace a directory with content).
func RenameNoReplace(olddirfd int, oldname string, newdirfd int, newname string) error {
	if _, err := Fstatat(newdirfd, newname); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			err = unix.EEXIST
		}
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return Renameat(olddirfd, oldname, newdirfd, newname)
}

// Created returns a directory's change time.
func Created(dirfd int) time.Time {
	st, err := Fstat(dirfd)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, st.Ctime)
}

// ProbeLinkFD does nothing: there are no unnamed files to link here.
func ProbeLinkFD(dirfd int, name string) {}

// errNoUnnamed is what CreateUnnamed fails with here.
var errNoUnnamed = errors.New("no unnamed files (O_TMPFILE) on this system")

// LinkFD fails: there are no unnamed files here.
func LinkFD(fd, newdirfd int, newname string) error {
	return &os.LinkError{Op: "link", Old: "fd", New: newname, Err: errNoUnnamed}
}

// CreateUnnamed fails at once, without a system call: these systems have
// no O_TMPFILE, and NoTmpfile says so of the error.
func CreateUnnamed(dirfd int, mode uint32) (int, error) {
	return -1, errNoUnnamed
}

// NoTmpfile reports whether err from CreateUnnamed means that the file
// system has no O_TMPFILE: always, here.
func NoTmpfile(err error) bool { return errors.Is(err, errNoUnnamed) }

// WriteAll writes the buffers in order, one write after another: writev is
// not in golang.org/x/sys/unix for every BSD.
func WriteAll(fd int, bufs ...[]byte) error {
	for _, b := range bufs {
		for len(b) > 0 {
			n, err := unix.Write(fd, b)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return os.NewSyscallError("write", err)
			}
			b = b[n:]
		}
	}
	return nil
}
