package pubsub

import (
	"context"
	"errors"
	"testing"
)

// A request whose ctx ends returns the replies that were in by then,
// however many it wanted; one that has them all returns at once.
func TestCollect(t *testing.T) {
	w := &waiter{arrived: make(chan struct{}, 1)}
	w.replies = []*Message{{ID: 1}, {ID: 2}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := w.collect(ctx, 3)
	if len(got) != 2 || !errors.Is(err, context.Canceled) {
		t.Fatalf("collect at ctx's end: %d replies, %v", len(got), err)
	}
	got, err = w.collect(ctx, 2)
	if len(got) != 2 || err != nil {
		t.Fatalf("collect with every reply in: %d replies, %v", len(got), err)
	}
	w.closed = true
	if _, err := w.collect(context.Background(), 3); !errors.Is(err, ErrClosed) {
		t.Fatalf("collect on a closed inbox: %v", err)
	}
}
