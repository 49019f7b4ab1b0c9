package faults_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

var long = flag.Bool("long", os.Getenv("PUBSUB_LONG") == "1", "run the fault-injection suite at full size")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	proctest.Cleanup()
	os.Exit(code)
}

// scale picks the CI size or, with -long, the full size.
func scale(ci, full int) int {
	if *long {
		return full
	}
	return ci
}

// faultproc is built without the race detector: these tests are about
// load, and the detector would slow the processes many times over and
// multiply the memory the backlog test measures. The library runs under
// the detector in its own tests.
func faultproc(t *testing.T) string {
	return proctest.BuildFast(t, "github.com/pubsub-go/pubsub/faults/faultproc")
}

// newHome makes an empty home directory on tmpfs.
func newHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// summary is what a faultproc subscriber reports when it ends.
type summary struct {
	received, dup, corrupt, disorder, publishers, hwmKiB int
	firstError                                           string
}

func startSub(t *testing.T, home, pattern string, want int) (*proctest.Proc, string) {
	t.Helper()
	p := proctest.Start(t, nil, faultproc(t), "sub", home, pattern, strconv.Itoa(want))
	return p, p.WaitFor("live ")
}

func startPub(t *testing.T, home, topic string, pub, n int, sizes string, batch ...string) *proctest.Proc {
	t.Helper()
	args := append([]string{"pub", home, topic, strconv.Itoa(pub), strconv.Itoa(n), sizes}, batch...)
	p := proctest.Start(t, nil, faultproc(t), args...)
	p.WaitFor("ready")
	return p
}

