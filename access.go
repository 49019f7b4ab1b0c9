package pubsub

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// The security model: a home belongs to one user and is private to that
// user, unless its owner shares it on purpose with a group by making it
// group-writable and setgid (chmod 2770, chgrp GROUP), so that everything
// created in it belongs to the group. What this package creates follows
// the home: private homes get 0700 directories and 0600 files, shared
// homes 2770 (setgid, so the group passes down) and 0660. formix-pubsub running as the same user reads and
// writes both.
//
// /dev/shm is writable by every user, so anyone can create
// /dev/shm/pubsub first, as a directory of their own or as a symbolic
// link. Open refuses such a home rather than hand messages to its owner.

// access is how a home may be used, decided when it is opened.
type access struct {
	shared   bool   // group-writable and setgid: files are made for the group
	dirMode  uint32 // channel and staging directories
	fileMode uint32 // message files, FIFOs and lock files
}

var privateAccess = access{dirMode: 0o700, fileMode: 0o600}
var sharedAccess = access{shared: true, dirMode: 0o2770, fileMode: 0o660}

// checkHome decides whether this process may use the home at path, whose
// lstat is st, and how. Its errors say what is wrong and how to fix it.
func checkHome(path string, st *unix.Stat_t) (access, error) {
	mode := st.Mode & 0o7777
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return access{}, fmt.Errorf("pubsub: home %s is a symbolic link, which is not followed: anyone can plant one where homes live; set PUBSUB_HOME to the directory it points to", path)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return access{}, fmt.Errorf("pubsub: home %s is not a directory; remove it or set PUBSUB_HOME to a directory", path)
	case mode&0o002 != 0 && mode&unix.S_ISVTX == 0:
		return access{}, fmt.Errorf("pubsub: home %s is writable by every user (mode %04o) without the sticky bit, so any user could remove or replace its channels; run chmod o-w %s, or set PUBSUB_HOME to a directory of your own", path, mode, path)
	}
	shared := mode&0o020 != 0 && mode&unix.S_ISGID != 0
	if int(st.Uid) == os.Geteuid() {
		if shared {
			return sharedAccess, nil
		}
		return privateAccess, nil
	}
	if shared && inGroup(int(st.Gid)) {
		return sharedAccess, nil
	}
	return access{}, fmt.Errorf("pubsub: home %s belongs to %s, not to you (%s), and is not shared with a group of yours: its owner could read your messages and remove your channels; set PUBSUB_HOME to a directory of your own, such as %s-%s, or have the owner share it (chgrp GROUP and chmod 2770)", path, userName(int(st.Uid)), userName(os.Geteuid()), path, userWord(os.Geteuid()))
}

// explainHome replaces err, a failure to create or open the home at path,
// with the reason checkHome finds, when it finds one.
func explainHome(path string, err error) error {
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil {
		if _, why := checkHome(path, &st); why != nil {
			return why
		}
	}
	return err
}

// inGroup reports whether this process has gid among its groups.
func inGroup(gid int) bool {
	if os.Getegid() == gid {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}

// userName names a uid for messages: "alice (uid 1000)".
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("user %s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// userWord is a word for the user fit for a directory name.
func userWord(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}
