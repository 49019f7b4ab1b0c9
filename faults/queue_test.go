package faults_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// tally counts what faultproc workers report: each message's handlings,
// and per worker.
type tally struct {
	mu      sync.Mutex
	handled map[[2]uint64]int // {pub, seq} -> times
	total   int
	bad     []string
	perProc map[*proctest.Proc]int
	changed chan struct{} // a token when the tally grew
	ended   sync.WaitGroup
}

func newTally() *tally {
	return &tally{handled: map[[2]uint64]int{}, perProc: map[*proctest.Proc]int{}, changed: make(chan struct{}, 1)}
}

// startWorker starts a faultproc worker of queue and tallies its lines,
// until it ends.
func (ta *tally) startWorker(t *testing.T, home, queue, pattern string, fail ...string) *proctest.Proc {
	t.Helper()
	p := proctest.Start(t, nil, faultproc(t), append([]string{"work", home, queue, pattern}, fail...)...)
	p.WaitFor("live ")
	ta.ended.Add(1)
	go func() {
		defer ta.ended.Done()
		p.Drain(func(line string) {
			var pub, seq uint64
			var n int
			ta.mu.Lock()
			switch {
			case strings.HasPrefix(line, "got "):
				if _, err := fmt.Sscanf(line, "got %d %d %d", &pub, &seq, &n); err == nil {
					ta.handled[[2]uint64{pub, seq}]++
					ta.total++
					ta.perProc[p]++
				}
			case strings.HasPrefix(line, "bad "):
				ta.bad = append(ta.bad, line)
			}
			ta.mu.Unlock()
			select {
			case ta.changed <- struct{}{}:
			default:
			}
		})
	}()
	return p
}

// waitDistinct waits until n distinct messages were handled.
func (ta *tally) waitDistinct(t *testing.T, n int) {
	t.Helper()
	ta.waitUntil(t, fmt.Sprintf("%d distinct messages handled", n), func() bool { return len(ta.handled) >= n })
}

// waitUntil waits until cond, called with the tally locked, holds.
func (ta *tally) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(proctest.Deadline)
	for {
		ta.mu.Lock()
		ok, got := cond(), len(ta.handled)
		ta.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ta.changed:
		case <-deadline:
			t.Fatalf("not %s after %v: %d distinct handled", what, proctest.Deadline, got)
		}
	}
}

// check fails unless messages 0..n-1 of publisher pub were each handled
// at least once, and at most once unless dups allows more in all.
func (ta *tally) check(t *testing.T, pub uint64, n, dups int) {
	t.Helper()
	ta.mu.Lock()
	defer ta.mu.Unlock()
	if len(ta.bad) > 0 {
		t.Fatalf("%d corrupt messages, the first %s", len(ta.bad), ta.bad[0])
	}
	extra := 0
	for seq := range uint64(n) {
		c := ta.handled[[2]uint64{pub, seq}]
		if c == 0 {
			t.Fatalf("publisher %d's message %d was never handled", pub, seq)
		}
		extra += c - 1
	}
	if extra > dups {
		t.Fatalf("%d messages of publisher %d handled twice or more; at most %d allowed", extra, pub, dups)
	}
}

func stopAll(t *testing.T, ta *tally, procs ...*proctest.Proc) {
	t.Helper()
	for _, p := range procs {
		p.Signal(syscall.SIGTERM)
	}
	ta.ended.Wait()
}

