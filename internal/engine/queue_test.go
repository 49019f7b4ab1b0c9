package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/wire"
)

func testHome(t *testing.T) *Home {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-queue-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// testChannel makes a channel on topic, closed when the test ends.
func testChannel(t *testing.T, h *Home, topic string) *Channel {
	t.Helper()
	c, err := h.NewChannel(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func join(t *testing.T, h *Home, name string, cfg QueueConfig) *Worker {
	t.Helper()
	w, err := h.JoinQueue(name, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func publishN(t *testing.T, h *Home, topic string, n int) {
	t.Helper()
	for i := range n {
		if _, reached, missed, err := h.Publish(topic, []byte(strconv.Itoa(i)), nil); reached != 1 || missed != nil || err != nil {
			t.Fatalf("publish %d: reached %d, %v, %v", i, reached, missed, err)
		}
	}
}

func next(t *testing.T, w *Worker) *Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d := new(Delivery)
	if err := w.Next(ctx, d); err != nil {
		t.Fatalf("Next: %v", err)
	}
	return d
}

// A queue takes each message once whatever its workers, hands each to one
// of them in the order they came, and forgets it once acknowledged.
func TestQueueOrderAndAck(t *testing.T) {
	h := testHome(t)
	a := join(t, h, "jobs", QueueConfig{Pattern: "jobs.+"})
	b := join(t, h, "jobs", QueueConfig{Pattern: "jobs.+"})
	publishN(t, h, "jobs.resize", 10)
	for i := range 10 {
		w := a
		if i%2 == 1 {
			w = b
		}
		d := next(t, w)
		if string(d.Msg.Content) != strconv.Itoa(i) || d.Deliveries != 1 {
			t.Fatalf("message %d: %q, delivery %d", i, d.Msg.Content, d.Deliveries)
		}
		if err := w.Ack(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Fetch(new(Delivery)); err != ErrNoMessage {
		t.Fatalf("Fetch after all acked: %v", err)
	}
	if n := a.q.state.load(offMessages); n != 0 {
		t.Fatalf("%d messages counted after every ack", n)
	}
}

// Messages published while no worker is attached wait for the first.
func TestQueueWaitsForWorkers(t *testing.T) {
	h := testHome(t)
	if _, err := h.EnsureQueue("jobs", QueueConfig{Pattern: "jobs"}, 0); err != nil {
		t.Fatal(err)
	}
	publishN(t, h, "jobs", 100)
	w := join(t, h, "jobs", QueueConfig{Pattern: "jobs"})
	for i := range 100 {
		d := next(t, w)
		if string(d.Msg.Content) != strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, d.Msg.Content)
		}
		w.Ack(d)
	}
}

// A message given back is delivered again with its count, and becomes a
// dead letter after MaxDeliveries; the rest flows.
func TestQueueDeadLetter(t *testing.T) {
	h := testHome(t)
	w := join(t, h, "jobs", QueueConfig{Pattern: "jobs", MaxDeliveries: 3})
	publishN(t, h, "jobs", 1)
	for n := 1; n <= 3; n++ {
		d := next(t, w)
		if string(d.Msg.Content) != "0" || d.Deliveries != n {
			t.Fatalf("delivery %d: %q, count %d", n, d.Msg.Content, d.Deliveries)
		}
		if err := w.Nack(d, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := h.Publish("jobs", []byte("1"), nil); err != nil {
		t.Fatal(err)
	}
	d := next(t, w)
	if string(d.Msg.Content) != "1" {
		t.Fatalf("after the poison message: %q", d.Msg.Content)
	}
	w.Ack(d)
	if got := w.q.state.load(offDead); got != 1 {
		t.Fatalf("%d dead letters counted", got)
	}
	if names, _ := os.ReadDir(w.q.path + "/dead"); len(names) != 1 {
		t.Fatalf("dead/ holds %v", names)
	}
}

// A worker that dies holding a message gives it back: the next worker
// gets it, delivered twice.
func TestQueueWorkerDies(t *testing.T) {
	h := testHome(t)
	a, err := h.JoinQueue("jobs", QueueConfig{Pattern: "jobs"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, h, "jobs", 1)
	next(t, a)
	// As a process killed: its intake reader stops, its lock goes, its
	// messages stay claimed.
	a.in.fifo.Close()
	<-a.in.done
	a.in.close()
	a.release()
	b := join(t, h, "jobs", QueueConfig{Pattern: "jobs"})
	d := next(t, b)
	if string(d.Msg.Content) != "0" || d.Deliveries != 2 {
		t.Fatalf("after the worker died: %q, delivery %d", d.Msg.Content, d.Deliveries)
	}
}

// A lease that runs out gives the message back; the late ack says so.
func TestQueueLease(t *testing.T) {
	h := testHome(t)
	w := join(t, h, "jobs", QueueConfig{Pattern: "jobs"})
	publishN(t, h, "jobs", 1)
	first := next(t, w)
	// Its lease ran out: the deadline in its name is past.
	past := claimedName(first.key, first.Deliveries, w.id, time.Unix(1, 0))
	if err := os.Rename(w.q.path+"/claimed/"+first.name, w.q.path+"/claimed/"+past); err != nil {
		t.Fatal(err)
	}
	w.recovered = time.Time{}
	second := next(t, w)
	if second.Deliveries != 2 {
		t.Fatalf("redelivery %d", second.Deliveries)
	}
	if err := w.Ack(first); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("ack after the lease ran out: %v", err)
	}
}

// The reject policy refuses past the bound and says so; drop-oldest drops
// the oldest and counts it.
func TestQueueBounds(t *testing.T) {
	h := testHome(t)
	if _, err := h.EnsureQueue("strict", QueueConfig{Pattern: "b", MaxMessages: 3}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := h.EnsureQueue("lossy", QueueConfig{Pattern: "b", MaxMessages: 3, DropOldest: true}, 0); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, n, missed, err := h.Publish("b", []byte(strconv.Itoa(i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if i < 3 && (n != 2 || missed != nil) {
			t.Fatalf("message %d: %d, %v", i, n, missed)
		}
		if i >= 3 && (n != 1 || len(missed) != 1 || !errors.Is(missed[0].Err, ErrQueueFull)) {
			t.Fatalf("message %d past the bound: %d, %v", i, n, missed)
		}
	}
	w := join(t, h, "lossy", QueueConfig{Pattern: "b"})
	for _, want := range []string{"2", "3", "4"} {
		d := next(t, w)
		if string(d.Msg.Content) != want {
			t.Fatalf("lossy: %q, want %q", d.Msg.Content, want)
		}
		w.Ack(d)
	}
	if got := w.q.state.load(offDropped); got != 2 {
		t.Fatalf("%d dropped", got)
	}
}

func TestQueueConfigRoundTrip(t *testing.T) {
	c := QueueConfig{Pattern: "a.+", MaxMessages: 7, MaxBytes: 9, MaxAge: time.Minute, DropOldest: true, Lease: time.Second, MaxDeliveries: 2, RetryDelay: time.Millisecond}
	got, err := parseQueueLine([]byte(c.queueLine()))
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func FuzzParseQueueLine(f *testing.F) {
	f.Add([]byte(QueueConfig{Pattern: "a.+"}.withDefaults().queueLine()))
	f.Add([]byte("pubsub-queue 1 pattern=x max-messages=-1\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := parseQueueLine(text)
		if err != nil {
			return
		}
		if err := c.check(); err != nil {
			t.Fatalf("parsed a config check refuses: %+v: %v", c, err)
		}
		again, err := parseQueueLine([]byte(c.queueLine()))
		if err != nil || again != c {
			t.Fatalf("%q reads back as %+v, %v", c.queueLine(), again, err)
		}
	})
}

func FuzzQueueNames(f *testing.F) {
	k := queueKey{entered: 1, id: 2}
	f.Add(readyName(k, 0))
	f.Add(claimedName(k, 1, "12-abcdefgh", time.Unix(5, 0)))
	f.Add(delayedName(time.Unix(5, 0), k, 3))
	f.Fuzz(func(t *testing.T, name string) {
		if k, n, ok := parseReadyName(name); ok && readyName(k, n) != name {
			t.Fatalf("ready %q reads as %v %d", name, k, n)
		}
		if k, n, w, d, ok := parseClaimedName(name); ok && claimedName(k, n, w, d) != name {
			t.Fatalf("claimed %q reads as %v %d %s %v", name, k, n, w, d)
		}
		if d, k, n, ok := parseDelayedName(name); ok && delayedName(d, k, n) != name {
			t.Fatalf("delayed %q reads as %v %v %d", name, d, k, n)
		}
	})
}

var _ = fmt.Sprint
var _ = wire.Message{}

// FuzzQueueRecords: anything may be written into a queue's FIFO (another
// process's bytes). A worker takes the messages that are in the queue,
// each once, whatever came before them, and does not fail on the junk.
func FuzzQueueRecords(f *testing.F) {
	k := queueKey{entered: 1, id: 2}
	f.Add(appendQueueRecord(nil, k, 0))
	f.Add([]byte{1, 2, 3})
	f.Add(append(appendQueueRecord(nil, queueKey{}, 0), 0xff))
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-fuzz-")
	if err != nil {
		f.Fatal(err)
	}
	defer os.RemoveAll(dir)
	h, err := Open(dir, Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	w, err := h.JoinQueue("fuzz", QueueConfig{Pattern: "fuzz"}, 0)
	if err != nil {
		f.Fatal(err)
	}
	defer w.Close()
	f.Fuzz(func(t *testing.T, junk []byte) {
		if len(junk) > 4096 {
			junk = junk[:4096]
		}
		fd, err := os.OpenFile(w.q.path+"/"+queueNotify, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fd.Write(junk)
		fd.Close()
		for _, body := range []string{"one", "two"} {
			if _, n, _, err := h.Publish("fuzz", []byte(body), nil); n != 1 || err != nil {
				t.Fatalf("publish: %d, %v", n, err)
			}
		}
		got := map[string]int{}
		for tries := 0; len(got) < 2 && tries < 100; tries++ {
			var d Delivery
			err := w.Fetch(&d)
			if err == ErrNoMessage {
				w.listDue = true // as the next idle tick would
				continue
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			got[string(d.Msg.Content)]++
			if err := w.Ack(&d); err != nil {
				t.Fatal(err)
			}
		}
		if got["one"] != 1 || got["two"] != 1 {
			t.Fatalf("after %d bytes of junk: got %v", len(junk), got)
		}
		// Drain what the junk left in the FIFO, for the next input.
		for i := 0; i < 1000 && w.Fetch(new(Delivery)) != ErrNoMessage; i++ {
		}
		w.scanned, w.haveRec = nil, false
	})
}

// A publisher hands a record to an idle worker through the worker's own
// FIFO (handoff.go): the worker parked gets it, and the publisher's other
// descriptors (its stdin, which a stray close once hit) are left alone.
func TestQueueHandOff(t *testing.T) {
	h := testHome(t)
	w := join(t, h, "jobs", QueueConfig{Pattern: "jobs"})
	before, err := fsysFstat(0)
	if err != nil {
		t.Skip("no stdin to watch")
	}
	got := make(chan string, 1)
	go func() {
		d := new(Delivery)
		if err := w.Next(t.Context(), d); err == nil {
			w.Ack(d)
			got <- string(d.Msg.Content)
		}
	}()
	state, _, _ := w.q.state.slot(w.slot)
	for state.Load() != slotIdle { // until it parks on its own FIFO
		runtime.Gosched()
	}
	publishN(t, h, "jobs", 1)
	if c := <-got; c != "0" {
		t.Fatalf("handed %q", c)
	}
	if after, err := fsysFstat(0); err != nil || after != before {
		t.Fatalf("stdin changed under the publisher: %+v, %v; was %+v", after, err, before)
	}
}

func fsysFstat(fd int) (fsys.Stat, error) { return fsys.Fstat(fd) }
