package bridge

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// packAll packs ms, which must fit one pack, and returns its NATS message.
func packAll(t testing.TB, ms ...*pubsub.Message) *nats.Msg {
	t.Helper()
	p := newPacker("pubsub", "there")
	for k, m := range ms {
		if ok, err := p.add(m, k); !ok || err != nil {
			t.Fatalf("add %+v: %v, %v", m, ok, err)
		}
	}
	return p.message()
}

// TestPackRoundTrip: what a packer writes, unpack reads back as it was:
// ids, timestamps, contents (empty, binary) and every kind of header a
// received message may hold, NaN, infinities and nested JSON included.
func TestPackRoundTrip(t *testing.T) {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	ms := []*pubsub.Message{
		{ID: 1, Timestamp: 1700000000000000, Topic: "m.t", Content: []byte("one")},
		{ID: 2, Timestamp: 1700000000000001, Topic: "m.t", Content: []byte{}, Headers: pubsub.Headers{
			"s": "a \"quoted\"\n text: é ✓ \x00", "t": true, "null": nil, "i": int64(-42), "big": huge,
			"pi": math.Pi, "nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1),
			"nested": json.RawMessage(`[1, {"a": [null]}]`),
		}},
		{ID: math.MaxUint64 >> 8, Timestamp: math.MaxInt64, Topic: "m.t", Content: []byte{0, 255, '\r', '\n'}},
	}
	msg := packAll(t, ms...)
	if msg.Subject != "pubsub.m.t" || msg.Header.Get(HeaderPacked) != "1" || msg.Header.Get(HeaderOrigin) != "there" {
		t.Fatalf("pack: subject %q, headers %v", msg.Subject, msg.Header)
	}
	var s wire.Stream
	got, bad, err := unpack(nil, "m.t", "1", msg.Data, &s)
	if err != nil || bad != 0 || len(got) != len(ms) {
		t.Fatalf("unpack: %d messages, %v; want %d", len(got), err, len(ms))
	}
	for i, m := range ms {
		g := got[i]
		if g.ID != m.ID || g.Timestamp != m.Timestamp || g.Topic != m.Topic || !bytes.Equal(g.Content, m.Content) {
			t.Errorf("message %d: got %d %d %q %q, want %d %d %q %q", i, g.ID, g.Timestamp, g.Topic, g.Content, m.ID, m.Timestamp, m.Topic, m.Content)
		}
		// Headers: the same text once written again, as NaN != NaN.
		gt, err1 := encodeHeaders(g.Headers)
		wt, err2 := encodeHeaders(m.Headers)
		if err1 != nil || err2 != nil || !bytes.Equal(gt, wt) {
			t.Errorf("message %d: headers %s (%v), want %s (%v)", i, gt, err1, wt, err2)
		}
	}
}

// TestPackBounds: a pack holds one topic and at most its limit, except a
// first message larger than the limit, which goes alone; the server's
// max_payload lowers the limit.
func TestPackBounds(t *testing.T) {
	p := newPacker("pubsub", "there")
	msg := func(topic string, n int) *pubsub.Message {
		return &pubsub.Message{ID: 1, Timestamp: 1, Topic: topic, Content: bytes.Repeat([]byte{'x'}, n)}
	}
	add := func(m *pubsub.Message, want bool) {
		t.Helper()
		if ok, err := p.add(m, 0); ok != want || err != nil {
			t.Fatalf("add %s of %d bytes to a pack of %d messages, %d bytes: %v, %v; want %v", m.Topic, len(m.Content), p.len(), len(p.buf), ok, err, want)
		}
	}
	add(msg("a", 10), true)
	add(msg("b", 10), false) // another topic
	add(msg("a", 10), true)
	if p.len() != 2 || p.message().Subject != "pubsub.a" {
		t.Fatalf("pack of %d, subject %s; want 2 on pubsub.a", p.len(), p.message().Subject)
	}
	for len(p.buf) < packMaxBytes-1000 {
		add(msg("a", 500), true)
	}
	add(msg("a", 1000), false) // over the limit
	if len(p.buf) > packMaxBytes {
		t.Fatalf("pack of %d bytes, over %d", len(p.buf), packMaxBytes)
	}

	p.reset()
	add(msg("b", 3*packMaxBytes), true) // alone, however large
	add(msg("b", 1), false)
	if p.message().Subject != "pubsub.b" {
		t.Fatalf("subject %s after a topic change, want pubsub.b", p.message().Subject)
	}

	p.reset()
	p.bound(4096) // a server with max_payload 4096
	add(msg("a", 1000), true)
	add(msg("a", 1000), true)
	add(msg("a", 1000), true)
	add(msg("a", 1000), false)
	if len(p.buf) > 4096-256 {
		t.Fatalf("pack of %d bytes under max_payload 4096", len(p.buf))
	}

	// A message whose headers, not its content, would take the pack over
	// its limit starts the next one.
	p.reset()
	p.bound(0)
	for len(p.buf) < packMaxBytes-2000 {
		add(msg("a", 1000), true)
	}
	heavy := msg("a", 10)
	heavy.Headers = pubsub.Headers{"h": strings.Repeat("y", 4000)}
	add(heavy, false)
	if len(p.buf) > packMaxBytes {
		t.Fatalf("pack of %d bytes, over %d", len(p.buf), packMaxBytes)
	}
	var s wire.Stream
	if got, bad, err := unpack(nil, "a", "1", p.buf, &s); len(got) != p.len() || bad != 0 || err != nil {
		t.Fatalf("the pack reads back as %d messages, %d bad, %v; want %d", len(got), bad, err, p.len())
	}

	// A header no message file can hold: refused, the pack unchanged.
	before := bytes.Clone(p.buf)
	if ok, err := p.add(&pubsub.Message{Topic: "a", Content: []byte{}, Headers: pubsub.Headers{"c": complex(1, 2)}}, 0); ok || err == nil {
		t.Fatalf("add with a complex header: %v, %v; want an error", ok, err)
	}
	if !bytes.Equal(p.buf, before) {
		t.Fatal("a refused message changed the pack")
	}
}

