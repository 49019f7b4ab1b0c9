package pubsub

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/pubsub-go/pubsub/internal/engine"
)

// Queue is a worker's attachment to a work queue: a named, durable
// subscription to a topic pattern, shared by any number of worker
// processes. Make one with [Home.NewQueue].
//
// A channel gives every message to its one subscriber; a queue gives each
// message to exactly one of its workers at a time, and keeps it until it
// is acknowledged: a handler of [Queue.Subscribe] that returns nil, or
// [Message.Ack] on a message taken with Next, Fetch or Messages. A message
// given back ([Message.Nack], a handler's error or panic), held by a
// worker that died (SIGKILL included), or held past the queue's lease,
// goes back to the queue and is delivered again, to any worker; after
// the queue's maximum deliveries it becomes a dead letter
// ([Home.DeadLetters]). So a queue delivers at least once: a message is
// handled twice when its worker died, or its lease ran out, after
// handling it and before acknowledging it.
//
// The queue lives until [Home.RemoveQueue], with or without workers:
// messages published while none is attached wait for the next one. It
// hands messages out in the order they entered it; one given back may come
// after newer ones. Several goroutines may call Fetch, Next, Subscribe or
// Messages at once. A Queue must not be copied.
type Queue struct {
	eng   *engine.Worker
	topic string
}

// QueueOption configures a queue made by [Home.NewQueue] or
// [Home.CreateQueue]. Given to join an existing queue, an option must
// agree with how the queue was made.
type QueueOption interface{ applyQueue(*queueConfig) }

type queueConfig struct {
	cfg engine.QueueConfig
	set engine.QueueFields
}

type queueOptionFunc func(*queueConfig)

func (f queueOptionFunc) applyQueue(c *queueConfig) { f(c) }

// WithMaxMessages bounds the messages a queue holds, ready, delayed or in
// flight; default 100,000. Each message costs at least a page of tmpfs
// (4 KiB).
func WithMaxMessages(n int64) QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.MaxMessages, c.set = n, c.set|engine.FieldMaxMessages })
}

// WithMaxBytes bounds the bytes of the message files a queue holds;
// default 1 GiB.
func WithMaxBytes(n int64) QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.MaxBytes, c.set = n, c.set|engine.FieldMaxBytes })
}

// WithMaxAge makes a queue's messages expire d after they entered it,
// handed to no worker; by default they never do.
func WithMaxAge(d time.Duration) QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.MaxAge, c.set = d, c.set|engine.FieldMaxAge })
}

// WithDropOldest makes a full queue drop its oldest ready message for a
// new one, and count it (QueueInfo.Dropped), instead of refusing the new
// one, which the publisher is told of in a *[DeliveryError] naming the
// queue ([ErrQueueFull]): the default.
func WithDropOldest() QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.DropOldest, c.set = true, c.set|engine.FieldDropOldest })
}

// WithLease sets how long a worker may hold a message before it goes back
// to the queue, acknowledged or not; default 30 s. A handler that may run
// longer needs a longer lease, or its message is handled twice.
func WithLease(d time.Duration) QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.Lease, c.set = d, c.set|engine.FieldLease })
}

// WithMaxDeliveries sets after how many deliveries a message never
// acknowledged becomes a dead letter; default 5.
func WithMaxDeliveries(n int) QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.MaxDeliveries, c.set = n, c.set|engine.FieldMaxDeliveries })
}

// WithRetryDelay sets how long a message given back by a handler's error
// waits before it is delivered again; default 1 s.
func WithRetryDelay(d time.Duration) QueueOption {
	return queueOptionFunc(func(c *queueConfig) { c.cfg.RetryDelay, c.set = d, c.set|engine.FieldRetryDelay })
}

func newQueueConfig(topic string, opts []QueueOption) queueConfig {
	c := queueConfig{cfg: engine.QueueConfig{Pattern: topic}}
	for _, o := range opts {
		if o != nil {
			o.applyQueue(&c)
		}
	}
	return c
}

// NewQueue attaches this process as a worker to the queue name, making it
// if there is none: it takes every message published on topic ('=' and
// '+' as in a channel's topic), and holds it until a worker acknowledges
// it. A queue that exists must have been made with the same topic, and
// agree with the options given. A queue name is 1 to 64 characters of
// [A-Za-z0-9-].
//
// Close the Queue when done: the messages it holds unacknowledged go back
// to the queue; the queue itself stays.
func (h *Home) NewQueue(name, topic string, opts ...QueueOption) (*Queue, error) {
	c := newQueueConfig(topic, opts)
	w, err := h.eng.JoinQueue(name, c.cfg, c.set)
	if err != nil {
		return nil, err
	}
	return &Queue{eng: w, topic: w.Config().Pattern}, nil
}

