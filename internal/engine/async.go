package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Bounds on what PublishAsync holds unwritten: past either, it waits for
// the writer. A few MiB keep a burst's batches full without letting a
// publisher faster than its subscribers grow without end.
const (
	asyncMaxMessages = 1 << 16
	asyncMaxBytes    = 16 << 20
	// asyncMaxErrors bounds the errors kept for Flush; past it they are
	// counted.
	asyncMaxErrors = 1000
)

// asyncQueue holds the messages PublishAsync queued until its writer, one
// goroutine a Home started on the first call, sends them: what the writer
// finds queued goes in batches (PublishBatch's path), several messages a
// FIFO write when they come faster than it writes.
type asyncQueue struct {
	mu       sync.Mutex
	queued   [][]batched // in blocks of asyncBlock, so none is copied to grow
	free     [][]batched // written blocks, for reuse
	arena    []byte      // where queued contents are copied, a chunk at a time
	n        int         // messages in queued
	bytes    int
	queuedN  uint64        // messages queued, ever
	written  uint64        // of those, messages the writer is done with
	progress chan struct{} // closed, and replaced, each time written moves
	missed   []Missed      // since the last Flush
	failed   []error       // since the last Flush
	dropped  int           // errors past asyncMaxErrors
	running  bool
	stopping bool
	stopped  chan struct{}
	parked   bool          // the writer waits for kick
	kick     chan struct{} // buffered 1: wakes the parked writer
	unsent   atomic.Int64  // queued, not yet done: a sync Publish waits for 0
}

// PublishAsync queues a message on topicName for the writer and returns:
// topic, size and headers are checked now, content and headers copied.
func (h *Home) PublishAsync(topicName string, content []byte, headers map[string]any) error {
	if err := topic.ValidateTopic(topicName); err != nil {
		return err
	}
	if err := checkContent(len(content)); err != nil {
		return err
	}
	if headers != nil {
		if _, err := encodePrefix(&wire.Message{Topic: topicName, Headers: headers}, 0); err != nil {
			return err
		}
		headers = maps.Clone(headers)
		for k, v := range headers {
			if b, ok := v.(*big.Int); ok {
				headers[k] = new(big.Int).Set(b)
			}
		}
	}
	q := &h.async
	q.mu.Lock()
	for !q.stopping && q.n > 0 && (q.n >= asyncMaxMessages || q.bytes+len(content) > asyncMaxBytes) {
		wait := q.progress
		q.mu.Unlock()
		<-wait
		q.mu.Lock()
	}
	if q.stopping {
		q.mu.Unlock()
		return ErrClosed
	}
	if !q.running {
		q.running = true
		q.progress = make(chan struct{})
		q.kick = make(chan struct{}, 1)
		q.stopped = make(chan struct{})
		go h.asyncWriter()
	}
	last := len(q.queued) - 1
	if last < 0 || len(q.queued[last]) == asyncBlock {
		q.queued = append(q.queued, q.newBlock())
		last++
	}
	q.queued[last] = append(q.queued[last], batched{
		msg:     wire.Message{Topic: topicName, Headers: headers},
		content: q.copyContent(content),
	})
	q.n++
	q.bytes += len(content)
	q.queuedN++
	q.unsent.Add(1)
	wake := q.parked
	q.parked = false
	q.mu.Unlock()
	if wake {
		q.kick <- struct{}{}
	}
	return nil
}

// asyncBlock is the number of messages in a block of the queue, and the
// most the writer sends in one batch.
const asyncBlock = 512

// asyncFreeBlocks is how many written blocks are kept for reuse: enough
// for a steady stream, not a burst's worth for the life of the home.
const asyncFreeBlocks = 8

// newBlock returns an empty block, a written one if there is one.
func (q *asyncQueue) newBlock() []batched {
	if n := len(q.free); n > 0 {
		b := q.free[n-1]
		q.free = q.free[:n-1]
		return b
	}
	return make([]batched, 0, asyncBlock)
}

// asyncArenaChunk is the size of the chunks queued contents are copied
// into: one allocation for many small messages.
const asyncArenaChunk = 64 << 10

// copyContent copies content for the queue. Small ones share a chunk,
// which lives until the last message in it is written.
func (q *asyncQueue) copyContent(content []byte) []byte {
	if len(content) > asyncArenaChunk/4 {
		return slices.Clone(content)
	}
	if cap(q.arena)-len(q.arena) < len(content) {
		q.arena = make([]byte, 0, asyncArenaChunk)
	}
	start := len(q.arena)
	q.arena = append(q.arena, content...)
	return q.arena[start:len(q.arena):len(q.arena)]
}

