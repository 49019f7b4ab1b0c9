package bridge_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// TestCoreStoppedSubscriber: on the importing home, one subscriber
// process is stopped (SIGSTOP) and another reads, both on the topic a
// burst comes in on, faster than the stopped one's channel can take it
// (it has each message spilled to a file): B's bridge is stopped while A
// publishes, so that the whole burst comes to it at once. The importer must not let the
// stopped channel hold up the NATS subscription: the healthy subscriber
// gets every message, in order, the stopped one too once it goes on
// (SIGCONT), and the bridge's stop line counts no drop.
func TestCoreStoppedSubscriber(t *testing.T) {
	const n = 100_000
	// Without the race detector, which slows the processes so much that
	// the burst never comes faster than the importer takes it.
	bin := pubsubFastBin(t)
	srv, a, b := startNATS(t), newHome(t), newHome(t)
	ba := &bridgeProc{t: t, home: a.Dir(), args: []string{"--nats", srv.url, "--export", "sc.+"}, bin: bin}
	ba.start()
	bb := &bridgeProc{t: t, home: b.Dir(), args: []string{"--nats", srv.url, "--import", "sc.+"}, bin: bin}
	bb.start()
	healthy := subscribeToFile(t, bin, b, "sc.+")
	stopped := subscribeToFile(t, bin, b, "sc.+")
	stopped.Signal(syscall.SIGSTOP)
	waitFor(t, "the subscriber to stop", func() bool { return allStopped(t, stopped.Cmd.Process.Pid) })

	// The burst reaches B's bridge at once: it waits for B in the server
	// (up to its max_pending, 64 MiB), as it would in a busy network.
	bb.Signal(syscall.SIGSTOP)
	waitFor(t, "B's bridge to stop", func() bool { return allStopped(t, bb.Cmd.Process.Pid) })
	// Back to back, as fast as one publisher goes.
	batch := make([][]byte, 0, 1000)
	for i := range n {
		batch = append(batch, []byte(strconv.Itoa(i)))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := a.PublishBatch("sc.t", batch, nil); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if sa := ba.stop(); sa["exported"] != n {
		t.Fatalf("A exported %d of %d", sa["exported"], n)
	}
	bb.Signal(syscall.SIGCONT)
	// A's bridge has sent everything, so what B receives after a marker
	// sent now includes all of it.
	nc := natsConn(t, srv.url)
	waitFor(t, "a marker after the burst", func() bool {
		if err := nc.Publish("pubsub.sc.end", []byte("end")); err != nil {
			t.Fatal(err)
		}
		return nc.Flush() == nil && bytes.Contains(healthy.read(), []byte("\nend\n"))
	})
	sb := bb.stop()
	t.Logf("B: %v", sb)
	for _, k := range []string{"slow consumer drops", "channel misses"} {
		if _, ok := sb[k]; !ok {
			t.Errorf("B's stop line has no %q count", k)
		}
	}
	if sb["slow consumer drops"] != 0 || sb["channel misses"] != 0 {
		t.Errorf("B dropped messages: %v", sb)
	}
	if got := len(healthy.messages()); got+sb["slow consumer drops"] != n {
		t.Errorf("the healthy subscriber got %d of %d messages, and B counts %d dropped: every drop must be counted",
			got, n, sb["slow consumer drops"])
	}
	checkLines(t, "the healthy subscriber", healthy.messages(), n)

	stopped.Signal(syscall.SIGCONT)
	waitFor(t, "the stopped subscriber to catch up", func() bool { return bytes.Contains(stopped.read(), []byte("\nend\n")) })
	checkLines(t, "the stopped subscriber", stopped.messages(), n)
}

// fileSubscriber is a "pubsub subscribe" process writing to a file, so
// that nothing it writes waits for the test to read it.
type fileSubscriber struct {
	*proctest.Proc
	file string
}

func subscribeToFile(t *testing.T, bin string, h *pubsub.Home, pattern string) *fileSubscriber {
	t.Helper()
	s := &fileSubscriber{file: filepath.Join(t.TempDir(), "out")}
	s.Proc = proctest.Start(t, nil, "sh", "-c", `exec "$0" --home "$1" subscribe "$2" >"$3"`, bin, h.Dir(), pattern, s.file)
	waitFor(t, "the subscriber to be live", func() bool { return strings.Contains(s.StderrText(), "pubsub: subscribed to") })
	t.Cleanup(func() {
		_ = s.Cmd.Process.Signal(syscall.SIGCONT)
		_ = s.Cmd.Process.Signal(syscall.SIGTERM)
		_ = s.Wait()
	})
	return s
}

func (s *fileSubscriber) read() []byte {
	b, _ := os.ReadFile(s.file)
	return b
}

// messages returns the lines written so far, the markers left out.
func (s *fileSubscriber) messages() []string {
	var out []string
	for _, l := range strings.Split(string(s.read()), "\n") {
		if l != "" && l != "end" {
			out = append(out, l)
		}
	}
	return out
}

// checkLines checks that lines hold 0..n-1 in order, once each.
func checkLines(t *testing.T, who string, lines []string, n int) {
	t.Helper()
	if len(lines) != n {
		t.Errorf("%s got %d messages of %d", who, len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Errorf("%s: message %d is %q: lost, repeated or out of order", who, i, l)
			return
		}
	}
}
