//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package fsys

// fionread asks a FIFO how many bytes it holds: FIONREAD, _IOR('f', 127,
// int) on macOS and the BSDs, which golang.org/x/sys/unix does not name.
const fionread = 0x4004667f
