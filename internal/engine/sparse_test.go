package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// sparseReaders makes every reader that took at most sparseTaken messages
// before a wait block in poll(2) on its next, at once; and makes a parked
// reader never look at its directory on its own, so that only a wake-up
// ends a wait.
func sparseReaders(t *testing.T) {
	t.Helper()
	after, rescan := sparseAfter, idleRescan
	sparseAfter, idleRescan = 0, time.Hour
	t.Cleanup(func() { sparseAfter, idleRescan = after, rescan })
}

// nextBlocked runs Next(ctx) on c, which must be sparse already; once it
// is blocked in poll(2), it runs then, and returns what Next got.
func nextBlocked(c *Channel, ctx context.Context, then func()) (string, error) {
	return nextOnce(channelNext(c, ctx), c.keep.blocked.Load, then)
}

// sparse has c take a message through a wait sparseWaits times, after
// which its next wait blocks in poll(2).
func sparse(t *testing.T, h *Home, c *Channel) {
	t.Helper()
	takeThroughWaits(t, "reader", channelNext(c, context.Background()), c.turn.parked.Load, func() {
		if _, _, _, err := h.Publish(c.Topic(), []byte("sparse"), nil); err != nil {
			t.Fatal(err)
		}
	}, "sparse", &c.pace)
}

// takeThroughWaits has a reader (what: in failures) take a message
// through a wait sparseWaits times: next takes one, parked says it waits,
// publish sends one; then its pace must call it sparse. want, unless
// empty, is what each message holds.
func takeThroughWaits(t *testing.T, what string, next func() (string, error), parked func() bool, publish func(), want string, p *pace) {
	t.Helper()
	for range sparseWaits {
		got, err := nextOnce(next, parked, publish)
		if err != nil || want != "" && got != want {
			t.Fatalf("Next = %q, %v", got, err)
		}
	}
	if p.longWaits < sparseWaits {
		t.Fatalf("a %s that waited %d times for one message is not sparse", what, sparseWaits)
	}
}

// A burst of messages between two waits, or a short wait, makes a sparse
// reader wait in the poller again.
func TestSparseReaderUnderLoad(t *testing.T) {
	sparseReaders(t)
	h := testHome(t)
	c := testChannel(t, h, "t")
	sparse(t, h, c)
	for range sparseTaken + 1 {
		if _, _, _, err := h.Publish("t", []byte("burst"), nil); err != nil {
			t.Fatal(err)
		}
	}
	for range sparseTaken + 1 {
		var w wire.Message
		if err := c.Next(context.Background(), &w); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := nextAfterWait(t, h, c, context.Background(), "after"); err != nil || got != "after" {
		t.Fatalf("Next = %q, %v", got, err)
	}
	if c.pace.longWaits != 0 {
		t.Fatalf("%d long waits counted after a burst", c.pace.longWaits)
	}
}

func TestSparseReaderWakesForAMessage(t *testing.T) {
	sparseReaders(t)
	h := testHome(t)
	c := testChannel(t, h, "t")
	sparse(t, h, c)
	for i := range 3 {
		want := "m" + strconv.Itoa(i)
		got, err := nextBlocked(c, context.Background(), func() {
			if _, _, _, err := h.Publish("t", []byte(want), nil); err != nil {
				t.Error(err)
			}
		})
		if err != nil || got != want {
			t.Fatalf("blocked Next = %q, %v; want %q", got, err, want)
		}
	}
}

func TestSparseReaderStopsWhenDone(t *testing.T) {
	sparseReaders(t)
	h := testHome(t)
	c := testChannel(t, h, "t")
	sparse(t, h, c)
	stop := errors.New("told to stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	if _, err := nextBlocked(c, ctx, func() { cancel(stop) }); err != stop {
		t.Fatalf("blocked Next after its context ended: %v; want its cause", err)
	}
	// The wake-up it was sent is skipped: the next message comes whole.
	sparse(t, h, c)
}

func TestSparseReaderStopsAtClose(t *testing.T) {
	sparseReaders(t)
	h := testHome(t)
	c := testChannel(t, h, "t")
	sparse(t, h, c)
	if _, err := nextBlocked(c, context.Background(), func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}); err != ErrClosed {
		t.Fatalf("blocked Next after Close: %v; want ErrClosed", err)
	}
}

func TestWakeRecordsAreSkipped(t *testing.T) {
	h := testHome(t)
	c := testChannel(t, h, "t")
	c.keep.wake()
	c.keep.wake()
	if err := c.readFIFO(false); err != nil || len(c.recs) != 0 {
		t.Fatalf("two wake-ups read as %d records, %v; want none", len(c.recs), err)
	}
	c.keep.wake()
	if _, _, _, err := h.Publish("t", []byte("after"), nil); err != nil {
		t.Fatal(err)
	}
	var w wire.Message
	if err := c.Fetch(&w); err != nil || string(w.Content) != "after" {
		t.Fatalf("Fetch = %q, %v; want the message after two wake-ups", w.Content, err)
	}
	if err := c.Fetch(&w); err != ErrNoMessage {
		t.Fatalf("Fetch after the message: %v; want ErrNoMessage", err)
	}
}