func waitSummary(t *testing.T, p *proctest.Proc) summary {
	t.Helper()
	line := "done " + p.WaitFor("done ")
	var s summary
	if _, err := fmt.Sscanf(line, "done received=%d dup=%d corrupt=%d disorder=%d publishers=%d hwm_kib=%d error=%q",
		&s.received, &s.dup, &s.corrupt, &s.disorder, &s.publishers, &s.hwmKiB, &s.firstError); err != nil {
		t.Fatalf("%v: bad summary %q: %v", p, line, err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", p, err, p.StderrText())
	}
	return s
}

// expectAll checks that a subscriber got every one of want messages from
// publishers publishers, once each, whole, in each publisher's order.
func expectAll(t *testing.T, who string, s summary, want, publishers int) {
	t.Helper()
	if s.received != want || s.dup != 0 || s.corrupt != 0 || s.disorder != 0 || s.publishers != publishers {
		t.Errorf("%s: %+v; want %d messages from %d publishers, none twice, none corrupt, in order", who, s, want, publishers)
	}
}

func expectPublished(t *testing.T, p *proctest.Proc, n, reached int) {
	t.Helper()
	if got, want := p.WaitFor("published "), fmt.Sprintf("%d %d", n, reached); got != want {
		t.Errorf("%v: published %s, want %s", p, got, want)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", p, err, p.StderrText())
	}
}

// A subscriber stopped (SIGSTOP) while messages pile up for it, then
// resumed, gets every one once, in order, and its memory does not grow
// with the backlog.
func TestStalledSubscriberGetsTheWholeBacklog(t *testing.T) {
	n := scale(100_000, 1_000_000)
	home := newHome(t)
	sub, _ := startSub(t, home, "stall", n)
	sub.Signal(syscall.SIGSTOP)
	start := time.Now()
	expectPublished(t, startPub(t, home, "stall", 1, n, "128"), n, n)
	published := time.Since(start)
	sub.Signal(syscall.SIGCONT)
	s := waitSummary(t, sub)
	expectAll(t, "subscriber", s, n, 1)
	const limitKiB = 64 << 10
	if s.hwmKiB <= 0 || s.hwmKiB > limitKiB {
		t.Errorf("subscriber peak RSS %d KiB, want under %d", s.hwmKiB, limitKiB)
	}
	t.Logf("backlog of %d messages of 128 B: published in %v, drained in %v; subscriber peak RSS %.1f MiB",
		n, published.Round(time.Millisecond), (time.Since(start) - published).Round(time.Millisecond), float64(s.hwmKiB)/1024)
}

// Eight publisher processes flat out into one subscriber: every message
// arrives once; ids drawn in the same microseconds never lose one.
func TestEightPublishersOneSubscriber(t *testing.T) {
	const pubs = 8
	n := scale(20_000, 100_000)
	home := newHome(t)
	sub, _ := startSub(t, home, "fan.in", pubs*n)
	var ps []*proctest.Proc
	for i := range pubs {
		ps = append(ps, startPub(t, home, "fan.in", i, n, "128"))
	}
	for _, p := range ps {
		expectPublished(t, p, n, n)
	}
	expectAll(t, "subscriber", waitSummary(t, sub), pubs*n, pubs)
}

// Four publishers with PublishBatch (some messages too large to go
// inline) into an exact and a wildcard subscriber: every message once,
// whole, in each publisher's order, also when the FIFO overflows.
func TestBatchPublishers(t *testing.T) {
	const pubs = 4
	n := scale(20_000, 200_000)
	home := newHome(t)
	exact, _ := startSub(t, home, "batch.in", pubs*n)
	wild, _ := startSub(t, home, "batch.+", pubs*n)
	var ps []*proctest.Proc
	for i := range pubs {
		ps = append(ps, startPub(t, home, "batch.in", i, n, "100,300,100,9000", "50"))
	}
	for _, p := range ps {
		expectPublished(t, p, n, 2*n)
	}
	expectAll(t, "exact subscriber", waitSummary(t, exact), pubs*n, pubs)
	expectAll(t, "wildcard subscriber", waitSummary(t, wild), pubs*n, pubs)
}

// One publisher, sixteen subscribers, some on wildcards: each gets every
// message once, in order.
func TestSixteenSubscribers(t *testing.T) {
	n := scale(10_000, 100_000)
	patterns := []string{"fan.out.all", "fan.out.=", "fan.+", "+"}
	home := newHome(t)
	var subs []*proctest.Proc
	for i := range 16 {
		p, _ := startSub(t, home, patterns[i%len(patterns)], n)
		subs = append(subs, p)
	}
	expectPublished(t, startPub(t, home, "fan.out.all", 1, n, "128"), n, 16*n)
	for i, p := range subs {
		expectAll(t, fmt.Sprintf("subscriber %d on %s", i, patterns[i%len(patterns)]), waitSummary(t, p), n, 1)
	}
}

// Publishers killed with SIGKILL at random moments, mid-write of small,
// medium and large messages, to two channels (so both staging paths are
// used), every other one publishing with PublishBatch: the subscribers never get a partial, corrupt or repeated
// message, and cleanup removes whatever staging the dead left behind.
func TestPublishersKilledAtRandom(t *testing.T) {
	trials := scale(200, 500)
	home := newHome(t)
	exact, _ := startSub(t, home, "kill.me", 0)
	wild, _ := startSub(t, home, "kill.+", 0)
	for trial := range trials {
		var batch []string
		if trial%2 == 1 {
			batch = []string{"20"} // PublishBatch, 20 at a time
		}
		p := startPub(t, home, "kill.me", trial, 0, "64,6000,64,300000", batch...)
		// A random moment to strike, not a wait for anything.
		time.Sleep(time.Duration(rand.IntN(8000)) * time.Microsecond)
		p.Signal(syscall.SIGKILL)
		if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("trial %d: publisher ended with %v, not by SIGKILL\n%s", trial, err, p.StderrText())
		}
	}
	exact.Signal(syscall.SIGTERM)
	wild.Signal(syscall.SIGTERM)
	for _, p := range []*proctest.Proc{exact, wild} {
		s := waitSummary(t, p)
		if s.received == 0 || s.dup != 0 || s.corrupt != 0 || s.disorder != 0 {
			t.Errorf("%v after %d killed publishers: %+v; want messages, none twice, none corrupt, in order", p, trials, s)
		}
		t.Logf("%v: %d messages from %d killed publishers", p, s.received, s.publishers)
	}

	staging := filepath.Join(home, "tmp")
	before, err := os.ReadDir(staging)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pubsub.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadDir(staging)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 0 {
		t.Errorf("after cleanup, tmp/ still holds %v", names(after))
	}
	t.Logf("%d entries left in tmp/ by killed publishers, removed by cleanup", len(before))
}

func names(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
