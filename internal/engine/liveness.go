package engine

import (
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// Who is alive. A Go channel holds an flock on its lock file for its
// lifetime, and the kernel drops it when the process dies, so a reused pid
// cannot keep a dead Go channel alive. Any other channel (formix-pubsub's)
// is judged by its pid; a pid owned by another user (kill gives EPERM) is
// alive. Every judgement of a channel below rests on channelOwner; a
// staging file is judged by the pid in its name.

// staleStaging is how old a staging file in tmp/ must be for Cleanup to
// remove it while its pid lives: the pid was reused. formix-pubsub's names
// carry no pid at all, and a live publisher removes its file within one
// publish call.
const staleStaging = 5 * time.Minute

// liveness is what a look at a home entry found.
type liveness int

const (
	notChannel liveness = iota
	liveOwner
	deadOwner
	unknown // could not tell this time
)

// channelOwner judges a channel directory open on dirFD: a Go channel by
// the flock its owner holds, anything else by its pid. err is a passing
// failure to look (out of descriptors): nothing is judged then.
func channelOwner(dirFD, pid int) (goChan, alive bool, err error) {
	held, known, err := fsys.LockHeld(dirFD, LockName)
	switch {
	case err != nil:
		return false, false, err
	case known:
		return true, held, nil
	}
	return false, fsys.ProcessAlive(pid), nil
}

// deadChannel reports whether the entry name of the directory parentFD is
// a channel directory whose owner is gone. What cannot be told is not
// dead.
func deadChannel(parentFD int, name string) bool {
	_, pid, ok := ParseChannelName(name)
	if !ok {
		return false
	}
	dirFD, err := fsys.OpenDirAt(parentFD, name)
	if err != nil {
		return false // not a directory, a symlink, or not ours
	}
	defer fsys.Close(dirFD)
	_, alive, err := channelOwner(dirFD, pid)
	return err == nil && !alive
}

// staleTmpEntry reports whether the entry name of tmp/ was left there by
// a process that did not finish with it.
func staleTmpEntry(tmpFD int, name string, now time.Time) bool {
	old := func() bool {
		st, err := fsys.Fstatat(tmpFD, name)
		return err == nil && now.Sub(st.ModTime()) > staleStaging
	}
	if isRemoving(name) {
		return true // a removal that its remover did not finish
	}
	if pid, ok := parseStagingName(name); ok {
		return !fsys.ProcessAlive(pid) || old() // old: the pid was reused
	}
	if isFormixStaging(name) {
		return old()
	}
	// A channel being built: its lock may not be taken yet, so the pid
	// must be gone too, or the entry old (the pid reused).
	_, pid, ok := ParseChannelName(name)
	if !ok || !deadChannel(tmpFD, name) {
		return false
	}
	return !fsys.ProcessAlive(pid) || old()
}

// isGone reports whether a directory was removed (its link count is 0).
func isGone(dirFD int) bool {
	st, err := fsys.Fstat(dirFD)
	return err != nil || st.Nlink == 0
}
