package pubsub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// Messages queued with PublishAsync arrive in the order they were
// queued, on every topic, with increasing ids, once Flush returns; the
// caller's buffer is copied.
func TestPublishAsyncOrder(t *testing.T) {
	h, _ := newHome(t)
	all := newChannel(t, h, "async.+")
	one := newChannel(t, h, "async.one")
	const n = 5000 // more than a block of the queue, and a FIFO's worth
	buf := make([]byte, 300)
	for i := range n {
		topic := "async.one"
		if i%3 == 2 {
			topic = "async.two"
		}
		copy(buf, fmt.Sprintf("%08d", i))
		var headers pubsub.Headers
		if i%500 == 0 {
			headers = pubsub.Headers{"i": i}
		}
		if err := h.PublishAsync(topic, buf, headers); err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		copy(buf, "overwritten") // the queued copy must not change
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for _, c := range []struct {
		ch   *pubsub.Channel
		skip func(i int) bool
	}{{all, func(int) bool { return false }}, {one, func(i int) bool { return i%3 == 2 }}} {
		var last uint64
		for i := range n {
			if c.skip(i) {
				continue
			}
			m := fetch(t, c.ch)
			if got := string(m.Content[:8]); got != fmt.Sprintf("%08d", i) || len(m.Content) != 300 {
				t.Fatalf("%s: message %d arrived as %q (%d bytes)", c.ch.Topic(), i, got, len(m.Content))
			}
			if m.ID <= last {
				t.Fatalf("%s: message %d has id %d after %d", c.ch.Topic(), i, m.ID, last)
			}
			last = m.ID
			if i%500 == 0 && m.Headers["i"] != int64(i) {
				t.Fatalf("%s: message %d headers %v", c.ch.Topic(), i, m.Headers)
			}
		}
		if _, err := c.ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
			t.Fatalf("%s: one more: %v", c.ch.Topic(), err)
		}
	}
}

