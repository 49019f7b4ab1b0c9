package engine

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub/internal/wire"
)

// parked waits until a reader of c is parked on its FIFO.
func parked(c *Channel) {
	for !c.turn.parked.Load() {
		runtime.Gosched()
	}
}

// nextAfterWait runs Next(ctx) and, once it is parked, publishes content
// to wake it (nothing if content is empty), and returns what it got.
func nextAfterWait(t *testing.T, h *Home, c *Channel, ctx context.Context, content string) (string, error) {
	t.Helper()
	if content == "" {
		return channelNext(c, ctx)()
	}
	return nextOnce(channelNext(c, ctx), c.turn.parked.Load, func() {
		if _, _, _, err := h.Publish("t", []byte(content), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// channelNext is a Next of c with ctx.
func channelNext(c *Channel, ctx context.Context) func() (string, error) {
	return func() (string, error) {
		var w wire.Message
		err := c.Next(ctx, &w)
		return string(w.Content), err
	}
}

// nextOnce runs next in a goroutine and, once ready says so, runs then;
// it returns what next got.
func nextOnce(next func() (string, error), ready func() bool, then func()) (string, error) {
	type result struct {
		content string
		err     error
	}
	got := make(chan result, 1)
	go func() {
		content, err := next()
		got <- result{content, err}
	}()
	for !ready() {
		runtime.Gosched()
	}
	then()
	r := <-got
	return r.content, r.err
}

// keepHook has Next(ctx) wait on c and get a message, which leaves the
// hook of ctx on.
func keepHook(t *testing.T, h *Home, c *Channel, ctx context.Context) {
	t.Helper()
	if got, err := nextAfterWait(t, h, c, ctx, "one"); err != nil || got != "one" {
		t.Fatalf("Next = %q, %v", got, err)
	}
	if c.hookStop == nil {
		t.Fatal("no hook kept")
	}
}

// The hook that wakes a parked Next when its context is done outlives the
// call, for the next call with the same context: it must still wake that
// one, and, once its context is done, leave alone the calls with another.
func TestContextHookKeptBetweenCalls(t *testing.T) {
	h := testHome(t)
	c := testChannel(t, h, "t")
	a, cancelA := context.WithCancelCause(context.Background())
	for _, want := range []string{"one", "two"} {
		if got, err := nextAfterWait(t, h, c, a, want); err != nil || got != want {
			t.Fatalf("Next(a) = %q, %v; want %q", got, err, want)
		}
	}
	if c.hookStop == nil {
		t.Fatal("no hook kept after a wait with a context that can be done")
	}
	// Parked with a, hooked on an earlier call: a's end wakes it.
	stopA := errors.New("a is done")
	go func() {
		parked(c)
		cancelA(stopA)
	}()
	if _, err := nextAfterWait(t, h, c, a, ""); err != stopA {
		t.Fatalf("Next(a) after cancel: %v, want a's cause", err)
	}
	// a's hook fired; b waits and gets its messages all the same.
	b, cancelB := context.WithCancelCause(context.Background())
	for _, want := range []string{"three", "four"} {
		if got, err := nextAfterWait(t, h, c, b, want); err != nil || got != want {
			t.Fatalf("Next(b) = %q, %v; want %q", got, err, want)
		}
	}
	// A context whose hook was replaced ends: b's wait goes on.
	x, cancelX := context.WithCancel(context.Background())
	if got, err := nextAfterWait(t, h, c, x, "five"); err != nil || got != "five" {
		t.Fatalf("Next(x) = %q, %v", got, err)
	}
	got := make(chan error, 1)
	go func() {
		var w wire.Message
		err := c.Next(b, &w)
		if err == nil && string(w.Content) != "six" {
			err = errors.New("got " + string(w.Content))
		}
		got <- err
	}()
	parked(c)
	cancelX()
	if _, _, _, err := h.Publish("t", []byte("six"), nil); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Next(b) after x ended: %v, want six", err)
	}
	stopB := errors.New("b is done")
	go func() {
		parked(c)
		cancelB(stopB)
	}()
	if _, err := nextAfterWait(t, h, c, b, ""); err != stopB {
		t.Fatalf("Next(b) after cancel: %v, want b's cause", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.hookStop != nil || c.hookDone != nil {
		t.Fatal("Close left the hook")
	}
}

// hookFired waits until the hook of a context that is done has set the
// FIFO's deadline in the past, as it does when it fires outside a wait.
func hookFired(c *Channel) {
	for {
		err := c.rc.Read(func(uintptr) bool { return true })
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		runtime.Gosched()
	}
}

// A hook that fired after its Next returned leaves a deadline in the past;
// Fetch must still read the FIFO, as the bridge's drain does once its
// context is done.
func TestFetchAfterKeptHookFired(t *testing.T) {
	h := testHome(t)
	c := testChannel(t, h, "t")
	ctx, cancel := context.WithCancel(context.Background())
	keepHook(t, h, c, ctx)
	cancel()
	hookFired(c)
	for _, s := range []string{"two", "three"} {
		if _, _, _, err := h.Publish("t", []byte(s), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"two", "three"} {
		var w wire.Message
		if err := c.Fetch(&w); err != nil || string(w.Content) != want {
			t.Fatalf("Fetch = %q, %v; want %q", w.Content, err, want)
		}
	}
}

// Next with a context that ended after its hook was kept returns at once:
// the hook fired already and will not wake a wait again. (With the rescan
// an hour away, a wait would hang the test.)
func TestNextOnContextDoneAfterKeptHook(t *testing.T) {
	defer func(d time.Duration) { idleRescan = d }(idleRescan)
	idleRescan = time.Hour
	h := testHome(t)
	c := testChannel(t, h, "t")
	ctx, cancel := context.WithCancelCause(context.Background())
	keepHook(t, h, c, ctx)
	stop := errors.New("interrupted in the handler")
	cancel(stop)
	hookFired(c)
	for range 50 { // Next picks ctx.Done or the reader's place at random
		var w wire.Message
		if err := c.Next(ctx, &w); err != stop {
			t.Fatalf("Next on a done context: %v, want its cause", err)
		}
	}
}

// A channel dropped without Close, whose hook is still on a live context,
// is collected all the same, and its FIFO's descriptor closed: the hook
// holds the FIFO weakly.
func TestKeptHookLetsAnAbandonedChannelGo(t *testing.T) {
	h := testHome(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // only after the check: the context outlives the channel
	fifoLink := func() string {
		c, err := h.NewChannel("t", nil)
		if err != nil {
			t.Fatal(err)
		}
		keepHook(t, h, c, ctx)
		var fd uintptr
		if err := c.rc.Control(func(f uintptr) { fd = f }); err != nil {
			t.Fatal(err)
		}
		return "/proc/self/fd/" + strconv.Itoa(int(fd))
	}()
	inode := func() uint64 { // of the file the descriptor is open on; 0 once closed
		fi, err := os.Stat(fifoLink)
		if err != nil {
			return 0
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	target := inode()
	if target == 0 {
		t.Fatal("no FIFO open")
	}
	for range 1000 {
		runtime.GC()
		runtime.Gosched()
		if inode() != target {
			return // closed (or the number reused by another file)
		}
	}
	t.Fatalf("%s (inode %d) still open after the channel was dropped", fifoLink, target)
}
