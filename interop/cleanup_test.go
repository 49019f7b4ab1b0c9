//go:build interop

package interop

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/proctest"
)

// nobody is the user the other-user cases run as, when the suite runs as
// root (as it does in CI).
const nobody = 65534

// mixedHome is a home holding, on four topics, a live Go channel and a
// live Python channel (each read by a subscriber), and a Go and a Python
// channel whose owners were killed with SIGKILL.
type mixedHome struct {
	home           string
	liveGo, livePy *proctest.Proc
	dirs           map[string]string // topic -> channel directory
}

func newMixedHome(t *testing.T) *mixedHome {
	t.Helper()
	h := &mixedHome{home: newHome(t), dirs: map[string]string{}}
	h.liveGo = start(t, h.home, goSide, nil, "sub", "live.go")
	h.livePy = start(t, h.home, pySide, nil, "sub", "live.py")
	deadGo := start(t, h.home, goSide, nil, "hold", "dead.go")
	deadPy := start(t, h.home, pySide, nil, "hold", "dead.py")
	h.dirs["live.go"] = live(t, h.liveGo)
	h.dirs["live.py"] = live(t, h.livePy)
	h.dirs["dead.go"] = live(t, deadGo)
	h.dirs["dead.py"] = live(t, deadPy)
	for _, p := range []*proctest.Proc{deadGo, deadPy} {
		p.Signal(syscall.SIGKILL)
		_ = p.Wait() // reaped: its pid is free
	}
	// The Go channel keeps a lock file; formix-pubsub knows nothing of it.
	for _, topic := range []string{"live.go", "dead.go"} {
		if _, err := os.Stat(filepath.Join(h.dirs[topic], "lock")); err != nil {
			t.Fatalf("Go channel without its lock file: %v", err)
		}
	}
	return h
}

// exists reports which of the channels' directories exist.
func (h *mixedHome) exists(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for topic, dir := range h.dirs {
		_, err := os.Stat(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[topic] = err == nil
	}
	return out
}

func (h *mixedHome) expectExist(t *testing.T, want map[string]bool) {
	t.Helper()
	got := h.exists(t)
	for topic, w := range want {
		if got[topic] != w {
			t.Errorf("channel %s: exists=%v, want %v", topic, got[topic], w)
		}
	}
}

// checkPythonCanList fails if the home holds a directory that would stop
// formix-pubsub from listing it: every directory whose name has three or
// more '_'-separated parts must end in a number, which it passes to int()
// unguarded (a ValueError out of publish and cleanup_inactive).
func checkPythonCanList(t *testing.T, home string) {
	t.Helper()
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		parts := strings.Split(e.Name(), "_")
		if !e.IsDir() || len(parts) < 3 {
			continue
		}
		if _, err := strconv.Atoi(parts[len(parts)-1]); err != nil {
			t.Errorf("home holds %q, which formix-pubsub cannot parse", e.Name())
		}
	}
}

// publishToLive publishes one message from each language to each live
// channel, each reaching exactly its channel, and checks that the
// subscribers get them, then stops the subscribers.
func (h *mixedHome) publishToLive(t *testing.T) {
	t.Helper()
	msgs := []msg{{Topic: "live.go", Content: []byte("to Go")}, {Topic: "live.py", Content: []byte("to Python")}}
	for _, s := range []side{goSide, pySide} {
		res, log := publish(t, h.home, s, nil, msgs)
		expectCounts(t, s, res, log, 1)
	}
	checkPythonCanList(t, h.home)
	for _, p := range []*proctest.Proc{h.liveGo, h.livePy} {
		recs := readRecords(t, p, 2)
		p.Signal(syscall.SIGTERM)
		extra, done := readUntilDone(t, p)
		if len(extra) > 0 || done != "done 2 signal" {
			t.Errorf("%v: %d more messages, %q; want \"done 2 signal\"", p, len(extra), done)
		}
		expectExit(t, p)
		for _, r := range recs {
			checkMessage(t, r.Topic, r, msgs[slices.IndexFunc(msgs, func(m msg) bool { return m.Topic == r.Topic })])
		}
	}
}

