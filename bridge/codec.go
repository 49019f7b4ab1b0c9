package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// The NATS headers that carry a pubsub message. The content is the NATS
// payload and the topic the subject (after the prefix).
const (
	// HeaderID is the message's id, in decimal.
	HeaderID = "Pubsub-Id"
	// HeaderTimestamp is the message's timestamp, in microseconds since
	// the Unix epoch, in decimal.
	HeaderTimestamp = "Pubsub-Timestamp"
	// HeaderOrigin names the home the message was published in (see
	// [Origin]).
	HeaderOrigin = "Pubsub-Origin"
	// HeaderHeaders holds the message's headers as the JSON object a
	// message file holds (Python's json.dumps text, keys sorted); absent
	// when there are none.
	HeaderHeaders = "Pubsub-Headers"
)

// OriginHeader is the pubsub header a bridge adds to every message it
// publishes into its home: the origin of the home the message came from.
// The header is reserved: a bridge never exports a message that carries
// it, which is how a message never travels back or twice.
const OriginHeader = "pubsub-origin"

// encoder turns local messages into NATS messages for one export loop.
// It reuses one nats.Msg and its header map, whose values it rewrites in
// place: the client copies what it publishes before PublishMsg returns,
// and allocations are most of an exporter's cost (docs/PERFORMANCE.md).
type encoder struct {
	prefix         string
	msg            nats.Msg
	id, ts, hdrs   []string // the value slices in msg.Header
	topic, subject string   // the last topic and its subject
}

func newEncoder(prefix, origin string) *encoder {
	e := &encoder{prefix: prefix, id: []string{""}, ts: []string{""}, hdrs: []string{""}}
	e.msg.Header = nats.Header{HeaderID: e.id, HeaderTimestamp: e.ts, HeaderOrigin: {origin}}
	return e
}

// encode returns m as a NATS message, valid until the next call.
func (e *encoder) encode(m *pubsub.Message) (*nats.Msg, error) {
	if m.Topic != e.topic || e.subject == "" {
		e.topic, e.subject = m.Topic, topicSubject(e.prefix, m.Topic)
	}
	e.msg.Subject = e.subject
	e.msg.Data = m.Content
	e.id[0] = strconv.FormatUint(m.ID, 10)
	e.ts[0] = strconv.FormatInt(m.Timestamp, 10)
	if len(m.Headers) == 0 {
		delete(e.msg.Header, HeaderHeaders)
		return &e.msg, nil
	}
	text, err := encodeHeaders(m.Headers)
	if err != nil {
		return nil, err
	}
	e.hdrs[0] = string(text)
	e.msg.Header[HeaderHeaders] = e.hdrs
	return &e.msg, nil
}

// fromNATS sets m to the pubsub message a NATS message carries, and
// returns the origin it names ("" for a message not sent by a bridge). A message from
// another NATS client, without the bridge's headers, gets an id and a
// timestamp drawn when it is published.
func fromNATS(t string, msg *nats.Msg, m *pubsub.Message) (origin string, err error) {
	*m = pubsub.Message{Topic: t, Content: msg.Data}
	if m.Content == nil {
		m.Content = []byte{}
	}
	if v := msg.Header.Get(HeaderID); v != "" {
		if m.ID, err = strconv.ParseUint(v, 10, 64); err != nil {
			return "", fmt.Errorf("bad %s header %q", HeaderID, v)
		}
	}
	if v := msg.Header.Get(HeaderTimestamp); v != "" {
		if m.Timestamp, err = strconv.ParseInt(v, 10, 64); err != nil || m.Timestamp < 0 {
			return "", fmt.Errorf("bad %s header %q", HeaderTimestamp, v)
		}
	}
	if v := msg.Header.Get(HeaderHeaders); v != "" {
		h, err := wire.DecodeHeaders([]byte(v))
		if err != nil {
			return "", fmt.Errorf("bad %s header: %v", HeaderHeaders, err)
		}
		m.Headers = h
	}
	return msg.Header.Get(HeaderOrigin), nil
}

// encodeHeaders writes headers as a message file holds them. Besides what
// Publish accepts, it writes what a received message may hold and Publish
// refuses: NaN and the infinities (as Python writes them) and nested
// lists or objects (json.RawMessage, as they came), so that what a Python
// publisher sent crosses NATS as it was.
func encodeHeaders(h pubsub.Headers) ([]byte, error) {
	special := false
	for _, v := range h {
		switch v := v.(type) {
		case float64:
			special = special || math.IsNaN(v) || math.IsInf(v, 0)
		case json.RawMessage:
			special = true
		}
	}
	if !special {
		return wire.EncodeHeaders(h)
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		var text []byte
		switch v := h[k].(type) {
		case float64:
			switch {
			case math.IsNaN(v):
				text = []byte("NaN")
			case math.IsInf(v, 1):
				text = []byte("Infinity")
			case math.IsInf(v, -1):
				text = []byte("-Infinity")
			}
		case json.RawMessage:
			// A NATS header value ends at a line break; JSON allows
			// them only as white space, where a space means the same.
			text = bytes.Map(func(r rune) rune {
				if r == '\r' || r == '\n' {
					return ' '
				}
				return r
			}, v)
		}
		one, err := wire.EncodeHeaders(map[string]any{k: h[k]})
		if text != nil {
			// Let the wire encoding quote the key, as Python would.
			if one, err = wire.EncodeHeaders(map[string]any{k: nil}); err == nil {
				one = append(one[:len(one)-len("null}")], text...)
				one = append(one, '}')
			}
		}
		if err != nil {
			return nil, err
		}
		b = append(b, one[1:len(one)-1]...)
	}
	return append(b, '}'), nil
}
