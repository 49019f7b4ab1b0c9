package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

const (
	// Magic is "PMSG", the first four bytes of every message.
	Magic uint32 = 0x504D5347
	// Version is the only format version there is.
	Version byte = 1
	// FixedSize is the size of a message with an empty topic, empty
	// headers text and empty content.
	FixedSize = 4 + 1 + 8 + 8 + 4 + 4 + 4
	// MaxLen is the largest value of a length field.
	MaxLen = 1<<32 - 1
)

// Offsets of the fixed fields.
const (
	offVersion   = 4
	offID        = 5
	offTimestamp = 13
	offTopicLen  = 21
)

// Message is one message as the file holds it.
type Message struct {
	ID        uint64
	Timestamp int64 // microseconds since the Unix epoch; never negative in a file
	Topic     string
	// Headers hold JSON scalars; see EncodeHeaders and DecodeHeaders for
	// the Go types on each side. Nil encodes as {}.
	Headers map[string]any
	Content []byte
	// Carried: the headers come from a received message and may hold what
	// DecodeHeaders returns beyond scalars (NaN, ±Inf, json.RawMessage),
	// written back as Python wrote them.
	Carried bool
	// Storage, set by a reader, not by Decode: the buffer Content lies in
	// when the message has it to itself (it was read from its own file),
	// so that it can be read into again once the receiver is done with it.
	Storage []byte
}

// Encode returns m as a message file, in a buffer of exactly the right
// size. Headers are written with their keys sorted. It fails with a
// *HeaderError for a header it cannot write, and with an error wrapping
// ErrBadTimestamp, ErrBadTopic or ErrTooLong for the other fields.
func Encode(m *Message) ([]byte, error) {
	return AppendEncode(nil, m)
}

// AppendEncode appends m as a message file to dst, and returns the
// extended buffer. It fails as Encode does, and then returns dst unchanged.
func AppendEncode(dst []byte, m *Message) ([]byte, error) {
	var keys [8]string
	return appendEncode(dst, m, appendSortedKeys(keys[:0], m.Headers))
}

// Restamp writes id and ts over those of b, a message AppendEncode
// wrote (or its prefix): a message that differs from an encoded one only
// in them is encoded by a copy.
func Restamp(b []byte, id uint64, ts int64) error {
	if ts < 0 {
		return fmt.Errorf("%w: %d is negative", ErrBadTimestamp, ts)
	}
	binary.BigEndian.PutUint64(b[offID:], id)
	binary.BigEndian.PutUint64(b[offTimestamp:], uint64(ts))
	return nil
}

// EncodedSize returns the size of m's message file when its headers text
// is headersJSON.
func EncodedSize(m *Message, headersJSON []byte) int {
	return FixedSize + len(m.Topic) + len(headersJSON) + len(m.Content)
}

// appendEncode writes the headers in the order of keys, which must be
// exactly the keys of m.Headers.
func appendEncode(dst []byte, m *Message, keys []string) ([]byte, error) {
	if m.Timestamp < 0 {
		return dst, fmt.Errorf("%w: %d is negative", ErrBadTimestamp, m.Timestamp)
	}
	if !utf8.ValidString(m.Topic) {
		return dst, fmt.Errorf("%w: %q", ErrBadTopic, m.Topic)
	}
	hlen, err := headersLen(keys, m.Headers, m.Carried)
	if err != nil {
		return dst, err
	}
	for _, f := range [...]struct {
		name string
		n    int
	}{{"topic", len(m.Topic)}, {"headers", hlen}, {"content", len(m.Content)}} {
		if uint64(f.n) > MaxLen {
			return dst, fmt.Errorf("%w: %s of %d bytes (at most %d)", ErrTooLong, f.name, f.n, uint64(MaxLen))
		}
	}

	size := FixedSize + len(m.Topic) + hlen + len(m.Content)
	if cap(dst)-len(dst) < size {
		grown := make([]byte, len(dst), len(dst)+size)
		copy(grown, dst)
		dst = grown
	}
	dst = binary.BigEndian.AppendUint32(dst, Magic)
	dst = append(dst, Version)
	dst = binary.BigEndian.AppendUint64(dst, m.ID)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Timestamp))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Topic)))
	dst = append(dst, m.Topic...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(hlen))
	dst = appendHeaders(dst, keys, m.Headers, m.Carried)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Content)))
	dst = append(dst, m.Content...)
	return dst, nil
}

