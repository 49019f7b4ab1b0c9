//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package fsys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotFIFO is wrapped by the error for a queue that is not a FIFO.
var ErrNotFIFO = errors.New("not a FIFO")

// OpenFIFOReader opens the FIFO name in dirfd for reading, through the
// runtime poller, so that a blocked read parks the goroutine instead of a
// thread and Close or a deadline wakes it. It also returns a write end that
// the reader keeps open: a FIFO with no writer reads as end-of-file at
// once, and without one the read loop would spin whenever no publisher has
// the FIFO open.
func OpenFIFOReader(dirfd int, name string) (r *os.File, keepalive int, err error) {
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, -1, err
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
// fails with ErrNoReader when no process has the FIFO open for reading,
// and refuses anything that is not a FIFO.
func OpenFIFOWriter(dirfd int, name string) (int, error) {
	fd, err := openat(dirfd, name, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, err
	}
	if err := checkFIFO(fd, name); err != nil {
		Close(fd)
		return -1, err
	}
	return fd, nil
}

// OpenFIFOPeek opens the FIFO name in dirfd for reading without waiting,
// to count what it holds (Pending); nil error only for a FIFO.
func OpenFIFOPeek(dirfd int, name string) (int, error) {
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, err
	}
	if err := checkFIFO(fd, name); err != nil {
		Close(fd)
		return -1, err
	}
	return fd, nil
}

func checkFIFO(fd int, name string) error {
	st, err := Fstat(fd)
	if err != nil {
		return pathErr("fstat", name, err)
	}
	if !st.IsFIFO() {
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (mode %v)", ErrNotFIFO, fs.FileMode(st.Mode&0o777)|typeBits(st.Mode))}
	}
	return nil
}

func typeBits(m uint32) fs.FileMode {
	switch m & ModeType {
	case ModeDir:
		return fs.ModeDir
	case ModeSymlink:
		return fs.ModeSymlink
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeCharDevice | fs.ModeDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case ModeFIFO:
		return fs.ModeNamedPipe
	}
	return 0
}

// WriteRecord writes one record (an id, or frames) of at most PipeBuf
// bytes to a FIFO opened by OpenFIFOWriter, whole: writes up to PIPE_BUF
// are atomic, so concurrent publishers never interleave. Its error is the
// raw errno: ErrWouldBlock means the FIFO is full, ErrBrokenPipe that its
// reader is gone.
func WriteRecord(fd int, rec []byte) error {
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
