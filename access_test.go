package pubsub_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModePerm | fs.ModeSetgid); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

// Everything made in a private home is its owner's alone, whatever the
// umask.
func TestPrivateHomeModes(t *testing.T) {
	old := unix.Umask(0)
	defer unix.Umask(old)
	home := filepath.Join(homeDir(t), "new")
	h, err := pubsub.Open(home, pubsub.WithFilesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ch := newChannel(t, h, "private")
	publish(t, h, "private", "secret", nil)
	wantMode(t, home, 0o700)
	wantMode(t, filepath.Join(home, "tmp"), 0o700)
	wantChannelModes(t, ch, 0o700, 0o600)
}

// A home shared with a group (group-writable and setgid) gives the group
// what it needs, even under a umask that would take it away.
func TestSharedHomeModes(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	home := homeDir(t)
	if err := os.Chmod(home, 0o770|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	h, err := pubsub.Open(home, pubsub.WithFilesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ch := newChannel(t, h, "shared")
	publish(t, h, "shared", "for the group", nil)
	wantMode(t, filepath.Join(home, "tmp"), 0o770|fs.ModeSetgid)
	wantChannelModes(t, ch, 0o770|fs.ModeSetgid, 0o660)
}

// wantChannelModes checks the modes of ch's directory, its FIFO and the
// one message file it holds.
func wantChannelModes(t *testing.T, ch *pubsub.Channel, dir, file fs.FileMode) {
	t.Helper()
	wantMode(t, ch.Dir(), dir)
	wantMode(t, filepath.Join(ch.Dir(), "queue"), file)
	files := pendingFiles(t, ch.Dir())
	if len(files) != 1 {
		t.Fatalf("message files %v, want 1", files)
	}
	wantMode(t, filepath.Join(ch.Dir(), files[0]), file)
}

// A home anyone could have planted or tampered with is refused, with the
// reason and the fix; nothing is created through it.
func TestUnsafeHomesAreRefused(t *testing.T) {
	base := homeDir(t)
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	badTmp := filepath.Join(base, "badtmp")
	if err := os.Mkdir(badTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(badTmp, "tmp")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dir  string
		want []string
	}{
		{link, []string{"symbolic link", "PUBSUB_HOME"}},
		{file, []string{"not a directory", "PUBSUB_HOME"}},
		{open, []string{"writable by every user", "sticky", "chmod o-w " + open}},
		{badTmp, []string{filepath.Join(badTmp, "tmp"), "not a directory"}},
	} {
		h, err := pubsub.Open(tt.dir)
		if err == nil {
			h.Close()
			t.Errorf("Open(%s) succeeded", tt.dir)
			continue
		}
		if !containsAll(err.Error(), tt.want...) {
			t.Errorf("Open(%s): %v\nwant it to say %q", tt.dir, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Errorf("something was created through a symlink: %v", entries)
	}

	// With the sticky bit, others cannot remove what is not theirs.
	if err := os.Chmod(open, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	h, err := pubsub.Open(open)
	if err != nil {
		t.Fatalf("sticky home: %v", err)
	}
	h.Close()
}

// Two real users besides root: a home is used by another user only when
// its owner shares it with a group of theirs.
func TestTwoUsers(t *testing.T) {
	if os.Getuid() != 0 {
		proctest.SkipOutsideCI(t, "switching users needs root")
	}
	const nobody, nogroup, daemon = 65534, 65534, 1
	bin := helperBin(t)
	as := func(uid, gid int, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return cmd
	}

	// root's private homes, as this package and as formix-pubsub make them.
	for _, mode := range []fs.FileMode{0o700, 0o755} {
		home := homeDir(t)
		if err := os.Chmod(home, mode); err != nil {
			t.Fatal(err)
		}
		out, err := as(nobody, nogroup, "pub", home, "t", "1", "8").CombinedOutput()
		if err == nil || !containsAll(string(out), "belongs to user root (uid 0), not to you (user nobody (uid 65534))", "PUBSUB_HOME") {
			t.Errorf("nobody on root's %v home: %v\n%s", mode, err, out)
		}
	}

	// A home every user may write, sticky: nobody may add a channel, but
	// root's publisher does not count it as one of root's subscribers.
	open := homeDir(t)
	if err := os.Chmod(open, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(open, "secret_PLANTEDPLANT_1")
	if err := os.Mkdir(planted, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(planted, "queue"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(planted, nobody, nogroup); err != nil {
		t.Fatal(err)
	}
	qfd, err := unix.Open(filepath.Join(planted, "queue"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(qfd)
	ho, err := pubsub.Open(open)
	if err != nil {
		t.Fatal(err)
	}
	defer ho.Close()
	if n := publish(t, ho, "secret", "the password", nil); n != 0 {
		t.Errorf("root's message reached %d channels planted by nobody", n)
	}
	if n, _ := unix.Read(qfd, make([]byte, 64)); n > 0 {
		t.Errorf("nobody's planted channel got %d bytes", n)
	}

	// nobody's tmp/ in root's private home is refused.
	squat := homeDir(t)
	if err := os.Mkdir(filepath.Join(squat, "tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(squat, "tmp"), nobody, nogroup); err != nil {
		t.Fatal(err)
	}
	if h, err := pubsub.Open(squat); err == nil || !containsAll(err.Error(), "staging directory", "belongs to user nobody", "remove it") {
		if err == nil {
			h.Close()
		}
		t.Errorf("Open with nobody's tmp/: %v", err)
	}

	// A private home of root's, shared afterwards: root's next Open shares
	// its tmp/ as well, and nobody can then use it.
	later := homeDir(t)
	if h, err := pubsub.Open(later); err != nil {
		t.Fatal(err)
	} else {
		h.Close()
	}
	if err := os.Chown(later, 0, nogroup); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(later, 0o770|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if out, err := as(nobody, nogroup, "pub", later, "t", "1", "8").CombinedOutput(); err == nil || !containsAll(string(out), "chgrp GROUP", "chmod 2770", "tmp") {
		t.Errorf("nobody before root shared tmp/: %v\n%s", err, out)
	}
	if h, err := pubsub.Open(later); err != nil {
		t.Fatal(err)
	} else {
		h.Close()
	}
	wantMode(t, filepath.Join(later, "tmp"), 0o770|fs.ModeSetgid)
	if out, err := as(nobody, nogroup, "pub", later, "t", "1", "8").CombinedOutput(); err != nil {
		t.Errorf("nobody after root shared tmp/: %v\n%s", err, out)
	}

	// nobody's home, shared with daemon's group, which nobody is not in.
	notIn := homeDir(t)
	if err := os.Chown(notIn, nobody, daemon); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(notIn, 0o770|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if out, err := as(nobody, nogroup, "pub", notIn, "t", "1", "8").CombinedOutput(); err == nil || !containsAll(string(out), "shared with group daemon", "which you are not in") {
		t.Errorf("nobody in its own home shared with daemon's group: %v\n%s", err, out)
	}

	// A home root shares with nogroup.
	home := homeDir(t)
	if err := os.Chown(home, 0, nogroup); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o770|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	h, err := pubsub.Open(home, pubsub.WithFilesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rootCh := newChannel(t, h, "to.root")

	out, err := as(nobody, nogroup, "pub", home, "to.root", "1", "8").CombinedOutput()
	if err != nil || string(out) != "published 1 1\n" {
		t.Fatalf("nobody publishing in the shared home: %v\n%s", err, out)
	}
	if m := fetch(t, rootCh); m.Headers["seq"] != int64(0) {
		t.Fatalf("root got %+v", m)
	}

	// nobody's channel, written by root: the file is the group's.
	hold := as(nobody, nogroup, "hold", home, "to.nobody")
	stdout, err := hold.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { hold.Process.Kill(); hold.Wait() }()
	line := make([]byte, 4096)
	n, err := stdout.Read(line)
	dir, ok := strings.CutPrefix(strings.TrimSpace(string(line[:n])), "live ")
	if err != nil || !ok {
		t.Fatalf("nobody's channel did not come up: %q, %v", line[:n], err)
	}
	if n := publish(t, h, "to.nobody", "hello", nil); n != 1 {
		t.Fatalf("root reached %d channels, want nobody's", n)
	}
	files := pendingFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("files in nobody's channel: %v", files)
	}
	for _, p := range []string{dir, filepath.Join(dir, files[0])} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Gid != nogroup || st.Mode&0o007 != 0 {
			t.Errorf("%s: group %d, mode %o; want nogroup's, nothing for others", p, st.Gid, st.Mode&0o7777)
		}
	}

	// A file nobody may not read, announced in nobody's channel: reported
	// once as a bad message (set aside), and the next message arrives.
	sub := as(nobody, nogroup, "sub", home, "to.sub", "1")
	subOut, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sub.Process.Kill(); sub.Wait() }()
	r := bufio.NewReader(subOut)
	liveLine, err := r.ReadString('\n')
	subDir, ok := strings.CutPrefix(strings.TrimSpace(liveLine), "live ")
	if err != nil || !ok {
		t.Fatalf("nobody's subscriber did not come up: %q, %v", liveLine, err)
	}
	if err := os.WriteFile(filepath.Join(subDir, "1000"), []byte("root's own"), 0o600); err != nil {
		t.Fatal(err)
	}
	queue, err := os.OpenFile(filepath.Join(subDir, "queue"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = queue.Write([]byte{0, 0, 0, 0, 0, 0, 0x03, 0xe8})
	queue.Close()
	if err != nil {
		t.Fatal(err)
	}
	publish(t, h, "to.sub", "after the unreadable one", nil)
	rest, _ := io.ReadAll(r)
	if err := sub.Wait(); err != nil || !containsAll(string(rest), base64.StdEncoding.EncodeToString([]byte("after the unreadable one")), "done 1 nil") {
		t.Errorf("nobody's subscriber after an unreadable file: %v\n%s", err, rest)
	}

	// daemon is not in nogroup.
	out, err = as(daemon, daemon, "pub", home, "to.root", "1", "8").CombinedOutput()
	if err == nil || !containsAll(string(out), "not shared with a group of yours", "PUBSUB_HOME") {
		t.Errorf("daemon in a home shared with nogroup: %v\n%s", err, out)
	}
}
