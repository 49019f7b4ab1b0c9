package fsys

import "golang.org/x/sys/unix"

// noFollowErrno is what open(O_NOFOLLOW) fails with on a symbolic link
// here, besides ELOOP: EFTYPE (open(2) of NetBSD).
const noFollowErrno = unix.EFTYPE
