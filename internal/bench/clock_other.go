//go:build !unix || aix || netbsd

package bench

import "time"

// clockMonotonic returns the wall clock, in nanoseconds: golang.org/x/sys
// has no clock_gettime (AIX) or no CLOCK_MONOTONIC (NetBSD) here. Every
// process shares it too, but it can step while a run measures.
func clockMonotonic() (int64, error) { return time.Now().UnixNano(), nil }