func openHome(t *testing.T, dir string) *pubsub.Home {
	t.Helper()
	h, err := pubsub.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Four workers share what one publisher sends: each message is handled
// exactly once, and every worker handles some.
func TestQueueWorkersShareTheWork(t *testing.T) {
	n := scale(20_000, 100_000)
	home := newHome(t)
	h := openHome(t, home)
	if err := h.CreateQueue("jobs", "jobs.+", pubsub.WithMaxMessages(int64(n))); err != nil {
		t.Fatal(err)
	}
	ta := newTally()
	var workers []*proctest.Proc
	for range 4 {
		workers = append(workers, ta.startWorker(t, home, "jobs", "jobs.+"))
	}
	pub := startPub(t, home, "jobs.resize", 1, n, "64")
	expectPublished(t, pub, n, n)
	ta.waitDistinct(t, n)
	stopAll(t, ta, workers...)
	ta.check(t, 1, n, 0)
	for _, w := range workers {
		if ta.perProc[w] == 0 {
			t.Errorf("worker %v handled nothing: %v", w, ta.perProc)
		}
	}
	t.Logf("handled per worker: %v", ta.perProc)
	infos, err := h.Queues()
	if err != nil || infos[0].Messages != 0 || infos[0].Backlog != 0 || infos[0].InFlight != 0 {
		t.Fatalf("the queue after the work: %+v, %v", infos, err)
	}
}

// Workers SIGKILLed at random while messages flow, new ones started in
// their place: every message is handled at least once, and a message is
// handled twice only where a worker was killed between handling it and
// acknowledging it, so no more often than workers were killed.
func TestQueueWorkersKilledAtRandom(t *testing.T) {
	n := scale(20_000, 100_000)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	home := newHome(t)
	h := openHome(t, home)
	if err := h.CreateQueue("jobs", "jobs", pubsub.WithMaxMessages(int64(n))); err != nil {
		t.Fatal(err)
	}
	ta := newTally()
	var workers []*proctest.Proc
	for range 4 {
		workers = append(workers, ta.startWorker(t, home, "jobs", "jobs"))
	}
	pub := startPub(t, home, "jobs", 1, n, "64,600")
	kills := 0
	for next := rng.IntN(n / 20); ; next += 1 + rng.IntN(n/10) {
		if next >= n*9/10 {
			break
		}
		ta.waitDistinct(t, next)
		i := rng.IntN(len(workers))
		workers[i].Signal(syscall.SIGKILL)
		workers[i].Wait()
		kills++
		workers[i] = ta.startWorker(t, home, "jobs", "jobs")
	}
	expectPublished(t, pub, n, n)
	ta.waitDistinct(t, n)
	stopAll(t, ta, workers...)
	ta.check(t, 1, n, kills)
	t.Logf("%d workers killed; %d handlings for %d messages", kills, ta.total, n)
}

// Messages published while no worker runs wait for the first: a publisher
// sends half while four workers run, which are then killed, and another
// publisher the other half with none; four new workers handle everything
// that was not handled, and nothing twice but where a worker was killed.
func TestQueueWorkersAndPublisherRestarted(t *testing.T) {
	n := scale(10_000, 50_000)
	home := newHome(t)
	h := openHome(t, home)
	if err := h.CreateQueue("jobs", "jobs", pubsub.WithMaxMessages(int64(2*n))); err != nil {
		t.Fatal(err)
	}
	ta := newTally()
	var workers []*proctest.Proc
	for range 4 {
		workers = append(workers, ta.startWorker(t, home, "jobs", "jobs"))
	}
	pub := startPub(t, home, "jobs", 1, n, "64")
	ta.waitDistinct(t, n/2)
	for _, w := range workers {
		w.Signal(syscall.SIGKILL)
	}
	ta.ended.Wait()
	expectPublished(t, pub, n, n)
	pub = startPub(t, home, "jobs", 2, n, "64")
	expectPublished(t, pub, n, n)
	workers = workers[:0]
	for range 4 {
		workers = append(workers, ta.startWorker(t, home, "jobs", "jobs"))
	}
	ta.waitDistinct(t, 2*n)
	stopAll(t, ta, workers...)
	ta.check(t, 1, n, 4)
	ta.check(t, 2, n, 0)
}

// A message its handler always fails is given back until the maximum
// deliveries, then made a dead letter; the other messages flow.
func TestQueuePoisonMessage(t *testing.T) {
	const n = 200
	home := newHome(t)
	h := openHome(t, home)
	if err := h.CreateQueue("jobs", "jobs", pubsub.WithMaxDeliveries(3), pubsub.WithRetryDelay(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	ta := newTally()
	workers := []*proctest.Proc{ta.startWorker(t, home, "jobs", "jobs", "1:50"), ta.startWorker(t, home, "jobs", "jobs", "1:50")}
	pub := startPub(t, home, "jobs", 1, n, "64")
	expectPublished(t, pub, n, n)
	poison := [2]uint64{1, 50}
	ta.waitUntil(t, "every message handled, the poison one 3 times", func() bool {
		return len(ta.handled) == n && ta.handled[poison] >= 3
	})
	// A handler's error is given back before its worker takes a signal.
	stopAll(t, ta, workers...)
	dls, err := h.DeadLetters("jobs")
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].Deliveries != 3 {
		t.Fatalf("dead letters %+v; want the poison message, delivered 3 times", dls)
	}
	ta.check(t, 1, n, 2) // the poison message, handled three times
	if c := ta.handled[poison]; c != 3 {
		t.Fatalf("the poison message was handled %d times", c)
	}
}

// A full queue with the reject policy (the default) refuses a message, and
// the publisher is told, naming the queue (faultproc stops there); one with
// drop-oldest keeps the newest and counts what it dropped; a queue's messages past their
// maximum age expire, counted, handed to no worker.
func TestQueueBounds(t *testing.T) {
	const bound, n = 100, 150
	home := newHome(t)
	h := openHome(t, home)
	for name, opts := range map[string][]pubsub.QueueOption{
		"strict":   {pubsub.WithMaxMessages(bound)},
		"lossy":    {pubsub.WithMaxMessages(bound), pubsub.WithDropOldest()},
		"fleeting": {pubsub.WithMaxAge(time.Nanosecond)},
	} {
		if err := h.CreateQueue(name, "jobs."+name, opts...); err != nil {
			t.Fatal(err)
		}
	}

	pub := startPub(t, home, "jobs.strict", 1, n, "64")
	if code := pub.ExitCode(); code != 1 || !strings.Contains(pub.StderrText(), fmt.Sprintf("publish %d: ", bound)) ||
		!strings.Contains(pub.StderrText(), "queues/strict: queue full") {
		t.Fatalf("publisher into a full queue: exit %d, stderr %s", code, pub.StderrText())
	}

	expectPublished(t, startPub(t, home, "jobs.lossy", 1, n, "64"), n, n)
	ta := newTally()
	w := ta.startWorker(t, home, "lossy", "jobs.lossy")
	ta.waitDistinct(t, bound)
	stopAll(t, ta, w)
	for seq := range uint64(n) {
		if kept := seq >= n-bound; (ta.handled[[2]uint64{1, seq}] == 1) != kept {
			t.Fatalf("message %d: handled %d times; the oldest %d were to be dropped", seq, ta.handled[[2]uint64{1, seq}], n-bound)
		}
	}

	expectPublished(t, startPub(t, home, "jobs.fleeting", 1, n, "64"), n, n)
	q, err := h.NewQueue("fleeting", "jobs.fleeting")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if m, err := q.Fetch(); err != pubsub.ErrNoMessage {
		t.Fatalf("a queue whose messages expired gave %v, %v", m, err)
	}

	infos, err := h.Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		want := map[string][3]int64{"strict": {1, 0, 0}, "lossy": {0, n - bound, 0}, "fleeting": {0, 0, n}}[info.Name]
		if got := [3]int64{info.Rejected, info.Dropped, info.Expired}; got != want {
			t.Errorf("queue %s: rejected, dropped, expired %v, want %v", info.Name, got, want)
		}
	}
}