// A synchronous Publish after PublishAsync keeps its place after what was
// queued, and Close writes what is still queued.
func TestPublishAsyncThenPublishAndClose(t *testing.T) {
	dir := homeDir(t)
	sub, err := pubsub.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ch, err := sub.NewChannel("mixed")
	if err != nil {
		t.Fatal(err)
	}
	h, err := pubsub.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if err := h.PublishAsync("mixed", []byte("async "+strconv.Itoa(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := h.Publish("mixed", []byte("sync"), nil); n != 1 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	for i := range 1000 {
		if err := h.PublishAsync("mixed", []byte("after "+strconv.Itoa(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil { // no Flush: Close writes them
		t.Fatalf("Close: %v", err)
	}
	if err := h.PublishAsync("mixed", []byte("closed"), nil); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("PublishAsync after Close: %v, want ErrClosed", err)
	}
	var want []string
	for i := range 1000 {
		want = append(want, "async "+strconv.Itoa(i))
	}
	want = append(want, "sync")
	for i := range 1000 {
		want = append(want, "after "+strconv.Itoa(i))
	}
	for i, w := range want {
		if got := string(fetch(t, ch).Content); got != w {
			t.Fatalf("message %d is %q, want %q", i, got, w)
		}
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("one more: %v", err)
	}
}

// What PublishAsync can check it checks at once; what goes wrong later
// Flush returns: a DeliveryError for each message a channel missed.
func TestPublishAsyncErrors(t *testing.T) {
	h, _ := newHome(t)
	var te *pubsub.TopicError
	if err := h.PublishAsync("a.+", nil, nil); !errors.As(err, &te) {
		t.Errorf("PublishAsync on a pattern: %v, want a TopicError", err)
	}
	var he *pubsub.HeaderError
	if err := h.PublishAsync("a.b", nil, pubsub.Headers{"x": []int{1}}); !errors.As(err, &he) {
		t.Errorf("PublishAsync with a list header: %v, want a HeaderError", err)
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Errorf("Flush with nothing queued: %v", err)
	}

	ok := newChannel(t, h, "late.+")
	fakePythonChannel(t, h, "late.+", false) // not reading: every message misses it
	for i := range 3 {
		if err := h.PublishAsync("late.x", []byte{byte(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	err := h.Flush(context.Background())
	des := pubsub.DeliveryErrors(err)
	if len(des) != 3 || des[0].Topic != "late.x" || len(des[0].Missed) != 1 {
		t.Fatalf("Flush = %v; want 3 delivery errors on late.x", err)
	}
	if des[0].ID >= des[1].ID || des[1].ID >= des[2].ID {
		t.Errorf("delivery errors out of order: %d %d %d", des[0].ID, des[1].ID, des[2].ID)
	}
	for i := range 3 {
		if m := fetch(t, ok); m.ID != des[i].ID || !bytes.Equal(m.Content, []byte{byte(i)}) {
			t.Fatalf("the reading channel got %d %v, want id %d", m.ID, m.Content, des[i].ID)
		}
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Errorf("a second Flush returned the errors again: %v", err)
	}
}

// A publisher process killed with SIGKILL loses at most what it queued
// after its last Flush returned: everything flushed before is delivered,
// in order, once.
func TestPublishAsyncKilledKeepsFlushed(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "killed.async")
	pub := proctest.Start(t, nil, helperBin(t), "pubasync", h.Dir(), "killed.async", "200")
	flushed := 0
	for flushed < 2000 {
		line := pub.WaitFor("flushed ")
		var err error
		if flushed, err = strconv.Atoi(strings.TrimPrefix(line, "flushed ")); err != nil {
			t.Fatal(err)
		}
	}
	pub.Signal(syscall.SIGKILL)
	pub.Wait()
	got := fetchAll(t, ch)
	for i, c := range got {
		if c != strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, c)
		}
	}
	if next := len(got); next < flushed {
		t.Fatalf("got %d messages, but %d were flushed before the kill", next, flushed)
	}
	t.Logf("%d flushed before SIGKILL, %d delivered", flushed, len(got))
}

// Two Closes at once both wait for the writer: what was queued is
// written, and neither returns before. With publishers held back by the
// queue's bound meanwhile, nothing deadlocks.
func TestPublishAsyncConcurrentCloses(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		dir := homeDir(t)
		sub, err := pubsub.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		ch, err := sub.NewChannel("closing")
		if err != nil {
			t.Fatal(err)
		}
		h, err := pubsub.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		const n = 20_000
		for range n {
			if err := h.PublishAsync("closing", []byte("m"), nil); err != nil {
				t.Fatal(err)
			}
		}
		closeTwice(t, h)
		if got := len(fetchAll(t, ch)); got != n {
			t.Fatalf("queued %d, delivered %d", n, got)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		for range 10 {
			dir := homeDir(t)
			sub, err := pubsub.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sub.NewChannel("bounded"); err != nil {
				t.Fatal(err)
			}
			h, err := pubsub.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			// Four publishers of 1 MiB messages: past 16 MiB queued, they
			// wait for the writer.
			var sent, wg sync.WaitGroup
			sent.Add(4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						if i == 8 {
							sent.Done()
						}
						if err := h.PublishAsync("bounded", make([]byte, 1<<20), nil); err != nil {
							if i < 8 {
								sent.Done()
							}
							return
						}
					}
				}()
			}
			sent.Wait()
			closeTwice(t, h)
			wg.Wait()
			sub.Close()
		}
	})
}

func closeTwice(t *testing.T, h *pubsub.Home) {
	t.Helper()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = h.Close() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// A *big.Int header is copied: changing it after PublishAsync returns
// does not change the message.
func TestPublishAsyncCopiesBigIntHeader(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "bigint")
	v := big.NewInt(1)
	if err := h.PublishAsync("bigint", nil, pubsub.Headers{"v": v}); err != nil {
		t.Fatal(err)
	}
	v.SetInt64(2)
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, ch).Headers["v"]; got != int64(1) {
		t.Fatalf("header v = %v (%T), queued as 1", got, got)
	}
}
