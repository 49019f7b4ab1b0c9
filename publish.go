package pubsub

import (
	"context"
	"errors"

	"github.com/pubsub-go/pubsub/internal/engine"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Publish writes a message on topic to every live channel whose topic
// matches, and returns how many channels it reached. A channel that
// refuses one of the message's headers ([WithoutHeader]) is left out and
// not counted.
//
// The topic is concrete: words of [A-Za-z0-9-] separated by '.', without
// wildcards; anything else is a *[TopicError]. A header that is not a JSON
// scalar is a *[HeaderError]. Content may be empty, and up to 4 GiB - 1
// bytes.
//
// A channel is reached once the message file is in its directory and its
// id in its FIFO (or, for a Go channel whose FIFO is full, once the file is
// there: Go subscribers find such files themselves). Every matching
// channel that could not be reached (a formix-pubsub channel whose FIFO is
// full, or that is not open yet) is listed in a *[DeliveryError], with the
// message taken back out of it; the count still says how many were
// reached. Channels whose owner is dead are not counted, and are removed.
//
// Some channels are neither counted nor listed: a formix-pubsub channel
// whose topic is not whole words ("news.=x"), a channel directory owned by
// another user (in a shared home, by another group) that this home does
// not trust, and a directory with no queue FIFO yet. And the count can be
// one low: a Go channel that closes while Publish reaches it (its
// subscriber took the message file before its id was announced, then
// closed) is counted as neither reached nor missed.
//
// Publishing with no matching channel returns 0 and no error: as in
// formix-pubsub, a message nobody listens to is not kept. After Close,
// Publish returns [ErrClosed].
func (h *Home) Publish(topic string, content []byte, headers Headers) (int, error) {
	_, n, err := h.PublishID(topic, content, headers)
	return n, err
}

// PublishID is [Home.Publish] that also returns the id the message was
// given. A channel that already held a pending message with that id (an
// id drawn by another publisher too) receives it under a fresh id, so a
// subscriber may see another id (see docs/DESIGN.md#publishing). The id
// is 0 when the call failed before one was drawn: an invalid topic or
// header, or a closed Home.
func (h *Home) PublishID(topic string, content []byte, headers Headers) (id uint64, n int, err error) {
	id, n, missed, err := h.eng.Publish(topic, content, headers)
	if err == nil && len(missed) > 0 {
		err = deliveryError(id, topic, missed)
	}
	return id, n, err
}

// PublishMessage publishes m as it stands, keeping its id and timestamp,
// for a program that carries messages from elsewhere (a bridge) and must
// not renumber them. A zero ID or Timestamp is drawn as Publish draws it.
// Its headers may hold whatever a received message's can: besides the
// scalars Publish takes, NaN and ±Inf, and json.RawMessage for nested
// values, written back as Python wrote them.
// A channel already holding a pending message with m's id receives it
// under a fresh id, as with any collision; m.ID is left as it was. An id
// whose top byte is 0xFF is refused ([ErrInvalidID]). The order guarantee
// holds for these messages as the ids allow: where a subscriber finds
// files by listing its directory (after a FIFO overflow), it takes them in
// id order.
func (h *Home) PublishMessage(m *Message) (int, error) {
	w := toWire(m)
	id, n, missed, err := h.eng.PublishCarried(&w)
	if err == nil && len(missed) > 0 {
		err = deliveryError(id, m.Topic, missed)
	}
	return n, err
}

// PublishBatch publishes every content in turn on topic with the same
// headers, as that many calls of [Home.Publish] would, and returns the
// deliveries made (a message that reached 3 channels counts 3).
//
// Between Go processes it packs small messages for a channel into one
// FIFO write of up to PIPE_BUF (4 KiB on Linux), which the kernel keeps
// whole: publisher and subscriber pay one system call and one wake-up for
// a dozen messages of 256 bytes instead of one each. To formix-pubsub
// channels, and for large messages, it does what Publish does. Each
// channel gets the messages in order.
//
// A channel that a message could not reach is named in a *[DeliveryError]
// for that message; the errors of several messages are joined
// ([DeliveryErrors] lists them). Any other error (an invalid topic or
// header, a full file system) stops the batch: every message before the
// first that failed was published to every channel; from that one on,
// some channels may have got some of them (the count includes those
// deliveries) and the others none.
func (h *Home) PublishBatch(topic string, contents [][]byte, headers Headers) (int, error) {
	n, missed, err := h.eng.PublishBatch(topic, contents, headers)
	return n, joinMissed(missed, err)
}

// PublishMessages publishes messages carried from elsewhere, in order,
// each as [Home.PublishMessage] would (keeping its id and timestamp), and
// returns the deliveries made. Consecutive messages on one topic go
// together as [Home.PublishBatch] sends them: a bridge importing a stream
// pays one FIFO write for a dozen small messages.
//
// Every message is checked (topic, id, headers, size) before any is sent:
// an invalid one fails the call with nothing published. Delivery errors
// are as PublishBatch's; a full file system stops the call, the messages
// before the one that failed published.
func (h *Home) PublishMessages(ms []*Message) (int, error) {
	ws := make([]*wire.Message, len(ms))
	all := make([]wire.Message, len(ms)) // one allocation, not one a message
	for i, m := range ms {
		all[i] = toWire(m)
		ws[i] = &all[i]
	}
	n, missed, err := h.eng.PublishCarriedBatch(ws)
	return n, joinMissed(missed, err)
}

// PublishAsync queues a message on topic and returns without waiting for
// it to be written: a goroutine of the home writes what is queued, several
// messages a FIFO write when they come faster than it writes, in the order
// they were queued. It is for a publisher that sends many messages and
// can afford a window of loss, as a NATS client's Publish does:
//
//   - A message queued and not yet written is lost if the process dies
//     (a crash, a signal, os.Exit) before [Home.Flush] or [Home.Close]
//     returns. Once Flush returns, every message queued before it is where
//     Publish would have put it.
//   - Errors come later: Flush returns the messages that missed channels
//     (a *[DeliveryError] each) and any failure that stopped some being
//     sent, since the last Flush. The number of channels reached is not
//     reported.
//
// The topic, the size and the headers are checked at once, and content
// and headers copied. PublishAsync waits while 65,536 messages or 16 MiB
// of content are queued, until the writer has sent some. Publish, PublishBatch and PublishMessages on the same home
// first wait for everything queued, so that they keep their place after
// it. After Close, it returns [ErrClosed].
func (h *Home) PublishAsync(topic string, content []byte, headers Headers) error {
	return h.eng.PublishAsync(topic, content, headers)
}

// Flush waits until every message [Home.PublishAsync] queued before the
// call is written, or ctx ends, and returns what went wrong since the last
// Flush: a *[DeliveryError] for each message that missed a channel
// ([DeliveryErrors] lists them), and any failure that stopped messages
// being sent; past 1,000 of these, one more error counts the rest. The
// errors belong to the home, not the caller: of two Flush calls at once,
// one may return errors of messages the other waited for. With nothing
// queued it returns at once.
func (h *Home) Flush(ctx context.Context) error {
	missed, err := h.eng.Flush(ctx)
	return joinMissed(missed, err)
}

// deliveryError reports the channels one message missed.
func deliveryError(id uint64, topic string, missed []engine.Miss) *DeliveryError {
	de := &DeliveryError{ID: id, Topic: topic, Missed: make([]Miss, len(missed))}
	for i, m := range missed {
		de.Missed[i] = Miss(m)
	}
	return de
}

// joinMissed joins a *DeliveryError per message of a batch that missed
// channels, flat, and the error that stopped the batch last.
func joinMissed(missed []engine.Missed, err error) error {
	if len(missed) == 0 {
		return err
	}
	errs := make([]error, 0, len(missed)+1)
	for _, m := range missed {
		errs = append(errs, deliveryError(m.ID, m.Topic, m.Missed))
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Publish publishes on the [Default] home. See [Home.Publish].
func Publish(topic string, content []byte, headers Headers) (int, error) {
	h, err := Default()
	if err != nil {
		return 0, err
	}
	return h.Publish(topic, content, headers)
}

// PublishBatch publishes on the [Default] home. See [Home.PublishBatch].
func PublishBatch(topic string, contents [][]byte, headers Headers) (int, error) {
	h, err := Default()
	if err != nil {
		return 0, err
	}
	return h.PublishBatch(topic, contents, headers)
}
