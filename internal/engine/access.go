package engine

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// The security model: a home belongs to one user and is private to that
// user, unless its owner shares it on purpose with a group by making it
// group-writable and setgid (chmod 2770, chgrp GROUP), so that everything
// created in it belongs to the group. What this package creates follows
// the home: private homes get 0700 directories and 0600 files, shared
// homes 2770 (setgid, so the group passes down) and 0660. formix-pubsub
// running as the same user reads and writes both.
//
// /dev/shm is writable by every user, so anyone can create
// /dev/shm/pubsub first, as a directory of their own or as a symbolic
// link. Open refuses such a home rather than hand messages to its owner.

// access is how a home may be used, decided when it is opened.
type access struct {
	shared   bool   // group-writable and setgid: files are made for the group
	dirMode  uint32 // channel and staging directories
	fileMode uint32 // message files, FIFOs and lock files
	uid, gid uint32 // whose channels to trust: this user's, or (shared) the home group's
}

func privateAccess() access {
	return access{dirMode: 0o700, fileMode: 0o600, uid: uint32(os.Geteuid())}
}

func sharedAccess(gid uint32) access {
	return access{shared: true, dirMode: 0o2770, fileMode: 0o660, uid: uint32(os.Geteuid()), gid: gid}
}

// trusts reports whether a channel directory with this stat belongs to
// someone this home shares with: a directory anyone else planted (in a
// home others may write) must not receive our messages.
func (a access) trusts(st *fsys.Stat) bool {
	if a.shared {
		return st.Gid == a.gid
	}
	return st.Uid == a.uid
}

// checkHome decides whether this process may use the home at path, whose
// stat (not following a symbolic link) is st, and how. Its errors say what
// is wrong and how to fix it.
func checkHome(path string, st *fsys.Stat) (access, error) {
	mode := st.Perm()
	switch {
	case st.IsSymlink():
		return access{}, fmt.Errorf("pubsub: home %s is a symbolic link, which is not followed: anyone can plant one where homes live; set PUBSUB_HOME to the directory it points to", path)
	case !st.IsDir():
		return access{}, fmt.Errorf("pubsub: home %s is not a directory; remove it or set PUBSUB_HOME to a directory", path)
	case mode&0o002 != 0 && mode&fsys.ModeSticky == 0:
		return access{}, fmt.Errorf("pubsub: home %s is writable by every user (mode %04o) without the sticky bit, so any user could remove or replace its channels; run chmod o-w %s, or set PUBSUB_HOME to a directory of your own", path, mode, path)
	}
	shared := mode&0o020 != 0 && mode&fsys.ModeSetgid != 0
	switch {
	case shared && inGroup(int(st.Gid)):
		return sharedAccess(st.Gid), nil
	case shared && int(st.Uid) == os.Geteuid():
		return access{}, fmt.Errorf("pubsub: home %s is shared with group %s (group-writable and setgid), which you are not in, so what you create there would not stay the group's; join the group, or chgrp %s to a group of yours", path, groupName(int(st.Gid)), path)
	case int(st.Uid) == os.Geteuid():
		return privateAccess(), nil
	}
	return access{}, fmt.Errorf("pubsub: home %s belongs to %s, not to you (%s), and is not shared with a group of yours: its owner could read your messages and remove your channels; set PUBSUB_HOME to a directory of your own, such as %s-%s, or have the owner share it (chgrp -R GROUP %s; chmod 2770 %s %s/tmp)", path, userName(int(st.Uid)), userName(os.Geteuid()), path, userWord(os.Geteuid()), path, path, path)
}

// checkStaging checks HOME/tmp, open on fd, against the home's access: it
// must be this user's in a private home, and the group's, setgid, in a
// shared one. It mends a shared home's tmp/ that this user owns.
func checkStaging(fd int, path string, acc access) error {
	st, err := fsys.Fstat(fd)
	if err != nil {
		return fmt.Errorf("pubsub: staging directory %s: %w", path, err)
	}
	if !acc.shared {
		if st.Uid != acc.uid {
			return fmt.Errorf("pubsub: staging directory %s belongs to %s, not to you: anyone who owns it could change your messages before they are delivered; remove it", path, userName(int(st.Uid)))
		}
		return nil
	}
	if st.Gid == acc.gid && st.Perm()&0o2070 == 0o2070 {
		return nil
	}
	if st.Uid == acc.uid {
		// A home shared after it was made: share its tmp/ too.
		if err := fsys.Fchown(fd, -1, int(acc.gid)); err != nil {
			return fmt.Errorf("pubsub: share staging directory %s: %w", path, err)
		}
		if err := fsys.Fchmod(fd, acc.dirMode); err != nil {
			return fmt.Errorf("pubsub: share staging directory %s: %w", path, err)
		}
		return nil
	}
	return fmt.Errorf("pubsub: the home is shared with group %s, but its staging directory %s is not (group %s, mode %04o): run chgrp %s %s; chmod 2770 %s", groupName(int(acc.gid)), path, groupName(int(st.Gid)), st.Perm(), groupName(int(acc.gid)), path, path)
}

// explainHome replaces err, a failure to create or open the home at path,
// with the reason checkHome finds, when it finds one.
func explainHome(path string, err error) error {
	if st, lerr := fsys.Lstat(path); lerr == nil {
		if _, why := checkHome(path, &st); why != nil {
			return why
		}
	}
	return err
}

// inGroup reports whether this process has gid among its groups. Root
// counts as in every group: it keeps setgid bits and may chown, so what it
// makes in a shared home stays the group's.
func inGroup(gid int) bool {
	if os.Geteuid() == 0 || os.Getegid() == gid {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}

// userName names a uid for messages: "user alice (uid 1000)".
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("user %s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// groupName names a gid for messages.
func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

// userWord is a word for the user fit for a directory name.
func userWord(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}
