package pubsub_test

import (
	"bytes"
	"context"
	"testing"
	"unsafe"

	"github.com/pubsub-go/pubsub"
)

// sameStorage reports whether a and b start at the same address.
func sameStorage(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// fill returns n bytes of a pattern drawn from seed, different for each
// seed, so that a message read over another's leftovers shows.
func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)
	}
	return b
}

func TestReleasedStorageIsReadIntoAgain(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "big")
	ctx := context.Background()
	// Each message is read into the storage released before it when it
	// fits there and fills at least half of it: the buffer of the first
	// goes round until a larger message, whose own buffer is then too
	// large for a small one.
	steps := []struct {
		size   int
		reused bool
	}{
		{1 << 20, false}, {1 << 20, true}, {900 << 10, true}, {1 << 20, true},
		{600 << 10, true}, {1200 << 10, false}, {100 << 10, false}, {100 << 10, true},
	}
	for i, s := range steps {
		if _, err := h.Publish("big", fill(s.size, byte(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	var last []byte // the content of the message released last
	for i, s := range steps {
		m, err := ch.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Content, fill(s.size, byte(i))) {
			t.Fatalf("message %d (%d bytes): content differs from what was published", i, s.size)
		}
		if got := sameStorage(m.Content, last); got != s.reused {
			t.Errorf("message %d (%d bytes): read into the released storage: %v, want %v", i, s.size, got, s.reused)
		}
		last = m.Content
		m.Release()
		if m.Content != nil {
			t.Fatalf("message %d: Content is not nil after Release", i)
		}
		m.Release() // a second time does nothing
	}
}

func TestUnreleasedMessageIsNotOverwritten(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "big")
	ctx := context.Background()
	for i := range 3 {
		if _, err := h.Publish("big", fill(1<<20, byte(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	first, err := ch.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ch.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second.Release()
	third, err := ch.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Content, fill(1<<20, 0)) || !bytes.Equal(third.Content, fill(1<<20, 2)) {
		t.Fatal("a message kept was overwritten, or the next one read wrong")
	}
	if sameStorage(first.Content, third.Content) {
		t.Fatal("the message after a release went into storage that was not released")
	}
}

func TestReleaseOfSharedStorageDoesNothing(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "small")
	ctx := context.Background()
	for _, s := range []string{"one", "two"} {
		if _, err := h.Publish("small", []byte(s), nil); err != nil {
			t.Fatal(err)
		}
	}
	one, err := ch.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept := one.Content
	one.Release()
	two, err := ch.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(kept) != "one" || string(two.Content) != "two" {
		t.Fatalf("got %q and %q after releasing an inline message, want one and two", kept, two.Content)
	}
	var zero pubsub.Message
	zero.Release() // a message made by hand
}

// Release may run in one goroutine while another waits in Next.
func TestReleaseWhileNextWaits(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "big")
	ctx := context.Background()
	const n = 20
	got := make(chan *pubsub.Message)
	go func() {
		defer close(got)
		for range n {
			m, err := ch.Next(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			got <- m
		}
	}()
	for i := range n {
		if _, err := h.Publish("big", fill(256<<10, byte(i)), nil); err != nil {
			t.Fatal(err)
		}
		m := <-got
		if !bytes.Equal(m.Content, fill(256<<10, byte(i))) {
			t.Fatalf("message %d: content differs from what was published", i)
		}
		m.Release()
	}
}
