package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// HeaderPacked marks a NATS message that packs pubsub messages of one
// topic, as an exporter made with [WithPacking] sends them. Its value is
// the format's version, "1": the payload is, for each message, its size
// as a big-endian uint32 and then the message as a message file holds it
// (PMSG version 1, docs/FORMAT.md), its topic the subject's. The message
// also carries [HeaderOrigin].
const HeaderPacked = "Pubsub-Packed"

const packedVersion = "1"

// packMaxBytes bounds a pack's payload (the server's max_payload lower
// still bounds it): enough for a few hundred small messages a NATS message,
// small enough that a pack never holds the importer for long.
const packMaxBytes = 64 << 10

// packRecordSize is what a record adds to a pack besides its message.
const packRecordSize = 4

// packer gathers messages of one topic into one NATS message for one
// export loop. It reuses its nats.Msg and buffer: the client copies what
// it publishes before PublishMsg returns.
type packer struct {
	prefix         string
	limit          int // of the payload
	msg            nats.Msg
	buf            []byte
	n              int
	first          *pubsub.Message // the pack's first, for logs
	topic, subject string
}

func newPacker(prefix, origin string) *packer {
	p := &packer{prefix: prefix, limit: packMaxBytes}
	p.msg.Header = nats.Header{HeaderPacked: {packedVersion}, HeaderOrigin: {origin}}
	return p
}

// len returns how many messages the pack holds.
func (p *packer) len() int { return p.n }

// add appends m to the pack and reports true, or reports false, leaving
// the pack as it was, when m is on another topic or would take the pack
// over its limit: the caller sends the pack and adds m to the next. An
// empty pack takes any message, however large. An error means m cannot
// be written (a header of a kind no message file holds).
func (p *packer) add(m *pubsub.Message) (bool, error) {
	if p.n > 0 && (m.Topic != p.topic ||
		len(p.buf)+packRecordSize+wire.FixedSize+len(m.Topic)+len(m.Content) > p.limit) {
		return false, nil
	}
	w := wire.Message{ID: m.ID, Timestamp: m.Timestamp, Topic: m.Topic, Headers: m.Headers, Content: m.Content, Carried: true}
	at := len(p.buf)
	buf, err := wire.AppendEncode(binary.BigEndian.AppendUint32(p.buf, 0), &w)
	if err != nil {
		return false, err
	}
	if p.n > 0 && len(buf) > p.limit {
		// The headers took it over: the message starts the next pack.
		p.buf = buf[:at]
		return false, nil
	}
	binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-packRecordSize))
	p.buf = buf
	if p.n == 0 {
		p.first = m
		if m.Topic != p.topic || p.subject == "" {
			p.topic, p.subject = m.Topic, topicSubject(p.prefix, m.Topic)
		}
	}
	p.n++
	return true, nil
}

// message returns the pack as a NATS message, valid until reset.
func (p *packer) message() *nats.Msg {
	p.msg.Subject = p.subject
	p.msg.Data = p.buf
	return &p.msg
}

// reset empties the pack, and bounds the next by the server's
// max_payload (0: unknown), which the headers count against too.
func (p *packer) reset(maxPayload int64) {
	p.buf, p.n, p.first = p.buf[:0], 0, nil
	if cap(p.buf) > 4*packMaxBytes {
		p.buf = nil // a pack of one large message: not kept
	}
	p.limit = packMaxBytes
	if room := maxPayload - 256; maxPayload > 0 && room < int64(p.limit) {
		p.limit = int(max(room, 0))
	}
}

// errPacked wraps what is wrong with a pack.
var errPacked = errors.New("bad packed message")

// unpack appends to ms the messages of a pack on topic t, in order. It
// stops at the first record it cannot read, or one on another topic, and
// returns ms with the messages before it and an error naming the record,
// its offset and what is wrong. Contents alias data.
func unpack(ms []pubsub.Message, t, version string, data []byte, s *wire.Stream) ([]pubsub.Message, error) {
	if version != packedVersion {
		return ms, fmt.Errorf("%w: %s %q: the version this bridge reads is %s", errPacked, HeaderPacked, version, packedVersion)
	}
	for k, off := 0, 0; off < len(data); k++ {
		if len(data)-off < packRecordSize {
			return ms, fmt.Errorf("%w: record %d at byte %d: %d bytes left, less than a size", errPacked, k, off, len(data)-off)
		}
		n := binary.BigEndian.Uint32(data[off:])
		off += packRecordSize
		if uint64(n) > uint64(len(data)-off) {
			return ms, fmt.Errorf("%w: record %d at byte %d: size %d, but %d bytes left", errPacked, k, off-packRecordSize, n, len(data)-off)
		}
		var w wire.Message
		if err := s.Decode(data[off:off+int(n)], &w); err != nil {
			return ms, fmt.Errorf("%w: record %d at byte %d: %v", errPacked, k, off-packRecordSize, err)
		}
		if w.Topic != t {
			return ms, fmt.Errorf("%w: record %d at byte %d: topic %q on subject of topic %q", errPacked, k, off-packRecordSize, w.Topic, t)
		}
		ms = append(ms, pubsub.Message{ID: w.ID, Timestamp: w.Timestamp, Topic: t, Headers: w.Headers, Content: w.Content})
		off += int(n)
	}
	return ms, nil
}