// CreateQueue makes the queue name on topic, with the options given,
// without attaching a worker: messages published from now on wait in it.
// It is not an error if the queue exists, made the same way.
func (h *Home) CreateQueue(name, topic string, opts ...QueueOption) error {
	c := newQueueConfig(topic, opts)
	_, err := h.eng.EnsureQueue(name, c.cfg, c.set)
	return err
}

// RemoveQueue removes the queue name with every message in it, dead
// letters included. Its workers' Next returns [ErrQueueRemoved].
func (h *Home) RemoveQueue(name string) error { return h.eng.RemoveQueue(name) }

// QueueInfo describes a queue.
type QueueInfo struct {
	Name    string
	Dir     string
	Topic   string
	Workers int // attached, alive
	// Backlog, InFlight and Delayed count the messages ready for a worker,
	// held by one, and given back to wait a delay; DeadLetters those the
	// queue gave up on.
	Backlog, InFlight, Delayed, DeadLetters int
	// Messages and Bytes are what counts against the bounds.
	Messages, Bytes int64
	// Dropped (drop-oldest policy), Expired (maximum age) and Rejected
	// (reject policy) count messages lost to the queue's bounds since it
	// was made.
	Dropped, Expired, Rejected int64

	MaxMessages, MaxBytes int64
	MaxAge, Lease         time.Duration
	DropOldest            bool
	MaxDeliveries         int
	RetryDelay            time.Duration
}

func queueInfo(e engine.QueueInfo) QueueInfo {
	c := e.Config
	return QueueInfo{Name: e.Name, Dir: e.Dir, Topic: c.Pattern, Workers: e.Workers,
		Backlog: e.Ready, InFlight: e.InFlight, Delayed: e.Delayed, DeadLetters: e.Dead,
		Messages: e.Messages, Bytes: e.Bytes, Dropped: e.Dropped, Expired: e.Expired, Rejected: e.Rejected,
		MaxMessages: c.MaxMessages, MaxBytes: c.MaxBytes, MaxAge: c.MaxAge, Lease: c.Lease,
		DropOldest: c.DropOldest, MaxDeliveries: c.MaxDeliveries, RetryDelay: c.RetryDelay}
}

// Queues lists the queues of the home, sorted by name. A queue that cannot
// be read (junk in its config, say) is left out and named in the error;
// the others are listed all the same.
func (h *Home) Queues() ([]QueueInfo, error) {
	infos, err := h.eng.Queues()
	out := make([]QueueInfo, len(infos))
	for i, e := range infos {
		out[i] = queueInfo(e)
	}
	return out, err
}

// DeadLetters lists the dead letters of the queue name, oldest first:
// each a message with its deliveries, and with a Key that
// [Home.RequeueDeadLetters] and [Home.PurgeDeadLetters] take. A dead
// letter that cannot be read is listed with a nil Message and its error.
func (h *Home) DeadLetters(name string) ([]DeadLetter, error) {
	dls, err := h.eng.DeadLetters(name)
	out := make([]DeadLetter, len(dls))
	for i := range dls {
		out[i] = DeadLetter{Key: dls[i].Key, Deliveries: dls[i].Deliveries, Err: dls[i].Err}
		if dls[i].Err == nil {
			out[i].Message = fromWire(&dls[i].Msg)
		}
	}
	return out, err
}

// DeadLetter is a message a queue gave up on after its maximum
// deliveries.
type DeadLetter struct {
	Key        string
	Message    *Message
	Deliveries int
	Err        error
}

// RequeueDeadLetters makes the dead letters of the queue name with the
// keys given (all, if none is) ready again, their deliveries counted anew,
// and returns how many.
func (h *Home) RequeueDeadLetters(name string, keys ...string) (int, error) {
	return h.eng.RequeueDeadLetters(name, keys...)
}

// PurgeDeadLetters removes the dead letters of the queue name with the
// keys given (all, if none is), and returns how many.
func (h *Home) PurgeDeadLetters(name string, keys ...string) (int, error) {
	return h.eng.PurgeDeadLetters(name, keys...)
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.eng.Name() }

// Topic returns the topic the queue takes.
func (q *Queue) Topic() string { return q.topic }

// Dir returns the queue's directory.
func (q *Queue) Dir() string { return q.eng.Dir() }

// Fetch takes the next message without waiting, or returns [ErrNoMessage]
// when none is ready. The message is the worker's until acknowledged.
func (q *Queue) Fetch() (*Message, error) {
	d := new(engine.Delivery)
	if err := q.eng.Fetch(d); err != nil {
		return nil, queueError(err)
	}
	return q.message(d), nil
}

