//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package fsys

import "golang.org/x/sys/unix"

const (
	// fionread asks a FIFO how many bytes it holds: FIONREAD, _IOR('f',
	// 127, int) on macOS and the BSDs, which golang.org/x/sys/unix does
	// not name.
	fionread = 0x4004667f
	// readTermios reads a terminal's settings.
	readTermios = unix.TIOCGETA
)
