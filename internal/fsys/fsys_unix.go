//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package fsys

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Supported reports whether this platform can run the bus.
const Supported = true

// ErrUnsupported is what every call fails with where Supported is false.
var ErrUnsupported = errors.ErrUnsupported

// The errnos that are normal outcomes for the bus, decided here so that
// callers need no errno of their own: test them with errors.Is, or with
// == on what Read and WriteRecord return (raw, for the hot path).
var (
	ErrWouldBlock error = unix.EAGAIN    // a full FIFO, or an empty one read without waiting
	ErrNoReader   error = unix.ENXIO     // opening a FIFO for writing that nobody reads
	ErrBrokenPipe error = unix.EPIPE     // writing to a FIFO whose reader left
	ErrExist      error = unix.EEXIST    // a name already taken
	ErrNotEmpty   error = unix.ENOTEMPTY // removing a directory that is not empty
	ErrLoop       error = unix.ELOOP     // a symbolic link where none is followed
	ErrNotDir     error = unix.ENOTDIR   // a file where a directory should be
	ErrAccess     error = unix.EACCES    // permission denied
)

// OutOfResources reports whether err is a passing shortage of descriptors
// or memory (EMFILE, ENFILE, ENOMEM), not a fact about the file.
func OutOfResources(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOMEM)
}

// NoSpace reports whether err says the file system is full (ENOSPC) or the
// user's quota spent (EDQUOT).
func NoSpace(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}

// retry runs f until it stops failing with EINTR.
func retry(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

func pathErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, mode)
		return err
	})
	if err != nil {
		if flags&unix.O_NOFOLLOW != 0 && err == noFollowErrno {
			err = unix.ELOOP // one errno for a symbolic link refused, on every system
		}
		return -1, pathErr("open", name, err)
	}
	return fd, nil
}

// OpenDir opens a directory for use as a base of *at calls. The last
// element of path must not be a symbolic link.
func OpenDir(path string) (int, error) {
	return openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
}

// OpenDirAt opens the directory name inside dirfd, refusing symbolic links.
func OpenDirAt(dirfd int, name string) (int, error) {
	return openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
}

// OpenFile opens the file name inside dirfd for reading, without following
// a symbolic link or blocking on a FIFO. The caller checks what it opened
// with Fstat.
func OpenFile(dirfd int, name string) (int, error) {
	return openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
}

// CreateExcl creates the file name inside dirfd for reading and writing;
// it fails with ErrExist if the name is taken.
func CreateExcl(dirfd int, name string, mode uint32) (int, error) {
	return openat(dirfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, mode)
}

// Close closes a raw descriptor, ignoring EINTR: the descriptor is released
// whatever close returns. A negative fd is ignored.
func Close(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

func fromStat(st *unix.Stat_t) Stat {
	return Stat{
		Mode: uint32(st.Mode), Uid: st.Uid, Gid: st.Gid,
		Nlink: uint64(st.Nlink), Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: int64(st.Size),
		Mtime: int64(st.Mtim.Sec)*1e9 + int64(st.Mtim.Nsec),
		Ctime: int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec),
	}
}

// Fstat returns the state of an open file.
func Fstat(fd int) (Stat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Stat{}, os.NewSyscallError("fstat", err)
	}
	return fromStat(&st), nil
}

// Fstatat returns the state of name inside dirfd, not following a
// symbolic link.
func Fstatat(dirfd int, name string) (Stat, error) {
	var st unix.Stat_t
	if err := retry(func() error { return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return Stat{}, pathErr("stat", name, err)
	}
	return fromStat(&st), nil
}

// Lstat returns the state of path, not following a symbolic link.
func Lstat(path string) (Stat, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return Stat{}, pathErr("lstat", path, err)
	}
	return fromStat(&st), nil
}

// Mkdirat makes the directory name inside dirfd, with mode less the umask.
func Mkdirat(dirfd int, name string, mode uint32) error {
	return pathErr("mkdir", name, retry(func() error { return unix.Mkdirat(dirfd, name, mode) }))
}

// Fchmod sets the exact mode of an open file, whatever the umask.
func Fchmod(fd int, mode uint32) error {
	if err := retry(func() error { return unix.Fchmod(fd, mode) }); err != nil {
		return os.NewSyscallError("fchmod", err)
	}
	return nil
}

// Fchown sets the owner and group of an open file; -1 leaves one as it is.
func Fchown(fd, uid, gid int) error {
	if err := retry(func() error { return unix.Fchown(fd, uid, gid) }); err != nil {
		return os.NewSyscallError("fchown", err)
	}
	return nil
}

