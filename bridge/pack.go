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
// (PMSG version 1, docs/FORMAT.md), its topic the subject's. A payload
// over 64 KiB holds one message. The message also carries
// [HeaderOrigin].
const HeaderPacked = "Pubsub-Packed"

const packedVersion = "1"

// packMaxBytes bounds a pack's payload (the server's max_payload lower
// still bounds it), unless it holds one message: enough for a few hundred
// small messages a NATS message, small enough that a pack never holds the
// importer for long, nor makes it allocate much for what it reads.
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
	ms             []*pubsub.Message // in the pack
	at             []int             // where each came from, for the caller
	topic, subject string
}

func newPacker(prefix, origin string) *packer {
	p := &packer{prefix: prefix, limit: packMaxBytes}
	p.msg.Header = nats.Header{HeaderPacked: {packedVersion}, HeaderOrigin: {origin}}
	return p
}

// bound sets the limit of the pack for a server whose max_payload (0:
// unknown) the headers count against too.
func (p *packer) bound(maxPayload int64) {
	p.limit = packMaxBytes
	if room := maxPayload - 256; maxPayload > 0 && room < int64(p.limit) {
		p.limit = int(max(room, 0))
	}
}

// len returns how many messages the pack holds.
func (p *packer) len() int { return len(p.ms) }

// add appends m, which came from position at, to the pack and reports
// true, or reports false, leaving the pack as it was, when m is on another
// topic or would take the pack over its limit: the caller sends the pack
// and adds m to the next. An empty pack takes any message, however large.
// An error means m cannot be written (a header of a kind no message file
// holds).
func (p *packer) add(m *pubsub.Message, at int) (bool, error) {
	n := len(p.ms)
	if n > 0 && (m.Topic != p.topic ||
		len(p.buf)+packRecordSize+wire.FixedSize+len(m.Topic)+len(m.Content) > p.limit) {
		return false, nil
	}
	w := wire.Message{ID: m.ID, Timestamp: m.Timestamp, Topic: m.Topic, Headers: m.Headers, Content: m.Content, Carried: true}
	start := len(p.buf)
	buf, err := wire.AppendEncode(binary.BigEndian.AppendUint32(p.buf, 0), &w)
	if err != nil {
		return false, err
	}
	if n > 0 && len(buf) > p.limit {
		// The headers took it over: the message starts the next pack.
		p.buf = buf[:start]
		return false, nil
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-packRecordSize))
	p.buf = buf
	if n == 0 && (m.Topic != p.topic || p.subject == "") {
		p.topic, p.subject = m.Topic, topicSubject(p.prefix, m.Topic)
	}
	p.ms = append(p.ms, m)
	p.at = append(p.at, at)
	return true, nil
}

// message returns the pack as a NATS message, valid until reset.
func (p *packer) message() *nats.Msg {
	p.msg.Subject = p.subject
	p.msg.Data = p.buf
	return &p.msg
}

// reset empties the pack.
func (p *packer) reset() {
	clear(p.ms)
	p.buf, p.ms, p.at = p.buf[:0], p.ms[:0], p.at[:0]
	if cap(p.buf) > 4*packMaxBytes {
		p.buf = nil // a pack of one large message: not kept
	}
}

// errPacked wraps what is wrong with a pack.
var errPacked = errors.New("bad packed message")

// unpack appends to ms the messages of a pack on topic t, in order. A
// record it cannot read, or on another topic, is skipped: bad counts them
// (all that follow when the sizes no longer make sense, as one) and err
// says what is wrong with the first, naming it and its offset. Contents
// alias data.
func unpack(ms []pubsub.Message, t, version string, data []byte, s *wire.Stream) (_ []pubsub.Message, bad int, err error) {
	if version != packedVersion {
		return ms, 1, fmt.Errorf("%w: %s %q: the version this bridge reads is %s", errPacked, HeaderPacked, version, packedVersion)
	}
	if len(data) > packMaxBytes && (len(data) < packRecordSize || uint64(binary.BigEndian.Uint32(data)) != uint64(len(data)-packRecordSize)) {
		return ms, 1, fmt.Errorf("%w: %d bytes, and not one message: a pack over %d bytes holds one", errPacked, len(data), packMaxBytes)
	}
	// Only the first error is said, so only it is formatted: a hostile
	// pack of empty records costs no more than a good one.
	skip := func(format string, args ...any) {
		bad++
		if err == nil {
			err = fmt.Errorf("%w: "+format, append([]any{errPacked}, args...)...)
		}
	}
	for k, off := 0, 0; off < len(data); k++ {
		if len(data)-off < packRecordSize {
			skip("record %d at byte %d: %d bytes left, less than a size", k, off, len(data)-off)
			break
		}
		n := binary.BigEndian.Uint32(data[off:])
		if uint64(n) > uint64(len(data)-off-packRecordSize) {
			skip("record %d at byte %d: size %d, but %d bytes left", k, off, n, len(data)-off-packRecordSize)
			break
		}
		record := data[off+packRecordSize : off+packRecordSize+int(n)]
		var w wire.Message
		switch derr := s.Decode(record, &w); {
		case derr != nil:
			skip("record %d at byte %d: %v", k, off, derr)
		case w.Topic != t:
			skip("record %d at byte %d: topic %q on subject of topic %q", k, off, w.Topic, t)
		default:
			ms = append(ms, pubsub.Message{ID: w.ID, Timestamp: w.Timestamp, Topic: t, Headers: w.Headers, Content: w.Content})
		}
		off += packRecordSize + int(n)
	}
	return ms, bad, err
}
