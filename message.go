package pubsub

import (
	"time"

	"github.com/pubsub-go/pubsub/internal/engine"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Message is one published message, as a channel receives it.
type Message struct {
	// ID is the publisher's id for the message. Python publishers draw
	// it from the clock and 16 random bits, so their ids repeat over a
	// long stream: do not use them as unique keys. Go publishers make it
	// strictly increasing per process (see docs/DESIGN.md#publishing).
	// Two message files pending in one channel never share an id: a
	// channel that met a collision got the message under a fresh id,
	// which PublishID did not return. Two publishing processes may still
	// draw the same id for messages sent inline.
	ID uint64
	// Timestamp is when the message was published, in microseconds since
	// the Unix epoch.
	Timestamp int64
	// Topic is the concrete topic it was published to.
	Topic string
	// Headers are the publisher's metadata.
	Headers Headers
	// Content is the payload, as published.
	Content []byte

	lease *lease // the worker that holds it, for a message from a Queue

	storage []byte          // what Content lies in, when it is the message's own
	from    *engine.Channel // the channel it came from, which Release hands storage to
}

// Release tells the channel m came from that m is done with, so that it
// can read a later message into m's storage instead of allocating. A
// subscriber that does not keep messages, above all large ones, saves the
// allocation and the zeroing of a buffer of the message's size on each.
//
// After Release, m.Content and every slice of it must not be used: a later
// message overwrites them. Release sets m.Content to nil. It does nothing
// for a message that shares its storage with others (a small one that
// came inline on the FIFO) and for one from a Queue. It is safe to call
// more than once, but not from two goroutines at once.
func (m *Message) Release() {
	if m.from != nil && m.storage != nil {
		m.from.Recycle(m.storage)
	}
	m.storage, m.from, m.Content = nil, nil, nil
}

// Time returns the Timestamp as a time.Time.
func (m *Message) Time() time.Time { return time.UnixMicro(m.Timestamp) }

// Headers carry a message's metadata. Values are JSON scalars and keep
// their type between Go and Python:
//
//   - string (valid UTF-8)
//   - integers: any Go integer type, *big.Int and json.Number on Publish;
//     int64, or *big.Int when beyond int64, on receipt
//   - float64 (and float32): a float stays a float, 1.0 included; NaN and
//     infinities are refused on Publish, as JSON has no such values, but
//     received from Python (which writes them) as float64
//   - bool, and nil for JSON null
//
// A Python publisher may also send lists or objects; they arrive as
// json.RawMessage, which Publish refuses and [Home.PublishMessage] writes
// back as they came.
type Headers map[string]any

func fromWire(w *wire.Message) *Message {
	return &Message{ID: w.ID, Timestamp: w.Timestamp, Topic: w.Topic, Headers: Headers(w.Headers), Content: w.Content, storage: w.Storage}
}

func toWire(m *Message) wire.Message {
	return wire.Message{ID: m.ID, Timestamp: m.Timestamp, Topic: m.Topic, Headers: m.Headers, Content: m.Content}
}
