//go:build unix

package main

import (
	"context"

	"golang.org/x/sys/unix"
)

// isTerminalFD reports whether fd is a terminal: whether it has termios
// settings.
func isTerminalFD(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), ioctlReadTermios)
	return err == nil
}

// readerGone waits until the pipe whose write end is fd has no reader
// left, and reports true; or until ctx ends, or poll fails, and reports
// false.
func readerGone(ctx context.Context, fd int) bool {
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
