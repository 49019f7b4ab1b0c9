package pubsub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
)

// The headers of the request/reply pattern, as formix-pubsub's RPC example
// writes them: a request names the topic to answer on and an id that the
// reply carries back.
const (
	ResponseTopicHeader = "response-topic"
	CorrelationIDHeader = "correlation-id"
)

// InboxPrefix starts the topic of the channel on which a Home takes the
// replies to its requests: InboxPrefix + "." + a random word.
const InboxPrefix = "pubsub-inbox"

var (
	// ErrNoResponders is returned by [Home.Request] and [Home.RequestMany]
	// when the request reached no channel: nobody listens on its topic,
	// so no reply can come. They fail at once rather than wait.
	ErrNoResponders = errors.New("pubsub: no channel took the request")

	// ErrNotRequest is returned by [Home.Reply] for a message without a
	// response-topic header.
	ErrNotRequest = errors.New("pubsub: the message is not a request: it has no response-topic header")

	// ErrRequesterGone is returned by [Home.Reply] when the reply reached
	// no channel: the requester stopped waiting, or its process is gone.
	ErrRequesterGone = errors.New("pubsub: no channel took the reply: the requester is gone")
)

// Request publishes content on topic as a request, and returns the first
// reply. It adds the headers [ResponseTopicHeader], naming a channel of
// this Home's own (made on first use, shared by its requests, removed by
// Close), and [CorrelationIDHeader], an id no other request carries; a
// responder answers with [Home.Reply], or, in any language, by publishing
// to the response topic with the same correlation-id, as formix-pubsub's
// RPC example does. headers must not hold these two already.
//
// It fails at once with [ErrNoResponders] when the request reached no
// channel, and returns the *[DeliveryError] of a request that reached
// none of the channels that matched. It waits for a reply until ctx is
// done, then returns an error that wraps the context's cause. Replies
// that come after are dropped.
func (h *Home) Request(ctx context.Context, topic string, content []byte, headers Headers) (*Message, error) {
	replies, _, err := h.request(ctx, topic, content, headers, 1)
	if err != nil {
		return nil, err
	}
	return replies[0], nil
}

// RequestMany publishes content on topic as [Home.Request] does, and
// collects a reply from every channel the request reached: it returns as
// soon as their number of replies is in. Publish tells how many channels
// took the request, so no timeout is needed to know that all have
// answered. When ctx is done first, it returns the replies that came and
// an error that says how many are missing and wraps the context's cause.
//
// Every channel the request reached counts as a responder: one that
// listens without answering (a subscriber on "+", say) leaves RequestMany
// waiting for ctx. A responder that answers twice fills two places.
func (h *Home) RequestMany(ctx context.Context, topic string, content []byte, headers Headers) ([]*Message, error) {
	replies, _, err := h.request(ctx, topic, content, headers, 0)
	return replies, err
}

// request publishes a request and waits for want replies; 0 means one
// per channel reached.
func (h *Home) request(ctx context.Context, topic string, content []byte, headers Headers, want int) ([]*Message, int, error) {
	for _, k := range []string{ResponseTopicHeader, CorrelationIDHeader} {
		if _, ok := headers[k]; ok {
			return nil, 0, fmt.Errorf("pubsub: request headers hold %q, which Request sets itself", k)
		}
	}
	in, err := h.inbox()
	if err != nil {
		return nil, 0, err
	}
	corr := randomID()
	w := in.wait(corr)
	defer in.forget(corr)
	all := make(Headers, len(headers)+2)
	for k, v := range headers {
		all[k] = v
	}
	all[ResponseTopicHeader] = in.ch.Topic()
	all[CorrelationIDHeader] = corr
	reached, err := h.Publish(topic, content, all)
	switch {
	case reached == 0 && err != nil:
		return nil, 0, err
	case reached == 0:
		return nil, 0, fmt.Errorf("%w on %q: nobody listens on it", ErrNoResponders, topic)
	case want == 0:
		want = reached
	}
	replies, err := w.collect(ctx, want)
	if err != nil {
		if len(replies) == 0 && want == 1 {
			return nil, reached, fmt.Errorf("pubsub: no reply to the request on %q: %w", topic, err)
		}
		return replies, reached, fmt.Errorf("pubsub: %d of %d responders did not reply to the request on %q: %w", want-len(replies), want, topic, err)
	}
	return replies, reached, nil
}

