package fsys

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Supported reports whether this platform can run the bus.
const Supported = true

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

// OpenDir opens a directory for use as a base of *at calls. The last
// element of path must not be a symbolic link.
func OpenDir(path string) (int, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	return fd, pathErr("open", path, err)
}

// OpenDirAt opens the directory name inside dirfd, refusing symbolic links.
func OpenDirAt(dirfd int, name string) (int, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	return fd, pathErr("open", name, err)
}

// Close closes a raw descriptor, ignoring EINTR as Linux always releases it.
func Close(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

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

// IsTmpfs reports whether dirfd lives on tmpfs.
func IsTmpfs(dirfd int) bool {
	var sfs unix.Statfs_t
	return unix.Fstatfs(dirfd, &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC
}

// DirState is what changes when names are added to or removed from a
// directory. Timestamps on tmpfs are as coarse as a clock tick, so a change
// within the tick of an earlier one can leave Mtime equal: callers must not
// trust an unchanged state whose Mtime is recent.
type DirState struct {
	Ino, Size, Nlink uint64
	Mtime, Ctime     unix.Timespec
}

// StatDir returns the state of an open directory.
func StatDir(dirfd int) (DirState, error) {
	var st unix.Stat_t
	if err := unix.Fstat(dirfd, &st); err != nil {
		return DirState{}, pathErr("fstat", "", err)
	}
	return DirState{Ino: st.Ino, Size: uint64(st.Size), Nlink: uint64(st.Nlink), Mtime: st.Mtim, Ctime: st.Ctim}, nil
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
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
	if err != nil {
		return 0
	}
	return n
}

// emptyPathLink records whether linkat(AT_EMPTY_PATH) works for us; it
// needs CAP_DAC_READ_SEARCH on older kernels, and /proc/self/fd does not.
var emptyPathLink atomic.Int32 // 0 unknown, 1 works, 2 refused

// ProbeLinkFD finds out once, with a throwaway file in dirfd, whether
// LinkFD can use AT_EMPTY_PATH, so that a real link's failure is never
// mistaken for the capability missing.
func ProbeLinkFD(dirfd int) {
	if emptyPathLink.Load() != 0 {
		return
	}
	fd, err := CreateUnnamed(dirfd, 0o600)
	if err != nil {
		return
	}
	defer Close(fd)
	name := ".probe." + strconv.Itoa(os.Getpid())
	if unix.Linkat(fd, "", dirfd, name, unix.AT_EMPTY_PATH) == nil {
		_ = unix.Unlinkat(dirfd, name, 0)
		emptyPathLink.Store(1)
		return
	}
	emptyPathLink.Store(2)
}

// LinkFD gives the open file fd the name newname inside newdirfd. The file
// must never have had a name (O_TMPFILE).
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
// dies first, so a crash leaves no staging file behind.
func CreateUnnamed(dirfd int, mode uint32) (int, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat(dirfd, ".", unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, mode)
		return err
	})
	return fd, pathErr("open", "O_TMPFILE", err)
}

// NoTmpfile reports whether err from CreateUnnamed means that the file
// system has no O_TMPFILE.
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
