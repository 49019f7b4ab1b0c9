//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package fsys

import (
	"context"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether fd is a terminal: whether it has termios
// settings.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, readTermios)
	return err == nil
}

// WaitReaderGone waits until the pipe whose write end is fd has no reader
// left, and reports true; or until ctx ends, or poll fails, and reports
// false.
func WaitReaderGone(ctx context.Context, fd int) bool {
	// Linux reports POLLERR on the write end of a pipe that has no
	// reader left, whatever events were asked for (fs/pipe.c,
	// pipe_poll); a system that does not only finds out at the next
	// write. A bounded wait lets the goroutine notice ctx.
	fds := []unix.PollFd{{Fd: int32(fd)}}
	for ctx.Err() == nil {
		n, err := unix.Poll(fds, 100)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return false
		case n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0:
			return true
		}
	}
	return false
}
