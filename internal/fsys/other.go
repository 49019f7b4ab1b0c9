//go:build !linux

package fsys

// Supported reports whether this platform can run the bus: only Linux.
const Supported = false
