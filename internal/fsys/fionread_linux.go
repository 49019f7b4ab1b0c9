package fsys

import "golang.org/x/sys/unix"

// fionread asks a FIFO how many bytes it holds (FIONREAD).
const fionread = unix.TIOCINQ