// pyJudge runs cleanup.py (with -dry: only judging) and returns the
// directories it judged active and inactive, and its log.
func pyJudge(t *testing.T, home string, env []string, dry bool) (active, inactive []string, log string) {
	t.Helper()
	var args []string
	if dry {
		args = append(args, "-dry")
	}
	p := start(t, home, pySide, env, "cleanup", args...)
	for {
		l := p.Line()
		if l == "done" {
			break
		}
		switch kind, dir, _ := strings.Cut(l, " "); kind {
		case "active":
			active = append(active, dir)
		case "inactive":
			inactive = append(inactive, dir)
		case "cleaned":
		default:
			t.Fatalf("cleanup.py: %q", l)
		}
	}
	expectExit(t, p)
	return active, inactive, p.StderrText()
}

// goCleanup runs Home.Cleanup in the Go peer and returns what it removed.
func goCleanup(t *testing.T, home string, env []string) []string {
	t.Helper()
	p := start(t, home, goSide, env, "cleanup")
	var removed []string
	for {
		l := p.Line()
		if l == "done" {
			break
		}
		dir, ok := strings.CutPrefix(l, "removed ")
		if !ok {
			t.Fatalf("cleanup: %q", l)
		}
		removed = append(removed, dir)
	}
	expectExit(t, p)
	return removed
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Case 7: liveness and cleanup across languages, on a home with a live and
// a SIGKILLed channel of each language.
func TestLivenessAndCleanup(t *testing.T) {
	t.Parallel()

	// formix-pubsub 1.0.0 advertises "automatic cleanup" of stale channels.
	// In fact nothing is removed unless someone calls
	// Channel.cleanup_inactive(): publish() only skips channels whose pid
	// is gone, and creating or closing a channel cleans nothing. Our
	// Publish removes every dead channel in the home, whatever the topic.
	t.Run("publishers and dead channels", func(t *testing.T) {
		t.Parallel()
		h := newMixedHome(t)
		active, inactive, _ := pyJudge(t, h.home, nil, true)
		if !sameSet(active, []string{h.dirs["live.go"], h.dirs["live.py"]}) ||
			!sameSet(inactive, []string{h.dirs["dead.go"], h.dirs["dead.py"]}) {
			t.Errorf("formix-pubsub judges active %q, inactive %q", active, inactive)
		}
		ls := goLs(t, h.home, nil)
		for topic, want := range map[string]lsEntry{
			"live.go": {Live: true, Runtime: "go"}, "live.py": {Live: true, Runtime: "python"},
			"dead.go": {Live: false, Runtime: "go"}, "dead.py": {Live: false, Runtime: "python"},
		} {
			got := ls[filepath.Base(h.dirs[topic])]
			if got.Live != want.Live || got.Runtime != want.Runtime {
				t.Errorf("Go judges %s as %+v, want live=%v runtime=%s", topic, got, want.Live, want.Runtime)
			}
		}

		res, log := publish(t, h.home, pySide, nil, []msg{{Topic: "dead.go"}, {Topic: "dead.py"}})
		expectCounts(t, pySide, res, log, 0)
		// Nor does opening and closing a channel clean anything.
		p := start(t, h.home, pySide, nil, "hold", "another")
		live(t, p)
		p.Signal(syscall.SIGTERM)
		expectLine(t, p, "closed gone")
		expectExit(t, p)
		h.expectExist(t, map[string]bool{"dead.go": true, "dead.py": true})
		for _, topic := range []string{"dead.go", "dead.py"} {
			if files := messageFiles(t, h.dirs[topic]); len(files) != 0 {
				t.Errorf("Python publish linked %d messages into dead channel %s", len(files), topic)
			}
		}

		res, log = publish(t, h.home, goSide, nil, []msg{{Topic: "unrelated.topic"}})
		expectCounts(t, goSide, res, log, 0)
		h.expectExist(t, map[string]bool{"dead.go": false, "dead.py": false, "live.go": true, "live.py": true})
		h.publishToLive(t)
	})

	// Channel.cleanup_inactive() removes both SIGKILLed channels, the Go
	// one with its lock file, and leaves both live ones working.
	t.Run("python cleanup_inactive", func(t *testing.T) {
		t.Parallel()
		h := newMixedHome(t)
		_, inactive, log := pyJudge(t, h.home, nil, false)
		if !sameSet(inactive, []string{h.dirs["dead.go"], h.dirs["dead.py"]}) {
			t.Errorf("formix-pubsub judges inactive %q", inactive)
		}
		if strings.Contains(log, "WARNING") || strings.Contains(log, "Traceback") {
			t.Errorf("cleanup_inactive() complained:\n%s", log)
		}
		h.expectExist(t, map[string]bool{"dead.go": false, "dead.py": false, "live.go": true, "live.py": true})
		h.publishToLive(t)
	})

	// Home.Cleanup removes both SIGKILLed channels, and leaves both live
	// ones working.
	t.Run("go cleanup", func(t *testing.T) {
		t.Parallel()
		h := newMixedHome(t)
		removed := goCleanup(t, h.home, nil)
		if !sameSet(removed, []string{h.dirs["dead.go"], h.dirs["dead.py"]}) {
			t.Errorf("Go cleanup removed %q", removed)
		}
		h.expectExist(t, map[string]bool{"dead.go": false, "dead.py": false, "live.go": true, "live.py": true})
		h.publishToLive(t)
	})
}

// shareWithPeer shares home with the group of the peer that env makes run
// as nobody (chgrp nogroup, chmod 2770), as the security model asks of a
// home used by two users. Without env, the peer is this user.
func shareWithPeer(t *testing.T, home string, env []string) {
	t.Helper()
	if env == nil {
		return
	}
	if err := os.Chown(home, 0, nobody); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o770|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
}

// otherUser returns the environment that makes a peer run as another user
// than the suite, or nil when the suite is not root and cannot.
func otherUser() []string {
	if os.Geteuid() == 0 {
		return []string{"PEER_UID=" + strconv.Itoa(nobody)}
	}
	return nil
}

func alive(pid int) bool { return unix.Kill(pid, 0) == nil }

// A channel owned by another user's live process: kill(pid, 0) fails with
// EPERM. formix-pubsub judges it inactive, so its cleanup_inactive()
// deletes it wherever the file modes let it; the Go library judges it
// live and keeps it.
func TestCleanupOtherUser(t *testing.T) {
	t.Parallel()

	// A stand-in that needs no second user: a channel named with pid 1,
	// which belongs to root. Run as root, the peers become nobody.
	t.Run("pid 1", func(t *testing.T) {
		t.Parallel()
		env := otherUser()
		if env == nil && unix.Kill(1, 0) == nil {
			proctest.SkipOutsideCI(t, "pid 1 runs as this user; no other user's process to name")
		}
		home := newHome(t)
		shareWithPeer(t, home, env)
		dir := filepath.Join(home, "init.owned_AAAAAAAAAAAA_1")
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mkfifo(filepath.Join(dir, "queue"), 0o660); err != nil {
			t.Fatal(err)
		}

		if e := goLs(t, home, env)[filepath.Base(dir)]; !e.Live {
			t.Errorf("Go judges the channel of pid 1 as %+v, want live", e)
		}
		if removed := goCleanup(t, home, env); len(removed) != 0 {
			t.Errorf("Go cleanup removed %q", removed)
		}
		_, inactive, _ := pyJudge(t, home, env, false)
		if !slices.Equal(inactive, []string{dir}) {
			t.Errorf("formix-pubsub judges inactive %q, want the channel of pid 1", inactive)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("after cleanup_inactive(): %v; want the channel of pid 1 deleted", err)
		}
	})

	// A live Go channel of root, in a home root shares with nobody's
	// group, cleaned by formix-pubsub running as nobody: it is deleted
	// under its live owner, and publishers no longer reach it.
	t.Run("python deletes a live Go channel", func(t *testing.T) {
		t.Parallel()
		env := otherUser()
		if env == nil {
			proctest.SkipOutsideCI(t, "needs root, to run a peer as another user")
		}
		home := newHome(t)
		shareWithPeer(t, home, env)
		owner := start(t, home, goSide, []string{"PEER_UMASK=0"}, "hold", "shared")
		dir := live(t, owner)
		_, inactive, log := pyJudge(t, home, env, false)
		if !slices.Equal(inactive, []string{dir}) {
			t.Errorf("formix-pubsub judges inactive %q, want the live Go channel", inactive)
		}
		if !alive(owner.Cmd.Process.Pid) {
			t.Fatal("the owner died")
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("after cleanup_inactive() as another user: %v; want the live channel deleted\n%s", err, log)
		}
		res, _ := publish(t, home, goSide, nil, []msg{{Topic: "shared"}})
		if res[0].N != 0 {
			t.Errorf("Go publish reached %d channels after the deletion", res[0].N)
		}
		owner.Signal(syscall.SIGKILL)
		_ = owner.Wait()
	})

	// The same in a home every user may list (sticky, mode 1777) but that
	// root does not share: formix-pubsub still judges the live Go channel
	// dead and tries, but the channel is root's alone (mode 0700); it logs
	// the failures and the channel keeps working.
	t.Run("python tries to delete a live Go channel", func(t *testing.T) {
		t.Parallel()
		env := otherUser()
		if env == nil {
			proctest.SkipOutsideCI(t, "needs root, to run a peer as another user")
		}
		home := newHome(t)
		// Open to all but sticky: others may list it, not remove what
		// is not theirs.
		if err := os.Chmod(home, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		owner := start(t, home, goSide, []string{"PEER_UMASK=022"}, "sub", "shared")
		dir := live(t, owner)
		_, inactive, log := pyJudge(t, home, env, false)
		if !slices.Equal(inactive, []string{dir}) {
			t.Errorf("formix-pubsub judges inactive %q, want the live Go channel", inactive)
		}
		if !strings.Contains(log, "Failed to clean up") || !strings.Contains(log, "Permission denied") {
			t.Errorf("cleanup_inactive() as another user logged:\n%s\nwant failures to delete", log)
		}
		for _, name := range []string{"", "queue", "lock"} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
				t.Errorf("after cleanup_inactive(): %v", err)
			}
		}
		res, log := publish(t, home, goSide, nil, []msg{{Topic: "shared", Content: []byte("still here")}})
		expectCounts(t, goSide, res, log, 1)
		readRecords(t, owner, 1)
		owner.Signal(syscall.SIGTERM)
		expectLine(t, owner, "done 1 signal")
		expectExit(t, owner)
	})

	// A live Python channel of root, in a home root shares with nobody's
	// group, judged by the Go library running as nobody: live, and Cleanup
	// keeps it.
	t.Run("go keeps a live Python channel", func(t *testing.T) {
		t.Parallel()
		env := otherUser()
		if env == nil {
			proctest.SkipOutsideCI(t, "needs root, to run a peer as another user")
		}
		home := newHome(t)
		shareWithPeer(t, home, env)
		owner := start(t, home, pySide, []string{"PEER_UMASK=0"}, "hold", "shared")
		dir := live(t, owner)
		if e := goLs(t, home, env)[filepath.Base(dir)]; !e.Live || e.Runtime != "python" {
			t.Errorf("Go as another user judges the live Python channel as %+v, want live python", e)
		}
		if removed := goCleanup(t, home, env); len(removed) != 0 {
			t.Errorf("Go cleanup as another user removed %q", removed)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("after Go cleanup: %v", err)
		}
		owner.Signal(syscall.SIGTERM)
		expectLine(t, owner, "closed gone")
		expectExit(t, owner)
	})
}
