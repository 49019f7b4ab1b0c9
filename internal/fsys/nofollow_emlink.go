//go:build dragonfly || freebsd

package fsys

import "golang.org/x/sys/unix"

// noFollowErrno is what open(O_NOFOLLOW) fails with on a symbolic link
// here, besides ELOOP: EMLINK (open(2) of FreeBSD and DragonFly).
const noFollowErrno = unix.EMLINK
