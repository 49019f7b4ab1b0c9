package fsys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotFIFO is wrapped by the error for a queue that is not a FIFO.
var ErrNotFIFO = errors.New("not a FIFO")

// Mkfifo makes a FIFO called name in dirfd with mode less the umask. To
// set exact modes, fchmod a descriptor of it: a chmod by name follows a
// symbolic link that someone may have swapped in.
func Mkfifo(dirfd int, name string, mode uint32) error {
	return pathErr("mkfifo", name, retry(func() error { return unix.Mkfifoat(dirfd, name, mode) }))
}

// OpenFIFOReader opens the FIFO name in dirfd for reading, through the
// runtime poller, so that a blocked read parks the goroutine instead of a
// thread and Close or a deadline wakes it. It also returns a write end that
// the reader keeps open: a FIFO with no writer reads as end-of-file at
// once, and without one the read loop would spin whenever no publisher has
// the FIFO open.
func OpenFIFOReader(dirfd int, name string) (r *os.File, keepalive int, err error) {
	var fd int
	err = retry(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, -1, pathErr("open", name, err)
	}
	if err := checkFIFO(fd, name); err != nil {
		Close(fd)
		return nil, -1, err
	}
	w, err := OpenFIFOWriter(dirfd, name)
	if err != nil {
		Close(fd)
		return nil, -1, err
	}
	// os.NewFile sees O_NONBLOCK and registers the descriptor with the poller.
	return os.NewFile(uintptr(fd), name), w, nil
}

// OpenFIFOWriter opens the FIFO name in dirfd for non-blocking writes. It
// fails with ENXIO when no process has the FIFO open for reading, and
// refuses anything that is not a FIFO.
func OpenFIFOWriter(dirfd int, name string) (int, error) {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, pathErr("open", name, err)
	}
	if err := checkFIFO(fd, name); err != nil {
		Close(fd)
		return -1, err
	}
	return fd, nil
}

func checkFIFO(fd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return pathErr("fstat", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (mode %v)", ErrNotFIFO, fs.FileMode(st.Mode&0o777)|typeBits(st.Mode))}
	}
	return nil
}

func typeBits(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeCharDevice | fs.ModeDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	}
	return 0
}

// WriteID writes one 8-byte record to a FIFO opened by OpenFIFOWriter.
// Writes up to PIPE_BUF bytes are atomic, so concurrent publishers never
// interleave ids. EAGAIN means the FIFO is full, EPIPE that its reader is
// gone.
func WriteID(fd int, rec []byte) error {
	for {
		n, err := unix.Write(fd, rec)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(rec) {
			return unix.EIO // cannot happen below PIPE_BUF
		}
		return nil
	}
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
