//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// cpuTime returns the user and system time the process has used, in
// nanoseconds.
func cpuTime() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// kernelRelease returns the release of the running kernel, as uname -r
// prints it, or "" if uname fails.
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// maxRSSKiB returns the largest resident set size of the exited process
// ps, in KiB.
func maxRSSKiB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	// ru_maxrss is in bytes on macOS, in KiB on Linux and the BSDs
	// (getrusage(2) of each); an int32 on 32-bit Linux.
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}
