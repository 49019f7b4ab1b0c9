//go:build darwin || linux || openbsd

package fsys

import "golang.org/x/sys/unix"

// noFollowErrno is what open(O_NOFOLLOW) fails with on a symbolic link:
// ELOOP, as POSIX says.
const noFollowErrno = unix.ELOOP