// Reply answers req, a request, on its response topic with its
// correlation-id; headers may add others. It returns [ErrNotRequest] for a
// message without a response-topic, [ErrRequesterGone] when the reply
// reached no channel, and what Publish returns otherwise.
func (h *Home) Reply(req *Message, content []byte, headers Headers) error {
	to, ok := req.Headers[ResponseTopicHeader].(string)
	if !ok {
		return ErrNotRequest
	}
	all := make(Headers, len(headers)+1)
	for k, v := range headers {
		all[k] = v
	}
	if corr, ok := req.Headers[CorrelationIDHeader]; ok {
		all[CorrelationIDHeader] = corr
	}
	n, err := h.Publish(to, content, all)
	if n == 0 && err == nil {
		return fmt.Errorf("%w (%s)", ErrRequesterGone, to)
	}
	return err
}

// Request sends a request on the [Default] home. See [Home.Request].
func Request(ctx context.Context, topic string, content []byte, headers Headers) (*Message, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.Request(ctx, topic, content, headers)
}

// RequestMany sends a request on the [Default] home. See
// [Home.RequestMany].
func RequestMany(ctx context.Context, topic string, content []byte, headers Headers) ([]*Message, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.RequestMany(ctx, topic, content, headers)
}

// Reply answers a request on the [Default] home. See [Home.Reply].
func Reply(req *Message, content []byte, headers Headers) error {
	h, err := Default()
	if err != nil {
		return err
	}
	return h.Reply(req, content, headers)
}

// inbox is a Home's channel for the replies to its requests, and the
// goroutine that hands each reply to the request waiting for it.
type inbox struct {
	ch      *Channel
	done    chan struct{} // closed when the goroutine ends
	mu      sync.Mutex
	waiting map[string]*waiter // correlation-id -> request
}

// waiter is one request waiting for replies.
type waiter struct {
	mu      sync.Mutex
	replies []*Message
	arrived chan struct{} // a token when replies grew
	closed  bool          // the inbox is gone
}

// inbox returns the Home's inbox, making it on first use.
func (h *Home) inbox() (*inbox, error) {
	h.inboxMu.Lock()
	defer h.inboxMu.Unlock()
	if h.in != nil {
		return h.in, nil
	}
	if h.closed {
		return nil, ErrClosed
	}
	ch, err := h.NewChannel(InboxPrefix + "." + randomID())
	if err != nil {
		return nil, err
	}
	in := &inbox{ch: ch, done: make(chan struct{}), waiting: map[string]*waiter{}}
	go in.run()
	h.in = in
	return in, nil
}

// run hands each reply to its request until the inbox is closed. A reply
// no request waits for (it came late, or was not for us) is dropped.
func (in *inbox) run() {
	defer close(in.done)
	defer in.closeWaiters()
	for {
		m, err := in.ch.Next(context.Background())
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			continue // a message that did not decode; logged where it was read
		}
		corr, _ := m.Headers[CorrelationIDHeader].(string)
		in.mu.Lock()
		w := in.waiting[corr]
		in.mu.Unlock()
		if w == nil {
			continue
		}
		w.mu.Lock()
		w.replies = append(w.replies, m)
		w.mu.Unlock()
		select {
		case w.arrived <- struct{}{}:
		default:
		}
	}
}

func (in *inbox) wait(corr string) *waiter {
	w := &waiter{arrived: make(chan struct{}, 1)}
	in.mu.Lock()
	in.waiting[corr] = w
	in.mu.Unlock()
	return w
}

func (in *inbox) forget(corr string) {
	in.mu.Lock()
	delete(in.waiting, corr)
	in.mu.Unlock()
}

// closeWaiters wakes every request still waiting: the inbox is closed.
func (in *inbox) closeWaiters() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, w := range in.waiting {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		select {
		case w.arrived <- struct{}{}:
		default:
		}
	}
}

// close removes the inbox's channel and waits for its goroutine.
func (in *inbox) close() {
	in.ch.Close()
	<-in.done
}

// collect waits until want replies are in, ctx is done, or the inbox is
// closed, and returns the replies in.
func (w *waiter) collect(ctx context.Context, want int) ([]*Message, error) {
	for {
		w.mu.Lock()
		replies, closed := w.replies, w.closed
		w.mu.Unlock()
		switch {
		case len(replies) >= want:
			return replies[:want], nil
		case closed:
			return replies, ErrClosed
		}
		select {
		case <-w.arrived:
		case <-ctx.Done():
			w.mu.Lock()
			replies = w.replies
			w.mu.Unlock()
			if len(replies) >= want {
				return replies[:want], nil
			}
			return replies, context.Cause(ctx)
		}
	}
}

// randomID returns 16 random characters of [a-z0-9], for topic words and
// correlation ids.
func randomID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
