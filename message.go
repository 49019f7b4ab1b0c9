package pubsub

import (
	"time"

	"github.com/pubsub-go/pubsub/internal/wire"
)

// Message is one published message, as a channel receives it.
type Message struct {
	// ID is the publisher's id for the message. Python publishers draw
	// it from the clock and 16 random bits; Go publishers make it strictly
	// increasing per process (see the README). Two message files pending
	// in one channel never share an id; two publishing processes may
	// still draw the same id for messages sent inline.
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
// json.RawMessage and cannot be published again.
type Headers map[string]any

func fromWire(w *wire.Message) *Message {
	return &Message{ID: w.ID, Timestamp: w.Timestamp, Topic: w.Topic, Headers: Headers(w.Headers), Content: w.Content}
}