// Next waits for the next message and takes it. It returns the context's
// cause when ctx is done, even with messages ready, [ErrClosed] after
// Close, and
// [ErrQueueRemoved] once the queue is removed. The message is the
// worker's until acknowledged ([Message.Ack]) or given back
// ([Message.Nack]).
func (q *Queue) Next(ctx context.Context) (*Message, error) {
	d := new(engine.Delivery)
	if err := q.eng.Next(ctx, d); err != nil {
		return nil, queueError(err)
	}
	return q.message(d), nil
}

func (q *Queue) message(d *engine.Delivery) *Message {
	m := fromWire(&d.Msg)
	m.lease = &lease{w: q.eng, d: d}
	return m
}

// queueError turns the engine's errors into the root's.
func queueError(err error) error { return messageError(err) }

// Messages returns an iterator over the queue's messages, as
// [Channel.Messages] does; each must be acknowledged or given back.
func (q *Queue) Messages(ctx context.Context) iter.Seq2[*Message, error] {
	return messages(ctx, q.Next)
}

// Subscribe calls handler for each message until ctx is done, the
// [WithTimeout] passes, the queue is closed or removed, or the process
// receives SIGINT or SIGTERM, as [Channel.Subscribe] does. A message
// whose handler returns nil is acknowledged; one whose handler returns an
// error, or panics, is given back, to be delivered again after the
// queue's retry delay (or to become a dead letter). It returns how many
// messages were handled, and the errors [Channel.Subscribe] returns.
func (q *Queue) Subscribe(ctx context.Context, handler Handler, opts ...SubscribeOption) (int, error) {
	return subscribe(ctx, opts, q.Messages, func(m *Message) {
		log := q.eng.Logger()
		if err := safely(handler, m); err != nil {
			log.Log(context.Background(), handlerLevel(err), "pubsub: handler failed; message given back", "queue", q.Name(), "id", m.ID, "topic", m.Topic, "deliveries", m.Deliveries(), "err", err)
			if err := m.Nack(q.eng.Config().RetryDelay); err != nil {
				log.Warn("pubsub: give back", "queue", q.Name(), "id", m.ID, "err", err)
			}
			return
		}
		if err := m.Ack(); err != nil {
			log.Warn("pubsub: acknowledge", "queue", q.Name(), "id", m.ID, "err", err)
		}
	})
}

// Close detaches the worker: the messages it holds unacknowledged go back
// to the queue, delivered once more; the queue stays. A Queue never closed
// stays attached until its process exits (a goroutine reads the queue's
// intake for it), holding its messages: close it when done. It wakes goroutines
// blocked in Next or Subscribe, which return [ErrClosed]. Close is safe to
// call more than once.
func (q *Queue) Close() error { return q.eng.Close() }

// lease is what makes a message a queue's: the worker that holds it.
type lease struct {
	w *engine.Worker
	d *engine.Delivery
}

// errNotQueued is what Nack says of a message that came from a channel.
var errNotQueued = errors.New("pubsub: the message came from a channel, which delivers at most once: there is nothing to give back")

// Ack acknowledges a message taken from a [Queue]: it is removed from the
// queue for good. It returns [ErrLeaseExpired] if the queue gave the
// message back meanwhile (the worker held it past its lease, or was taken
// for dead): another delivery may handle it again; and [ErrClosed] after
// the Queue was closed, which gave the message back. A message from a
// [Channel] needs no acknowledgement: Ack returns nil.
func (m *Message) Ack() error {
	if m.lease == nil {
		return nil
	}
	return m.lease.w.Ack(m.lease.d)
}

// Nack gives a message taken from a [Queue] back, to be delivered again,
// to any worker, after delay (at once if 0), or to become a dead letter if
// it was delivered the queue's maximum number of times. It returns
// [ErrLeaseExpired] if the queue gave it back already. A message from a
// [Channel] cannot be given back: Nack returns an error.
func (m *Message) Nack(delay time.Duration) error {
	if m.lease == nil {
		return errNotQueued
	}
	return m.lease.w.Nack(m.lease.d, delay)
}

// Deliveries returns how many times the message was delivered, this time
// included: 1 for a message from a channel, or the first delivery from a
// queue.
func (m *Message) Deliveries() int {
	if m.lease == nil {
		return 1
	}
	return m.lease.d.Deliveries
}

// NewQueue attaches a worker to a queue of the [Default] home. See
// [Home.NewQueue].
func NewQueue(name, topic string, opts ...QueueOption) (*Queue, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.NewQueue(name, topic, opts...)
}