// asyncWriter sends what PublishAsync queued, in order, a block at a
// time, until Close.
func (h *Home) asyncWriter() {
	q := &h.async
	defer close(q.stopped)
	for {
		q.mu.Lock()
		for len(q.queued) == 0 && !q.stopping {
			q.parked = true
			q.mu.Unlock()
			<-q.kick
			q.mu.Lock()
		}
		if len(q.queued) == 0 { // and stopping
			q.mu.Unlock()
			return
		}
		blocks := q.queued
		q.queued = nil
		q.mu.Unlock()
		for _, msgs := range blocks {
			missed, failed := h.sendAsync(msgs)
			bytes := 0
			for i := range msgs {
				bytes += len(msgs[i].content)
			}
			clear(msgs)
			q.mu.Lock()
			q.n -= len(msgs)
			q.written += uint64(len(msgs))
			q.bytes -= bytes
			if len(q.free) < asyncFreeBlocks {
				q.free = append(q.free, msgs[:0])
			}
			for _, m := range missed {
				if len(q.missed)+len(q.failed) < asyncMaxErrors {
					q.missed = append(q.missed, m)
				} else {
					q.dropped++
				}
			}
			for _, err := range failed {
				if len(q.missed)+len(q.failed) < asyncMaxErrors {
					q.failed = append(q.failed, err)
				} else {
					q.dropped++
				}
			}
			close(q.progress)
			q.progress = make(chan struct{})
			q.mu.Unlock()
			q.unsent.Add(-int64(len(msgs)))
		}
	}
}

// sendAsync sends msgs, consecutive messages on one topic together, and
// returns the channels each message missed and the failures that stopped
// a run of them.
func (h *Home) sendAsync(msgs []batched) (missed []Missed, failed []error) {
	if err := h.use(); err != nil {
		return nil, []error{fmt.Errorf("pubsub: %d messages queued by PublishAsync not sent: %w", len(msgs), err)}
	}
	defer h.done()
	for rest := msgs; len(rest) > 0; {
		run := 1
		for run < len(rest) && rest[run].msg.Topic == rest[0].msg.Topic {
			run++
		}
		if _, err := h.sendBatch(rest[0].msg.Topic, rest[:run]); err != nil {
			failed = append(failed, fmt.Errorf("pubsub: PublishAsync: %d messages on %s, not all sent: %w", run, rest[0].msg.Topic, err))
		}
		missed = append(missed, missedOf(rest[:run])...)
		rest = rest[run:]
	}
	return missed, failed
}

// Flush waits until the writer is done with every message PublishAsync
// queued before the call, or ctx ends, and returns what went wrong since
// the last Flush: the messages that missed channels, and the failures
// that stopped the writer sending some.
func (h *Home) Flush(ctx context.Context) ([]Missed, error) {
	q := &h.async
	q.mu.Lock()
	target := q.queuedN
	q.mu.Unlock()
	if err := q.waitWritten(ctx, target); err != nil {
		return nil, err
	}
	q.mu.Lock()
	missed, failed, dropped := q.missed, q.failed, q.dropped
	q.missed, q.failed, q.dropped = nil, nil, 0
	q.mu.Unlock()
	if dropped > 0 {
		failed = append(failed, fmt.Errorf("pubsub: and %d more errors of PublishAsync", dropped))
	}
	return missed, errors.Join(failed...)
}

// waitWritten waits until the writer is done with the first target
// messages ever queued, or ctx ends. Messages queued meanwhile do not
// hold it up.
func (q *asyncQueue) waitWritten(ctx context.Context, target uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.written < target {
		wait := q.progress
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			q.mu.Lock()
			return fmt.Errorf("pubsub: flush: %d messages queued by PublishAsync not yet written: %w", target-q.written, context.Cause(ctx))
		}
		q.mu.Lock()
	}
	return nil
}

// waitAsync waits until what PublishAsync queued so far is written, so
// that a synchronous publish keeps its place after it.
func (h *Home) waitAsync() {
	if h.async.unsent.Load() == 0 {
		return
	}
	q := &h.async
	q.mu.Lock()
	target := q.queuedN
	q.mu.Unlock()
	_ = q.waitWritten(context.Background(), target)
}

// StopAsync writes what is queued, stops the writer, and returns what
// Flush has not returned yet. PublishAsync fails with ErrClosed after it.
func (h *Home) StopAsync() ([]Missed, error) {
	q := &h.async
	q.mu.Lock()
	running := q.running // a second Close waits for the writer too
	q.stopping = true
	wake := q.parked
	q.parked = false
	q.mu.Unlock()
	if !running {
		return nil, nil
	}
	if wake {
		q.kick <- struct{}{}
	}
	<-q.stopped
	return h.Flush(context.Background())
}