// TestUnpackErrors: a record that cannot be read, or is on another
// topic, is skipped and the others kept; a size that does not fit ends the
// pack; the error names the first bad record, where it starts and what is
// wrong.
func TestUnpackErrors(t *testing.T) {
	three := packAll(t,
		&pubsub.Message{ID: 1, Timestamp: 1, Topic: "m.t", Content: []byte("a")},
		&pubsub.Message{ID: 2, Timestamp: 2, Topic: "m.t", Content: []byte("b")},
		&pubsub.Message{ID: 3, Timestamp: 3, Topic: "m.t", Content: []byte("c")},
	).Data
	second := 4 + int(binary.BigEndian.Uint32(three))
	third := second + 4 + int(binary.BigEndian.Uint32(three[second:]))
	corrupt := bytes.Clone(three)
	corrupt[second+4] = 'X' // the second record's magic
	other := packAll(t, &pubsub.Message{ID: 9, Timestamp: 9, Topic: "m.u", Content: []byte("b")}).Data
	moved := slices.Concat(three[:second], other, three[third:])
	big := packAll(t, &pubsub.Message{ID: 1, Timestamp: 1, Topic: "m.t", Content: make([]byte, packMaxBytes)}).Data
	var many []byte
	for len(many) <= packMaxBytes {
		many = append(many, three...)
	}
	for _, c := range []struct {
		name, version string
		data          []byte
		keep          []uint64 // the ids
		bad           int
		want          string
	}{
		{"whole", "1", three, []uint64{1, 2, 3}, 0, ""},
		{"empty", "1", nil, nil, 0, ""},
		{"one large", "1", big, []uint64{1}, 0, ""},
		{"version", "2", three, nil, 1, `Pubsub-Packed "2": the version this bridge reads is 1`},
		{"short size", "1", three[:third+3], []uint64{1, 2}, 1, "record 2 at byte " + itoa(third) + ": 3 bytes left, less than a size"},
		{"short record", "1", three[:len(three)-1], []uint64{1, 2}, 1, "record 2 at byte " + itoa(third) + ": size"},
		{"bad record", "1", corrupt, []uint64{1, 3}, 1, "record 1 at byte " + itoa(second) + ": "},
		{"other topic", "1", moved, []uint64{1, 3}, 1, `record 1 at byte ` + itoa(second) + `: topic "m.u" on subject of topic "m.t"`},
		{"large with several", "1", many, nil, 1, "not one message: a pack over 65536 bytes holds one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s wire.Stream
			got, bad, err := unpack(nil, "m.t", c.version, c.data, &s)
			var ids []uint64
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if !slices.Equal(ids, c.keep) || bad != c.bad {
				t.Errorf("kept %v, %d bad; want %v, %d bad", ids, bad, c.keep, c.bad)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("unpack: %v", err)
				}
				return
			}
			if !errors.Is(err, errPacked) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("unpack: %v; want a bad packed message error with %q", err, c.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzUnpack reads any payload as a pack: it never panics, never returns
// more messages than the payload has room for, and what it reads packs
// and unpacks again to the same.
func FuzzUnpack(f *testing.F) {
	f.Add(packAll(f,
		&pubsub.Message{ID: 1, Timestamp: 1, Topic: "m.t", Content: []byte("a"), Headers: pubsub.Headers{"k": "v"}},
		&pubsub.Message{ID: 2, Timestamp: 2, Topic: "m.t", Content: []byte{}},
	).Data)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 40, 'P', 'M', 'S', 'G', 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s wire.Stream
		got, _, _ := unpack(nil, "m.t", "1", data, &s)
		if len(got) > len(data)/(packRecordSize+wire.FixedSize) {
			t.Fatalf("%d messages from %d bytes", len(got), len(data))
		}
		if len(got) == 0 {
			return
		}
		p := newPacker("pubsub", "o")
		p.limit = math.MaxInt // data may be larger than a pack the bridge makes
		for i := range got {
			if ok, err := p.add(&got[i], i); !ok || err != nil {
				t.Fatalf("message %d of %d read back: add %v, %v", i, len(got), ok, err)
			}
		}
		again, _, err := unpack(nil, "m.t", "1", p.message().Data, &s)
		if len(p.message().Data) > packMaxBytes && len(got) > 1 {
			if err == nil {
				t.Fatalf("%d messages in %d bytes read back as a pack", len(got), len(p.message().Data))
			}
			return
		}
		if err != nil || len(again) != len(got) {
			t.Fatalf("packed again: %d messages, %v; want %d", len(again), err, len(got))
		}
		for i := range got {
			a, b := got[i], again[i]
			ah, _ := encodeHeaders(a.Headers)
			bh, _ := encodeHeaders(b.Headers)
			if a.ID != b.ID || a.Timestamp != b.Timestamp || !bytes.Equal(a.Content, b.Content) || !bytes.Equal(ah, bh) {
				t.Fatalf("message %d: %+v, packed again %+v", i, a, b)
			}
		}
	})
}

// FuzzImportPacked hands the importer a pack of messages on m.t, from
// another home, with headers, cut anywhere and with a byte changed
// anywhere: what unpack reads comes into the home, in order, with its
// ids, contents, headers and the pack's origin, and every record it could
// not read counts as rejected.
func FuzzImportPacked(f *testing.F) {
	f.Add(uint8(3), uint16(0), uint16(0), byte(0), "elsewhere", []byte("body"), "v")
	f.Add(uint8(1), uint16(20), uint16(7), byte('X'), "", []byte{}, "")
	f.Add(uint8(5), uint16(9999), uint16(60), byte(0xff), "here", []byte("z"), "\x00")
	f.Add(uint8(54), uint16(20), uint16(0), byte(0), "\xed", []byte{}, "") // an origin the home refuses
	br, ch, sub := newImporter(f)
	var nextID uint64
	f.Fuzz(func(t *testing.T, n uint8, cut, at uint16, to byte, origin string, content []byte, header string) {
		p := newPacker("pubsub", origin)
		for i := range int(n) {
			nextID++ // never one a channel still holds
			m := &pubsub.Message{ID: nextID, Timestamp: 1700000000000000, Topic: "m.t", Content: append(bytes.Clone(content), byte(i))}
			if i%2 == 1 {
				m.Headers = pubsub.Headers{"h": header, "i": int64(i)}
			}
			if ok, err := p.add(m, i); !ok || err != nil {
				break
			}
		}
		msg := p.message()
		data := bytes.Clone(msg.Data)
		if int(cut) < len(data) && cut > 0 {
			data = data[:len(data)-int(cut)]
		}
		if len(data) > 0 {
			data[int(at)%len(data)] = to
		}
		var s wire.Stream
		want, bad, _ := unpack(nil, "m.t", "1", data, &s)
		msg = &nats.Msg{Subject: "pubsub.m.t", Header: msg.Header, Data: data, Sub: sub}
		before := br.Stats()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		br.importMany(ctx, []*nats.Msg{msg})
		after := br.Stats()
		imported, rejected, echoes := after.Imported-before.Imported, after.Rejected-before.Rejected, after.Echoes-before.Echoes
		if origin == br.origin {
			if imported != 0 || echoes != 1 {
				t.Fatalf("a pack from this home: imported %d, echoes %d; want 0 and 1", imported, echoes)
			}
			return
		}
		// The home refuses what it cannot take (an origin or a header
		// that is not UTF-8, an id it keeps for itself), as for a
		// message alone: each of those counts as rejected.
		var refused uint64
		for _, m := range want {
			if !utf8.ValidString(origin) || m.ID>>56 == 0xff || !validHeaders(m.Headers) {
				refused++
			}
		}
		if imported != uint64(len(want))-refused || rejected != uint64(bad)+refused {
			t.Fatalf("imported %d, rejected %d; want %d imported, and %d bad and %d refused rejected", imported, rejected, uint64(len(want))-refused, bad, refused)
		}
		wantOrigin := origin
		if wantOrigin == "" {
			wantOrigin = "nats"
		}
		for i := range want {
			if !utf8.ValidString(origin) || want[i].ID>>56 == 0xff || !validHeaders(want[i].Headers) {
				continue
			}
			got, err := ch.Fetch()
			if err != nil {
				t.Fatalf("message %d of %d: %v", i, len(want), err)
			}
			if got.Topic != "m.t" || got.ID != want[i].ID || !bytes.Equal(got.Content, want[i].Content) || got.Headers[OriginHeader] != wantOrigin ||
				len(got.Headers) != len(want[i].Headers)+1 {
				t.Fatalf("message %d: %s id %d, %d bytes, headers %v; want m.t id %d, %d bytes, headers %v and origin %s",
					i, got.Topic, got.ID, len(got.Content), got.Headers, want[i].ID, len(want[i].Content), want[i].Headers, wantOrigin)
			}
		}
		if m, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
			t.Fatalf("the channel holds more than the pack: %+v, %v", m, err)
		}
	})
}

// validHeaders reports whether the home takes h: its strings UTF-8, and
// no pubsub-origin of its own (which the importer sets anyway).
func validHeaders(h pubsub.Headers) bool {
	for k, v := range h {
		if s, ok := v.(string); !utf8.ValidString(k) || ok && !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
