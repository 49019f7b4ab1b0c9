package engine

import (
	"context"
	"runtime"
	"sync/atomic"
)

// turn lets one reader at a time take from a channel or a worker. Taking
// and giving back a free turn is a compare-and-swap each way, not the
// lock a channel of capacity one costs (a tenth of a subscriber's CPU at
// two million messages a second); a reader that has to wait still gives
// up when its context is done or the reader is closed.
type turn struct {
	held    atomic.Bool
	waiters atomic.Int32  // readers in take, past the fast path
	wake    chan struct{} // capacity one: the turn came free
	parked  atomic.Bool   // its holder is parked on the FIFO
}

func newTurn() turn { return turn{wake: make(chan struct{}, 1)} }

// take waits for the turn unless ctx is done or done is closed first. A
// done context wins over a free turn, so that a reader with a backlog
// still stops when told to.
func (t *turn) take(ctx context.Context, done <-chan struct{}) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if t.held.CompareAndSwap(false, true) {
		return nil
	}
	// Counted before looking again, so a release either sees us and
	// leaves a wake-up, or came before the look, which then finds the
	// turn free.
	t.waiters.Add(1)
	defer t.waiters.Add(-1)
	for !t.held.CompareAndSwap(false, true) {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-done:
			return ErrClosed
		case <-t.wake:
		}
	}
	return nil
}

// tryTake takes the turn without waiting for a message: ErrNoMessage when
// its holder is parked on the FIFO, which is then empty, ErrClosed once
// done is closed. A holder that is not parked is taking a message and
// will not be long.
func (t *turn) tryTake(done <-chan struct{}) error {
	for {
		select {
		case <-done:
			return ErrClosed
		default:
		}
		if t.held.CompareAndSwap(false, true) {
			return nil
		}
		if t.parked.Load() {
			return ErrNoMessage
		}
		runtime.Gosched()
	}
}

// keep takes the turn for good, waiting for a reader in the middle of a
// message: how Close makes sure no reader touches what it frees.
func (t *turn) keep() {
	_ = t.take(context.Background(), nil)
}

func (t *turn) release() {
	t.held.Store(false)
	if t.waiters.Load() > 0 {
		select {
		case t.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}
