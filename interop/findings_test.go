//go:build interop

package interop

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// messageFiles returns the contents of the message files (named by a
// decimal id) in a channel directory, by name.
func messageFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if strings.Trim(e.Name(), "0123456789") != "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// lsEntry is one line of the Go peer's ls mode.
type lsEntry struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Live    bool   `json:"live"`
	Runtime string `json:"runtime"`
}

// goLs lists the channels of home as the Go library sees them, by
// directory name.
func goLs(t *testing.T, home string, env []string) map[string]lsEntry {
	t.Helper()
	p := start(t, home, goSide, env, "ls")
	out := map[string]lsEntry{}
	for {
		l := p.Line()
		if l == "done" {
			break
		}
		var e lsEntry
		decodeLine(t, p, l, &e)
		out[e.Name] = e
	}
	expectExit(t, p)
	return out
}

// formix-pubsub draws the low 16 bits of a message id at random. When the
// id names a message still pending in a channel, os.link fails with EEXIST:
// publish() logs "File exists", leaves that channel out of its count, and
// the message never reaches it. The script makes two messages draw the
// same id (seeding Python's random alike) while a Go channel and a Python
// channel hold the first unread; neither gets the second. A stream of a
// thousand messages in a second meets this about one run in three (see
// TestPythonPublishesToGo).
func TestPythonIDCollision(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	goSub := start(t, home, goSide, nil, "sub", "-mode", "wait", "collide")
	pyHold := start(t, home, pySide, nil, "hold", "collide")
	live(t, goSub)
	pyDir := live(t, pyHold)

	p := start(t, home, pySide, nil, "collide", "collide")
	pairs := 0
	for {
		var r struct {
			First, Second int
			SameWindow    bool `json:"same_window"`
			Warnings      []string
		}
		decodeLine(t, p, p.Line(), &r)
		pairs++
		if !r.SameWindow {
			continue // two ids, two deliveries: try again
		}
		if r.First != 2 || r.Second != 0 {
			t.Fatalf("same id twice: publish() counted %d then %d channels, want 2 then 0 (warnings %q)", r.First, r.Second, r.Warnings)
		}
		if len(r.Warnings) != 2 || !collision.MatchString(r.Warnings[0]) || !collision.MatchString(r.Warnings[1]) {
			t.Fatalf("warnings %q, want two \"File exists\"", r.Warnings)
		}
		break
	}
	expectExit(t, p)

	goSub.Signal(syscall.SIGUSR1) // start reading
	goSub.Signal(syscall.SIGTERM) // and stop once the queue is empty
	recs, done := readUntilDone(t, goSub)
	// Each pair across two windows drew two ids and delivered both.
	wantSecond := pairs - 1
	seconds := 0
	for _, r := range recs {
		if *r.Content == base64.StdEncoding.EncodeToString([]byte("second")) {
			seconds++
		}
	}
	if len(recs) != pairs+wantSecond || seconds != wantSecond || done != fmt.Sprintf("done %d signal", len(recs)) {
		t.Errorf("Go channel got %d messages, %d of them \"second\" (%q); want %d and %d",
			len(recs), seconds, done, pairs+wantSecond, wantSecond)
	}
	files := messageFiles(t, pyDir)
	if len(files) != pairs+wantSecond {
		t.Errorf("Python channel holds %d messages, want %d", len(files), pairs+wantSecond)
	}
	seconds = 0
	for _, b := range files {
		if bytes.HasSuffix(b, []byte("second")) {
			seconds++
		}
	}
	if seconds != wantSecond {
		t.Errorf("Python channel holds %d \"second\" messages, want %d", seconds, wantSecond)
	}
	pyHold.Signal(syscall.SIGTERM)
	expectLine(t, pyHold, "closed gone")
}

// formix-pubsub 1.0.0 creates a channel's directory and FIFO in
// Channel(topic), but opens the FIFO only in open() (or `with`). Until
// then the channel exists for publishers but has no reader:
//   - the Go library judges it live, and Publish reports it missed with
//     ErrNotReading, leaving nothing in it;
//   - formix-pubsub's publish links the message in, fails to open the FIFO
//     (ENXIO), logs it and leaves the file behind;
//   - close() on a channel never opened returns early and deletes nothing:
//     the directory and the stray file stay until the owner is dead and
//     someone cleans up.
func TestUnopenedPythonChannel(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	hold := start(t, home, pySide, nil, "hold", "-unopened", "lazy")
	dir := live(t, hold)
	fi, err := os.Lstat(filepath.Join(dir, "queue"))
	if err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		t.Fatalf("queue of an unopened channel: %v, %v; want a FIFO", fi, err)
	}
	if e := goLs(t, home, nil)[filepath.Base(dir)]; !e.Live || e.Runtime != "python" {
		t.Errorf("Go sees the unopened channel as %+v, want live python", e)
	}

	res, _ := publish(t, home, goSide, nil, []msg{{Topic: "lazy", Content: []byte("from Go")}})
	if res[0].N != 0 || !strings.Contains(res[0].Err, "no reader") {
		t.Errorf("Go publish to an unopened channel: n=%d err=%q, want 0 and ErrNotReading", res[0].N, res[0].Err)
	}
	if files := messageFiles(t, dir); len(files) != 0 {
		t.Errorf("Go publish left %d files in the unopened channel", len(files))
	}

	res, _ = publish(t, home, pySide, nil, []msg{{Topic: "lazy", Content: []byte("from Python")}})
	enxio := regexp.MustCompile(`^Failed to publish message \d+ to .*/queue: \[Errno 6\] No such device or address`)
	if res[0].N != 0 || len(res[0].Warnings) != 1 || !enxio.MatchString(res[0].Warnings[0]) {
		t.Errorf("Python publish to an unopened channel: n=%d warnings %q, want 0 and ENXIO", res[0].N, res[0].Warnings)
	}
	if files := messageFiles(t, dir); len(files) != 1 {
		t.Errorf("Python publish left %d files in the unopened channel, want its message", len(files))
	}

	hold.Signal(syscall.SIGTERM)
	expectLine(t, hold, "closed exists")
	expectExit(t, hold)
	if files := messageFiles(t, dir); len(files) != 1 {
		t.Errorf("after close(): %d files, want the stray message still there", len(files))
	}
	cleaner := start(t, home, goSide, nil, "cleanup")
	expectLine(t, cleaner, "removed "+dir)
	expectLine(t, cleaner, "done")
	expectExit(t, cleaner)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Go cleanup: %v, want the dead channel gone", err)
	}
}