// A context hook wakes a reader in the poller with a deadline, and writes
// no wake-up into the FIFO: a subscriber that ends a context a call would
// otherwise fill it.
func TestParkedReaderGetsNoWakeRecord(t *testing.T) {
	h := testHome(t)
	c := testChannel(t, h, "t")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		parked(c)
		cancel()
	}()
	if _, err := nextAfterWait(t, h, c, ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
	if c.pace.longWaits != 0 {
		t.Fatal("a wait that ended with its context counted as long")
	}
	var n int
	if err := c.rc.Control(func(fd uintptr) { n = fsys.Pending(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d bytes left in the FIFO", n)
	}
}

// Past maxBlocked blocked readers in a process, the others wait in the
// poller, and get their messages all the same.
func TestBlockedReadersAreBounded(t *testing.T) {
	sparseReaders(t)
	h := testHome(t)
	const n = maxBlocked + 3
	chans := make([]*Channel, n)
	for i := range chans {
		chans[i] = testChannel(t, h, "t"+strconv.Itoa(i))
		sparse(t, h, chans[i])
	}
	got := make(chan error, n)
	for i, c := range chans {
		go func() {
			var w wire.Message
			err := c.Next(context.Background(), &w)
			if err == nil && string(w.Content) != "m"+strconv.Itoa(i) {
				err = errors.New("got " + string(w.Content))
			}
			got <- err
		}()
	}
	// Every reader is parked, and as many as may are blocked.
	for _, c := range chans {
		parked(c)
	}
	nBlocked := func() (b int) {
		for _, c := range chans {
			if c.keep.blocked.Load() {
				b++
			}
		}
		return b
	}
	for nBlocked() < maxBlocked {
		runtime.Gosched()
	}
	for range 100 {
		if b := nBlocked(); b > maxBlocked {
			t.Fatalf("%d readers blocked; at most %d may be", b, maxBlocked)
		}
		runtime.Gosched()
	}
	for i := range chans {
		if _, _, _, err := h.Publish("t"+strconv.Itoa(i), []byte("m"+strconv.Itoa(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for range chans {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	if b := blockedReaders.Load(); b != 0 {
		t.Fatalf("%d readers still counted blocked", b)
	}
}

// A context may end at any moment of a sparse reader's wait: before it
// blocks, as it does, or once it is blocked.
func TestSparseReaderStopsWhenDoneAtAnyMoment(t *testing.T) {
	sparseReaders(t)
	h := testHome(t)
	c := testChannel(t, h, "t")
	sparse(t, h, c)
	for i := range 500 {
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan error, 1)
		go func() {
			var w wire.Message
			got <- c.Next(ctx, &w)
		}()
		for !c.turn.held.Load() {
			runtime.Gosched()
		}
		for range rand.IntN(20000) { // cancel at some point of the wait
		}
		cancel()
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: Next after cancel: %v", i, err)
		}
		if c.pace.longWaits < sparseWaits {
			sparse(t, h, c)
		}
	}
	if b := blockedReaders.Load(); b != 0 {
		t.Fatalf("%d readers still counted blocked", b)
	}
}

// sparseWorker has w, alone on its queue (so parked on its own FIFO),
// take a message through a wait sparseWaits times.
func sparseWorker(t *testing.T, h *Home, w *Worker) {
	t.Helper()
	if w.slot < 0 {
		t.Fatal("the only worker of a queue has no slot")
	}
	takeThroughWaits(t, "worker", workerNext(w, context.Background()), w.turn.parked.Load, func() { publishN(t, h, "jobs", 1) }, "", &w.pace)
}

// nextBlockedWorker runs w.Next(ctx); once w is blocked in poll(2), it
// runs then, and returns what Next got.
func nextBlockedWorker(w *Worker, ctx context.Context, then func()) (string, error) {
	return nextOnce(workerNext(w, ctx), w.ownBlocked.Load, then)
}

// workerNext is a Next of w with ctx that acknowledges what it gets.
func workerNext(w *Worker, ctx context.Context) func() (string, error) {
	return func() (string, error) {
		var d Delivery
		err := w.Next(ctx, &d)
		if err == nil {
			err = w.Ack(&d)
		}
		return string(d.Msg.Content), err
	}
}

func TestSparseWorker(t *testing.T) {
	sparseReaders(t)
	// A worker's waits end only when it is woken.
	every := recoverEvery
	recoverEvery = time.Hour
	t.Cleanup(func() { recoverEvery = every })
	h := testHome(t)
	w := join(t, h, "jobs", QueueConfig{Pattern: "jobs"})
	sparseWorker(t, h, w)
	got, err := nextBlockedWorker(w, context.Background(), func() { publishN(t, h, "jobs", 1) })
	if err != nil || got != "0" {
		t.Fatalf("blocked Next = %q, %v; want the message", got, err)
	}

	sparseWorker(t, h, w)
	stop := errors.New("told to stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	if _, err := nextBlockedWorker(w, ctx, func() { cancel(stop) }); err != stop {
		t.Fatalf("blocked Next after its context ended: %v; want its cause", err)
	}

	sparseWorker(t, h, w)
	if _, err := nextBlockedWorker(w, context.Background(), func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}); err != ErrClosed {
		t.Fatalf("blocked Next after Close: %v; want ErrClosed", err)
	}
	if b := blockedReaders.Load(); b != 0 {
		t.Fatalf("%d readers still counted blocked", b)
	}
}
