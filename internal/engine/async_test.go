package engine

import (
	"context"
	"testing"
	"time"
)

// A wait for what was queued before it ends once that is written, however
// much other goroutines queue meanwhile: a synchronous Publish under a
// flood of PublishAsync is not starved.
func TestWaitWrittenIgnoresLaterMessages(t *testing.T) {
	var q asyncQueue
	q.progress = make(chan struct{})
	q.queuedN, q.written = 10, 5
	done := make(chan error, 1)
	go func() { done <- q.waitWritten(context.Background(), 10) }()
	q.mu.Lock()
	q.queuedN += 512 // the flood goes on
	q.written += 5   // what the wait is for is written
	close(q.progress)
	q.progress = make(chan struct{})
	q.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a bound, not a synchronisation
		t.Fatal("still waiting for messages queued after the wait began")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.waitWritten(ctx, q.queuedN); err == nil {
		t.Fatal("a cancelled wait for unwritten messages returned nil")
	}
}