// Renameat moves oldname in olddirfd to newname in newdirfd, replacing
// what newname was.
func Renameat(olddirfd int, oldname string, newdirfd int, newname string) error {
	err := retry(func() error { return unix.Renameat(olddirfd, oldname, newdirfd, newname) })
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// Linkat gives the file oldname in olddirfd the further name newname in
// newdirfd; it fails with ErrExist if newname is taken.
func Linkat(olddirfd int, oldname string, newdirfd int, newname string) error {
	err := retry(func() error { return unix.Linkat(olddirfd, oldname, newdirfd, newname, 0) })
	if err != nil {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// Unlinkat removes the name (not a directory) inside dirfd.
func Unlinkat(dirfd int, name string) error {
	return pathErr("unlink", name, retry(func() error { return unix.Unlinkat(dirfd, name, 0) }))
}

// Read reads from fd once. Its error is the raw errno (ErrWouldBlock when a
// non-blocking FIFO is empty), for callers on the hot path.
func Read(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// WaitReadable blocks the calling thread, outside the runtime poller,
// until fd is readable or timeout has passed (ready false). A FIFO's
// writer wakes a thread blocked here directly, as it wakes one blocked in
// read(2); the poller's wake-up goes through epoll and the scheduler.
func WaitReadable(fd int, timeout time.Duration) (ready bool, err error) {
	deadline := time.Now().Add(timeout)
	for {
		ms := max(0, (time.Until(deadline)+time.Millisecond-1)/time.Millisecond)
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(p, int(ms))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, err
		case n > 0:
			return true, nil
		case ms == 0:
			return false, nil
		}
	}
}

// ReadBlocking reads from fd, a non-blocking FIFO, once there is data,
// waiting in WaitReadable until the time given: os.ErrDeadlineExceeded
// then.
func ReadBlocking(fd int, b []byte, until time.Time) (int, error) {
	for {
		n, err := Read(fd, b)
		if err != ErrWouldBlock {
			return n, err
		}
		ready, err := WaitReadable(fd, time.Until(until))
		switch {
		case err != nil:
			return 0, os.NewSyscallError("poll", err)
		case !ready:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Pread reads from fd at off once.
func Pread(fd int, b []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(fd, b, off)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// WriteAt writes all of b to fd at off.
func WriteAt(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("pwrite", err)
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// ReadDirNames lists the names in the directory at dirfd.
func ReadDirNames(dirfd int) ([]string, error) {
	fd, err := OpenDirAt(dirfd, ".")
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// EachName calls f for every name in the directory at dirfd, reading the
// directory a batch at a time, so a directory of a million entries costs
// a batch of names in memory, not all of them.
func EachName(dirfd int, f func(name string)) error {
	fd, err := OpenDirAt(dirfd, ".")
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), ".")
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, name := range names {
			f(name)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Pending returns the bytes waiting in a FIFO.
func Pending(fd int) int {
	n, err := unix.IoctlGetInt(fd, fionread)
	if err != nil {
		return 0
	}
	return n
}

// StatPath returns the state of path, following symbolic links.
func StatPath(path string) (Stat, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Stat{}, pathErr("stat", path, err)
	}
	return fromStat(&st), nil
}

// OpenNoFollow opens the regular file at path for reading and writing,
// creating it with mode if need be, and refuses a symbolic link in its
// place.
func OpenNoFollow(path string, mode os.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, mode)
}

// TryLock takes an exclusive flock on f without waiting; busy reports
// that another open file description holds it. The lock lasts as long as
// f stays open.
func TryLock(f *os.File) (busy bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lerr error
	err = rc.Control(func(fd uintptr) {
		lerr = retry(func() error { return unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) })
	})
	switch {
	case err != nil:
		return false, err
	case lerr == unix.EWOULDBLOCK:
		return true, nil
	case lerr != nil:
		return false, pathErr("flock", f.Name(), lerr)
	}
	return false, nil
}

// BootID returns the machine's boot id, which changes at every boot; it
// fails where the kernel does not give one (only Linux does, in /proc).
func BootID() ([]byte, error) {
	return os.ReadFile("/proc/sys/kernel/random/boot_id")
}

// MapShared maps the first size bytes of the file open on fd into memory
// shared with every process that maps it, for counters that processes
// update with atomic operations. The file must be at least size long.
func MapShared(fd, size int) ([]byte, error) {
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

// Unmap releases what MapShared mapped.
func Unmap(b []byte) {
	if b != nil {
		_ = unix.Munmap(b)
	}
}

// Truncate sets the size of the file open on fd.
func Truncate(fd int, size int64) error {
	if err := retry(func() error { return unix.Ftruncate(fd, size) }); err != nil {
		return os.NewSyscallError("ftruncate", err)
	}
	return nil
}

// RemoveDirAt removes the empty directory name inside dirfd.
func RemoveDirAt(dirfd int, name string) error {
	return pathErr("rmdir", name, retry(func() error { return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR) }))
}

// OpenFileRW opens the regular file name inside dirfd for reading and
// writing, without following a symbolic link or blocking on a FIFO.
func OpenFileRW(dirfd int, name string) (int, error) {
	return openat(dirfd, name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
}
