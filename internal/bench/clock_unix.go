//go:build unix && !aix && !netbsd

package bench

import "golang.org/x/sys/unix"

// clockMonotonic reads CLOCK_MONOTONIC, in nanoseconds.
func clockMonotonic() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return ts.Nano(), nil
}
