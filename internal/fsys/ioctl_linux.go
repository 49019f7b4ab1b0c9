package fsys

import "golang.org/x/sys/unix"

const (
	// fionread asks a FIFO how many bytes it holds (FIONREAD).
	fionread = unix.TIOCINQ
	// readTermios reads a terminal's settings.
	readTermios = unix.TCGETS
)
