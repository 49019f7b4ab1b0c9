// Package numbered makes and checks the messages of the fault-injection
// suite. A message's content is its publisher's number (4 bytes), its
// sequence number (8), a CRC-32 of the rest (4), and bytes derived from
// the sequence number, so a partial, torn or mixed-up message cannot pass
// for a good one; its headers repeat the two numbers.
package numbered

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/pubsub-go/pubsub"
)

const headerLen = 16

// Content builds message seq of publisher pub, size bytes long (at
// least 16).
func Content(pub uint32, seq uint64, size int) []byte {
	b := make([]byte, max(size, headerLen))
	binary.BigEndian.PutUint32(b[0:], pub)
	binary.BigEndian.PutUint64(b[4:], seq)
	for i := headerLen; i < len(b); i++ {
		b[i] = byte(seq*31 + uint64(i))
	}
	binary.BigEndian.PutUint32(b[12:], sum(b))
	return b
}

// sum is the CRC-32 of everything but the checksum itself.
func sum(b []byte) uint32 {
	return crc32.Update(crc32.ChecksumIEEE(b[:12]), crc32.IEEETable, b[headerLen:])
}

// Check returns the publisher and sequence number of a message built by
// Content, or an error saying what is wrong with it.
func Check(m *pubsub.Message) (pub uint32, seq uint64, err error) {
	b := m.Content
	if len(b) < headerLen {
		return 0, 0, fmt.Errorf("%d bytes", len(b))
	}
	pub = binary.BigEndian.Uint32(b[0:])
	seq = binary.BigEndian.Uint64(b[4:])
	if sum(b) != binary.BigEndian.Uint32(b[12:]) {
		return 0, 0, fmt.Errorf("checksum of pub %d seq %d", pub, seq)
	}
	hp, _ := m.Headers["pub"].(int64)
	hs, _ := m.Headers["seq"].(int64)
	if uint32(hp) != pub || (uint64(hs) != seq && hs != AnySeq) {
		return 0, 0, fmt.Errorf("headers %v, content says pub %d seq %d", m.Headers, pub, seq)
	}
	return pub, seq, nil
}

// AnySeq in the seq header stands for any sequence number: a batch
// shares one set of headers.
const AnySeq = math.MaxUint32

// Headers are the headers of message seq of publisher pub.
func Headers(pub uint32, seq uint64) pubsub.Headers {
	return pubsub.Headers{"pub": int64(pub), "seq": int64(seq)}
}

// Tally counts what a subscriber saw.
type Tally struct {
	Received, Dup, Corrupt, Disorder int
	FirstError                       string // what was wrong with the first corrupt message
	FirstDisorder                    string // the first message older than one seen before it

	seen   map[uint32][]uint64 // bit set of sequence numbers per publisher
	last   map[uint32]uint64   // highest sequence number + 1 per publisher
	lastID map[uint32]uint64   // the id of that message
	n      int                 // messages checked, to place the first disorder
}

// NewTally returns an empty Tally.
func NewTally() *Tally {
	return &Tally{seen: map[uint32][]uint64{}, last: map[uint32]uint64{}, lastID: map[uint32]uint64{}}
}

// Publishers returns how many publishers were heard from.
func (t *Tally) Publishers() int { return len(t.seen) }

// Bad counts a message that could not be read at all as received and
// corrupt.
func (t *Tally) Bad(err error) {
	t.Received++
	t.Corrupt++
	if t.FirstError == "" {
		t.FirstError = err.Error()
	}
}

// Add checks m and counts it: a duplicate, a corrupt message, one older
// than one already seen from its publisher.
func (t *Tally) Add(m *pubsub.Message) {
	t.Received++
	pub, seq, err := Check(m)
	if err != nil {
		t.Corrupt++
		if t.FirstError == "" {
			t.FirstError = err.Error()
		}
		return
	}
	bits := t.seen[pub]
	for uint64(len(bits)) <= seq/64 {
		bits = append(bits, 0)
	}
	t.seen[pub] = bits
	if bits[seq/64]&(1<<(seq%64)) != 0 {
		t.Dup++
		return
	}
	bits[seq/64] |= 1 << (seq % 64)
	t.n++
	if seq+1 <= t.last[pub] {
		t.Disorder++
		if t.FirstDisorder == "" {
			t.FirstDisorder = fmt.Sprintf("message %d: publisher %d's seq %d (id %d) after its seq %d (id %d)",
				t.n, pub, seq, m.ID, t.last[pub]-1, t.lastID[pub])
		}
		return
	}
	t.last[pub], t.lastID[pub] = seq+1, m.ID
}
