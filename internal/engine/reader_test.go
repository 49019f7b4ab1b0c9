package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pubsub-go/pubsub/internal/wire"
)

// A backlog larger than one listing takes is delivered whole and oldest
// first, in several passes.
func TestScanInPasses(t *testing.T) {
	saved := maxScan
	maxScan = 100
	defer func() { maxScan = saved }()
	h := testHome(t)
	ch, err := h.NewChannel("backlog", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	const total = 350
	for _, i := range rand.Perm(total) { // written in any order
		id := uint64(1000 + i)
		b, err := wire.Encode(&wire.Message{ID: id, Topic: "backlog"})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ch.Dir(), strconv.FormatUint(id, 10)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range total {
		var m wire.Message
		if err := ch.Fetch(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.ID != uint64(1000+i) {
			t.Fatalf("message %d has id %d: not oldest first", i, m.ID)
		}
		if len(ch.scanned) > maxScan {
			t.Fatalf("%d ids held, more than a listing takes", len(ch.scanned))
		}
	}
	if err := ch.Fetch(new(wire.Message)); !errors.Is(err, ErrNoMessage) {
		t.Fatal(err)
	}
}

// A channel reads its FIFO a page at a time until a read fills that, then
// a whole FIFO at a time; an idle one keeps the page. Every message still
// comes, in order.
func TestReadBufferGrowsWhenBusy(t *testing.T) {
	h := testHome(t)
	busy := testChannel(t, h, "busy")
	idle := testChannel(t, h, "idle")
	const n = 200 // about 60 KiB of inline frames: more than a page
	for i := range n {
		if _, _, _, err := h.Publish("busy", make([]byte, 256), map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	var w wire.Message
	for i := range n {
		if err := busy.Fetch(&w); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if w.Headers["i"] != int64(i) {
			t.Fatalf("message %d came as %v", i, w.Headers["i"])
		}
	}
	if err := busy.Fetch(&w); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("one more: %v", err)
	}
	if err := idle.Fetch(&w); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("idle channel: %v", err)
	}
	if len(busy.raw) != rawMax || len(idle.raw) != rawSize {
		t.Fatalf("read buffers: busy %d bytes, idle %d; want %d and %d", len(busy.raw), len(idle.raw), rawMax, rawSize)
	}
}

// TestDoneContextStopsAReaderWithABacklog: Next on a done context returns
// its cause even with messages pending, every time, so that a consumer
// told to stop does not drain the backlog first; Fetch still takes them.
// Channels and queue workers alike.
func TestDoneContextStopsAReaderWithABacklog(t *testing.T) {
	h := testHome(t)
	c := testChannel(t, h, "t")
	w := join(t, h, "jobs", QueueConfig{Pattern: "jobs"})
	const n = 50
	for range n {
		if _, _, _, err := h.Publish("t", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := h.Publish("jobs", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("told to stop")
	cancel(stop)
	for i := range n {
		var m wire.Message
		if err := c.Next(ctx, &m); err != stop {
			t.Fatalf("channel, call %d: Next = %v, want the context's cause", i, err)
		}
		var d Delivery
		if err := w.Next(ctx, &d); err != stop {
			t.Fatalf("queue worker, call %d: Next = %v, want the context's cause", i, err)
		}
	}
	for i := range n {
		var m wire.Message
		if err := c.Fetch(&m); err != nil {
			t.Fatalf("Fetch %d after: %v", i, err)
		}
	}
	// Closed as well: the context's cause still, as documented.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var m wire.Message
	if err := c.Next(ctx, &m); err != stop {
		t.Errorf("closed channel, done context: Next = %v, want the context's cause", err)
	}
	if err := c.Next(context.Background(), &m); err != ErrClosed {
		t.Errorf("closed channel: Next = %v, want ErrClosed", err)
	}
}

// TestTakenRecordsAreLetGo: once its messages are taken, a channel holds
// no reference to the reads they came in, which an idle channel would
// otherwise keep alive until its next read.
func TestTakenRecordsAreLetGo(t *testing.T) {
	h := testHome(t)
	c := testChannel(t, h, "t")
	for range 3 {
		if _, _, _, err := h.Publish("t", make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	var w wire.Message
	for i := range 3 {
		if err := c.Fetch(&w); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for i, r := range c.recBuf {
		if r.inline != nil {
			t.Fatalf("slot %d of the records still holds an inline message of %d bytes", i, len(r.inline))
		}
	}
}