// Decode reads a whole message file. Bytes after the content are ignored,
// as formix-pubsub ignores them. The returned Content aliases b; Topic and
// Headers do not.
//
// Every error is a *DecodeError wrapping ErrBadMagic, ErrUnknownVersion,
// ErrTruncated, ErrBadTimestamp, ErrBadTopic or ErrBadHeaders. Decode
// checks each length against the bytes left before using it, so it never
// allocates more than b implies.
func Decode(b []byte) (*Message, error) {
	m := new(Message)
	if err := DecodeTo(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeTo is Decode into m, which the caller may keep on its stack: a
// subscriber taking a message from a stream then allocates only what it
// keeps. When m.Topic already holds the topic's text, that string is kept
// rather than allocated again: a reader that sets it to the last topic it
// decoded reads a stream on one topic without a string a message. m is
// left in an unspecified state on error.
func DecodeTo(b []byte, m *Message) error {
	return decodeTo(b, m, nil)
}

// Stream decodes the messages of one reader in turn, keeping what they
// often repeat from one to the next: the topic's text, and the headers
// (a bridge's origin, a content type), which then cost a copy of the
// map a message rather than a parse. The zero value is ready; a Stream
// is not for concurrent use.
type Stream struct {
	topic   string
	headers headerMemo
}

// Decode is DecodeTo for the next message of the stream.
func (s *Stream) Decode(b []byte, m *Message) error {
	m.Topic = s.topic
	if err := decodeTo(b, m, &s.headers); err != nil {
		return err
	}
	s.topic = m.Topic
	return nil
}

func decodeTo(b []byte, m *Message, memo *headerMemo) error {
	last := m.Topic
	r := reader{b: b}
	magic, err := r.fixed("magic", 4)
	if err != nil {
		return err
	}
	if got := binary.BigEndian.Uint32(magic); got != Magic {
		return &DecodeError{"magic", 0, fmt.Errorf("%w: got %#08x", ErrBadMagic, got)}
	}
	version, err := r.fixed("version", 1)
	if err != nil {
		return err
	}
	if version[0] != Version {
		return &DecodeError{"version", offVersion, fmt.Errorf("%w: %d (want %d)", ErrUnknownVersion, version[0], Version)}
	}
	id, err := r.fixed("id", 8)
	if err != nil {
		return err
	}
	ts, err := r.fixed("timestamp", 8)
	if err != nil {
		return err
	}
	*m = Message{ID: binary.BigEndian.Uint64(id)}
	if t := binary.BigEndian.Uint64(ts); t > math.MaxInt64 {
		return &DecodeError{"timestamp", offTimestamp, fmt.Errorf("%w: %d is above the largest int64", ErrBadTimestamp, t)}
	} else {
		m.Timestamp = int64(t)
	}

	off := r.off
	topic, err := r.field("topic")
	if err != nil {
		return err
	}
	if !utf8.Valid(topic) {
		return &DecodeError{"topic", off + 4, fmt.Errorf("%w: byte %d", ErrBadTopic, invalidUTF8At(topic))}
	}
	if string(topic) == last {
		m.Topic = last
	} else {
		m.Topic = string(topic)
	}

	off = r.off
	headers, err := r.field("headers")
	if err != nil {
		return err
	}
	if m.Headers, err = memo.decode(headers); err != nil {
		return &DecodeError{"headers", off + 4, err}
	}

	if m.Content, err = r.field("content"); err != nil {
		return err
	}
	return nil
}

// PeekID returns the id of a message from a buffer holding at least its
// first 13 bytes, and false when b is shorter or is not PMSG version 1.
func PeekID(b []byte) (uint64, bool) {
	if len(b) < offTimestamp || binary.BigEndian.Uint32(b) != Magic || b[offVersion] != Version {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[offID:]), true
}

// reader walks a message buffer, checking every size against what is left.
type reader struct {
	b   []byte
	off int
}

func (r *reader) fixed(field string, n int) ([]byte, error) {
	if left := len(r.b) - r.off; left < n {
		return nil, &DecodeError{field, r.off, fmt.Errorf("%w: %d bytes needed, %d left", ErrTruncated, n, left)}
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

// field reads a u32 length and that many bytes.
func (r *reader) field(field string) ([]byte, error) {
	if left := len(r.b) - r.off; left < 4 {
		// Named here, not before: the concatenation cost an allocation
		// per field of every message.
		return nil, &DecodeError{field + " length", r.off, fmt.Errorf("%w: %d bytes needed, %d left", ErrTruncated, 4, left)}
	}
	n := uint64(binary.BigEndian.Uint32(r.b[r.off:]))
	r.off += 4
	if left := uint64(len(r.b) - r.off); n > left {
		return nil, &DecodeError{field, r.off, fmt.Errorf("%w: length %d, %d bytes left", ErrTruncated, n, left)}
	}
	return r.fixed(field, int(n))
}

// invalidUTF8At returns the index of the first byte of b that is not
// part of valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
