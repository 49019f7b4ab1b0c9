package bench

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub/bridge"
)

// The NATS side of a side-by-side run: the same messages, counting and
// latency through a nats-server, with nats.go as its users write it: a
// Publish a message, a synchronous subscription read with NextMsg.

// natsConnect connects to the server at w.NATS, named for the report's
// process list.
func (w *Worker) natsConnect() (*nats.Conn, error) {
	nc, err := nats.Connect(w.NATS, nats.Name("pubsub bench "+w.Role), nats.MaxReconnects(0))
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", bridge.RedactURL(w.NATS), err)
	}
	return nc, nil
}

// natsPub publishes on the subject w.Topic, then flushes.
func (w *Worker) natsPub() (workerResult, error) {
	nc, err := w.natsConnect()
	if err != nil {
		return workerResult{}, err
	}
	defer nc.Close()
	content := w.content()
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	// The last message has left the client when the publisher reports.
	return w.sender(content, func(int) error { return nc.Publish(w.Topic, content) }, nc.Flush)
}

// natsSub subscribes to w.Topic and reads with NextMsg until every
// message expected has arrived. Core NATS drops what a slow subscriber
// cannot take; the run then fails on the messages missing, as a lost
// message of this library's fails it.
func (w *Worker) natsSub(ctx context.Context) (workerResult, error) {
	nc, err := w.natsConnect()
	if err != nil {
		return workerResult{}, err
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(w.Topic)
	if err != nil {
		return workerResult{}, fmt.Errorf("nats subscribe %s: %w", w.Topic, err)
	}
	// No client-side limit: a drop is the server's, as users see it.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return workerResult{}, err
	}
	if err := nc.Flush(); err != nil { // the subscription is on the server
		return workerResult{}, fmt.Errorf("nats flush: %w", err)
	}
	r := newReceiver(w)
	if err := w.ready(); err != nil {
		return workerResult{}, err
	}
	for !r.done() {
		m, err := sub.NextMsgWithContext(ctx)
		now := w.clock.now()
		if err != nil {
			if ctx.Err() != nil {
				break // told to stop: the result says what is missing
			}
			return workerResult{}, fmt.Errorf("nats: %w", err)
		}
		r.add(m.Data, now)
	}
	if dropped, err := sub.Dropped(); err == nil && dropped > 0 {
		return workerResult{}, fmt.Errorf("nats: the client dropped %d messages", dropped)
	}
	return r.finish(), w.writeSamples(r.samples)
}
