package pubsub_test

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
)

// A Go channel whose lock nobody holds is dead even though its pid names a
// live process (here, our own): a reused pid cannot keep it alive. A
// formix-pubsub channel is judged by its pid.
func TestLivenessAndCleanup(t *testing.T) {
	h, _ := newHome(t)
	live := newChannel(t, h, "live")
	pid := strconv.Itoa(os.Getpid())

	reused := filepath.Join(h.Dir(), "reused_AAAAAAAAAAAA_"+pid)
	os.Mkdir(reused, 0o755)
	unix.Mkfifo(filepath.Join(reused, "queue"), 0o660)
	os.WriteFile(filepath.Join(reused, "lock"), nil, 0o644) // unlocked
	os.WriteFile(filepath.Join(reused, "123"), []byte("pending"), 0o644)

	pyLive, _ := fakePythonChannel(t, h, "pylive", true)
	deadPid := deadPID(t)
	pyDead := filepath.Join(h.Dir(), "pydead_BBBBBBBBBBBB_"+strconv.Itoa(deadPid))
	os.Mkdir(pyDead, 0o755)
	unix.Mkfifo(filepath.Join(pyDead, "queue"), 0o660)

	os.WriteFile(filepath.Join(h.Dir(), "tmp", "1699999999988276"), []byte("fresh staging"), 0o644)
	old := filepath.Join(h.Dir(), "tmp", "1600000000000000")
	os.WriteFile(old, []byte("old staging"), 0o644)
	os.Chtimes(old, timeAgo(10), timeAgo(10))
	halfDead := filepath.Join(h.Dir(), "tmp", "half_CCCCCCCCCCCC_"+strconv.Itoa(deadPid))
	os.Mkdir(halfDead, 0o755)

	infos, err := h.Channels()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]pubsub.ChannelInfo{}
	for _, i := range infos {
		got[i.Dir] = i
	}
	expect := []struct {
		dir     string
		live    bool
		rt      pubsub.Runtime
		pending int
	}{
		{live.Dir(), true, pubsub.RuntimeGo, 0},
		{reused, false, pubsub.RuntimeGo, 1},
		{pyLive, true, pubsub.RuntimePython, 0},
		{pyDead, false, pubsub.RuntimePython, 0},
	}
	for _, e := range expect {
		i, ok := got[e.dir]
		if !ok || i.Live != e.live || i.Runtime != e.rt || i.Pending != e.pending {
			t.Errorf("%s listed as %+v; want live=%v runtime=%v pending=%d", filepath.Base(e.dir), i, e.live, e.rt, e.pending)
		}
	}
	if len(infos) != len(expect) {
		t.Errorf("listed %d channels, want %d", len(infos), len(expect))
	}

	dry, err := h.CleanupDryRun()
	if err != nil {
		t.Fatal(err)
	}
	removed, err := h.Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{reused, pyDead, old, halfDead}
	slices.Sort(want)
	slices.Sort(removed)
	slices.Sort(dry)
	if !slices.Equal(removed, want) || !slices.Equal(dry, want) {
		t.Fatalf("Cleanup removed %q (dry run said %q), want %q", removed, dry, want)
	}
	for _, p := range want {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there", p)
		}
	}
	for _, p := range []string{live.Dir(), pyLive} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("live channel %s removed: %v", p, err)
		}
	}
}

// A publisher that meets a dead channel removes it and does not count it.
func TestPublisherReclaimsDeadChannel(t *testing.T) {
	h, _ := newHome(t)
	dead := filepath.Join(h.Dir(), "t_DDDDDDDDDDDD_"+strconv.Itoa(deadPID(t)))
	os.Mkdir(dead, 0o755)
	unix.Mkfifo(filepath.Join(dead, "queue"), 0o660)
	ch := newChannel(t, h, "t")
	if n := publish(t, h, "t", "x", nil); n != 1 {
		t.Fatalf("reached %d, want only the live channel", n)
	}
	if _, err := os.Lstat(dead); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dead channel not reclaimed: %v", err)
	}
	fetch(t, ch)
}

// A channel whose owner is alive but another user's (kill gives EPERM) is
// alive. The publisher runs as nobody when we are root; otherwise the
// channel claims pid 1, which is root's.
func TestOtherUsersProcessIsAlive(t *testing.T) {
	h, _ := newHome(t)
	ownerPid := 1
	cmd := exec.Command(helperBin(t), "pub", h.Dir(), "other", "1", "8")
	if os.Getuid() == 0 {
		ownerPid = os.Getpid()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	dir := filepath.Join(h.Dir(), "other_EEEEEEEEEEEE_"+strconv.Itoa(ownerPid))
	os.Mkdir(dir, 0o777)
	unix.Mkfifo(filepath.Join(dir, "queue"), 0o666)
	os.Chmod(filepath.Join(dir, "queue"), 0o666)
	fd, err := unix.Open(filepath.Join(dir, "queue"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if os.Getuid() == 0 {
		// Share the home with nobody's group, as the security model asks.
		for _, d := range []string{h.Dir(), filepath.Join(h.Dir(), "tmp")} {
			if err := os.Chown(d, 0, 65534); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d, 0o770|fs.ModeSetgid); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.Chmod(dir, 0o777)
	os.Chown(dir, 0, 65534) // made before the home was shared
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "published 1 1\n" {
		t.Fatalf("publisher as another user: %v\n%s", err, out)
	}
	if files := pendingFiles(t, dir); len(files) != 1 {
		t.Fatalf("message files %v, want 1", files)
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func timeAgo(minutes int) time.Time { return time.Now().Add(-time.Duration(minutes) * time.Minute) }

// A plain publisher that removes a dead process's channel says nothing on
// the program's default logger: the library logs only to a logger it is
// given, and there it says what it removed.
func TestQuietByDefault(t *testing.T) {
	var program logBuffer
	saved := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&program, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(saved)

	for _, given := range []bool{false, true} {
		dir := homeDir(t)
		var logs logBuffer
		var opts []pubsub.Option
		if given {
			opts = append(opts, pubsub.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		}
		h, err := pubsub.Open(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		dead := filepath.Join(dir, "jobs_DDDDDDDDDDDD_"+strconv.Itoa(deadPID(t)))
		if err := os.Mkdir(dead, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mkfifo(filepath.Join(dead, "queue"), 0o600); err != nil {
			t.Fatal(err)
		}
		if n, err := h.Publish("jobs", []byte("x"), nil); n != 0 || err != nil {
			t.Fatalf("Publish = %d, %v", n, err)
		}
		if _, err := os.Stat(dead); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the dead channel is still there: %v", err)
		}
		h.Close()
		if given && !strings.Contains(logs.String(), "removed channel of a dead process") {
			t.Errorf("the logger given heard nothing of the removal: %q", logs.String())
		}
	}
	if program.String() != "" {
		t.Errorf("the library wrote to the program's default logger: %q", program.String())
	}
}
