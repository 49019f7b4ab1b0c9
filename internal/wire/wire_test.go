package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.File, func(t *testing.T) {
			if len(v.data) != v.FileLen {
				t.Fatalf("file is %d bytes, vectors.json says %d", len(v.data), v.FileLen)
			}
			if sum := sha256.Sum256(v.data); hex.EncodeToString(sum[:]) != v.FileSHA {
				t.Fatalf("file sha256 %x, vectors.json says %s", sum, v.FileSHA)
			}
			m, err := Decode(v.data)
			if err != nil {
				t.Fatal(err)
			}
			wantID, err := strconv.ParseUint(v.IDDecimal, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			content, err := hex.DecodeString(v.ContentHex)
			if err != nil || len(content) != v.ContentLen {
				// The large vector abbreviates content_hex: check its hash.
				sum := sha256.Sum256(m.Content)
				if hex.EncodeToString(sum[:]) != v.ContentSHA || len(m.Content) != v.ContentLen {
					t.Fatalf("content: %d bytes, sha256 %x; want %d bytes, %s", len(m.Content), sum, v.ContentLen, v.ContentSHA)
				}
				content = m.Content
			}
			want := &Message{ID: wantID, Timestamp: v.Timestamp, Topic: v.Topic, Headers: expectedHeaders(t, v.Headers), Content: content}
			if d := messageDiff(m, want); d != "" {
				t.Fatalf("Decode:\n%s", d)
			}
			if id, ok := PeekID(v.data); !ok || id != wantID {
				t.Errorf("PeekID = %d, %v; want %d", id, ok, wantID)
			}

			// Re-encoding with Python's key order gives the file back.
			keys := jsonKeys(t, v.HeadersJSON)
			got, err := appendEncode(nil, m, keys)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.data) {
				t.Errorf("Encode in Python's key order differs from %s at byte %d", v.File, firstDiff(got, v.data))
			}
			hj, err := encodeHeadersOrdered(keys, m.Headers)
			if err != nil || string(hj) != v.HeadersJSON {
				t.Errorf("encodeHeadersOrdered = %s, %v; want %s", hj, err, v.HeadersJSON)
			}
			if n := EncodedSize(m, hj); n != len(v.data) {
				t.Errorf("EncodedSize = %d, want %d", n, len(v.data))
			}

			// With sorted keys: identical text when Python's order was
			// sorted, else the same values.
			hs, err := EncodeHeaders(m.Headers)
			if err != nil {
				t.Fatal(err)
			}
			if slices.IsSorted(keys) {
				if string(hs) != v.HeadersJSON {
					t.Errorf("EncodeHeaders = %s, want %s", hs, v.HeadersJSON)
				}
			} else {
				back, err := DecodeHeaders(hs)
				if err != nil {
					t.Fatal(err)
				}
				if d := headersDiff(back, want.Headers); d != "" {
					t.Errorf("EncodeHeaders then DecodeHeaders: %s", d)
				}
			}
			sorted, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(sorted) != len(v.data) || cap(sorted) != len(sorted) {
				t.Errorf("Encode: len %d cap %d, want both %d", len(sorted), cap(sorted), len(v.data))
			}
			m2, err := Decode(sorted)
			if err != nil {
				t.Fatal(err)
			}
			if d := messageDiff(m2, want); d != "" {
				t.Errorf("Decode(Encode):\n%s", d)
			}
		})
	}
}

// TestVectorTypes spells out the Go types of the typed vectors, in case
// expectedHeaders shares a mistake with the decoder.
func TestVectorTypes(t *testing.T) {
	byFile := map[string]*Message{}
	for _, v := range loadVectors(t) {
		m, err := Decode(v.data)
		if err != nil {
			t.Fatal(err)
		}
		byFile[v.File] = m
	}
	h := byFile["04-typed-headers.bin"].Headers
	want := map[string]any{
		"int": int64(42), "negative": int64(-7), "float": 3.14159, "bool_true": true, "bool_false": false,
		"null": nil, "unicode": "héllo wörld ✓ 日本語 🚀",
	}
	if d := headersDiff(h, want); d != "" {
		t.Error(d)
	}
	h = byFile["07-json-escapes.bin"].Headers
	want = map[string]any{
		"big_int": int64(9007199254740993), "float_whole": 1.0, "small_float": 1e-07, "big_float": 1e+100,
		`quote"key`: `say "hi"`, "backslash": `a\b`, "controls": "nl\n tab\t nul\x00 bel\x07",
		"html": "<a href='x'>&amp;</a>", "line_sep": "a\u2028b\u2029c", "empty": "",
	}
	if d := headersDiff(h, want); d != "" {
		t.Error(d)
	}
	if m := byFile["03-binary-256.bin"]; m.ID != math.MaxUint64 || len(m.Content) != 256 {
		t.Errorf("03: ID %d, %d bytes of content", m.ID, len(m.Content))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// sample is a valid message with every field non-empty.
func sample(t testing.TB) []byte {
	t.Helper()
	b, err := Encode(&Message{ID: 7, Timestamp: 1700000000000000, Topic: "a.b", Headers: map[string]any{"k": "v", "n": 1}, Content: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeErrors(t *testing.T) {
	good := sample(t)
	// Offsets in good: topic length 21, topic 25, headers length 28,
	// headers 32 (18 bytes: {"k": "v", "n": 1}), content length 50, content 54.
	if len(good) != 59 {
		t.Fatalf("sample is %d bytes; fix the offsets in this test", len(good))
	}
	with := func(off int, p ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], p)
		return b
	}
	withHeaders := func(text string) []byte {
		b := slices.Concat(good[:28], binary.BigEndian.AppendUint32(nil, uint32(len(text))), []byte(text), good[50:])
		return b
	}
	tests := []struct {
		name   string
		in     []byte
		want   error
		field  string
		offset int
	}{
		{"empty", nil, ErrTruncated, "magic", 0},
		{"bad magic", with(0, 'P', 'M', 'S', 'H'), ErrBadMagic, "magic", 0},
		{"zeros", make([]byte, 64), ErrBadMagic, "magic", 0},
		{"version 0", with(4, 0), ErrUnknownVersion, "version", 4},
		{"version 2", with(4, 2), ErrUnknownVersion, "version", 4},
		{"timestamp above int64", with(13, 0x80), ErrBadTimestamp, "timestamp", 13},
		{"topic not UTF-8", with(25, 0xff), ErrBadTopic, "topic", 25},
		{"topic past end", with(21, 0, 0, 1, 0), ErrTruncated, "topic", 25},
		{"headers past end", with(28, 0, 0, 0, 100), ErrTruncated, "headers", 32},
		{"content past end", with(50, 0, 0, 0, 6), ErrTruncated, "content", 54},
		{"huge topic length", with(21, 0xff, 0xff, 0xff, 0xff), ErrTruncated, "topic", 25},
		{"huge content length", with(50, 0xff, 0xff, 0xff, 0xff), ErrTruncated, "content", 54},
		{"headers not JSON", withHeaders("{k}"), ErrBadHeaders, "headers", 32},
		{"headers not UTF-8", withHeaders("{\"\xff\": 1}"), ErrBadHeaders, "headers", 32},
		{"headers a list", withHeaders("[]"), ErrBadHeaders, "headers", 32},
		{"headers blank", withHeaders(" "), ErrBadHeaders, "headers", 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want %v", m, err, tt.want)
			}
			de, ok := errors.AsType[*DecodeError](err)
			if !ok {
				t.Fatalf("%v is not a *DecodeError", err)
			}
			if de.Field != tt.field || de.Offset != tt.offset {
				t.Errorf("field %q at %d, want %q at %d", de.Field, de.Offset, tt.field, tt.offset)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "pubsub: decode "+tt.field+" at offset ") || strings.Count(msg, "pubsub:") != 1 {
				t.Errorf("message %q", msg)
			}
			t.Log(msg)
		})
	}
}

func TestDecodeEmptyHeadersText(t *testing.T) {
	good := sample(t)
	b := slices.Concat(good[:28], []byte{0, 0, 0, 0}, good[50:])
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Headers == nil || len(m.Headers) != 0 {
		t.Errorf("Headers = %#v, want an empty map", m.Headers)
	}
}

// TestDecodeTruncated cuts valid messages at every byte.
func TestDecodeTruncated(t *testing.T) {
	for _, v := range loadVectors(t) {
		if len(v.data) > 1<<16 {
			continue
		}
		for n := range len(v.data) {
			_, err := Decode(v.data[:n])
			de, ok := errors.AsType[*DecodeError](err)
			if !errors.Is(err, ErrTruncated) || !ok || de.Field == "" || de.Offset > n {
				t.Fatalf("%s cut at %d: %v", v.File, n, err)
			}
		}
	}
}

func TestDecodeTrailingData(t *testing.T) {
	good := sample(t)
	b := append(bytes.Clone(good), "trailing"...)
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Content) != "hello" {
		t.Errorf("Content = %q", m.Content)
	}
	// Content aliases b but cannot grow over the trailing bytes.
	_ = append(m.Content, 'X')
	if !bytes.Equal(b[len(good):], []byte("trailing")) {
		t.Error("appending to Content overwrote the buffer")
	}
}

// TestDecodeHugeLength checks that a length field is checked before
// anything is allocated for it.
func TestDecodeHugeLength(t *testing.T) {
	good := sample(t)
	for _, off := range []int{21, 28, 50} {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[off:], 0xFFFFFFFF)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Decode(b); !errors.Is(err, ErrTruncated) {
				t.Fatalf("offset %d: %v", off, err)
			}
		})
		runtime.ReadMemStats(&after)
		if perRun := (after.TotalAlloc - before.TotalAlloc) / 101; allocs > 16 || perRun > 4096 {
			t.Errorf("length at %d: %v allocations, %d bytes per Decode", off, allocs, perRun)
		}
	}
}

func TestPeekID(t *testing.T) {
	good := sample(t)
	tests := []struct {
		name string
		in   []byte
		id   uint64
		ok   bool
	}{
		{"whole", good, 7, true},
		{"13 bytes", good[:13], 7, true},
		{"12 bytes", good[:12], 0, false},
		{"bad magic", append([]byte("PMSH"), good[4:]...), 0, false},
		{"version 2", slices.Concat(good[:4], []byte{2}, good[5:]), 0, false},
		{"nil", nil, 0, false},
	}
	for _, tt := range tests {
		if id, ok := PeekID(tt.in); id != tt.id || ok != tt.ok {
			t.Errorf("%s: PeekID = %d, %v; want %d, %v", tt.name, id, ok, tt.id, tt.ok)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"negative timestamp", Message{Timestamp: -1}, ErrBadTimestamp},
		{"topic not UTF-8", Message{Topic: "a\xffb"}, ErrBadTopic},
		{"bad header", Message{Headers: map[string]any{"k": []string{"v"}}}, ErrInvalidHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := Encode(&tt.m); !errors.Is(err, tt.want) || b != nil {
				t.Errorf("Encode = %q, %v; want %v", b, err, tt.want)
			}
			dst := []byte("prefix")
			if b, err := AppendEncode(dst, &tt.m); !errors.Is(err, tt.want) || string(b) != "prefix" {
				t.Errorf("AppendEncode = %q, %v; want %v", b, err, tt.want)
			}
		})
	}
}

func TestAppendEncode(t *testing.T) {
	m := &Message{ID: 1, Timestamp: 2, Topic: "t", Headers: map[string]any{"z": 1.5, "a": big.NewInt(3)}, Content: []byte{0, 1}}
	whole, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, dst := range [][]byte{nil, []byte("xy"), make([]byte, 1, 1000)} {
		got, err := AppendEncode(bytes.Clone(dst), m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(dst)], dst) || !bytes.Equal(got[len(dst):], whole) {
			t.Errorf("AppendEncode(%q) = %q", dst, got)
		}
	}
	if !bytes.Contains(whole, []byte(`{"a": 3, "z": 1.5}`)) {
		t.Errorf("headers not sorted in %q", whole)
	}
}

func TestEncodeAllocs(t *testing.T) {
	m := &Message{ID: 1, Timestamp: 2, Topic: "t", Headers: map[string]any{"k": "v", "n": 3.5}, Content: make([]byte, 256)}
	if n := testing.AllocsPerRun(100, func() { _, _ = Encode(m) }); n > 1 { // the buffer
		t.Errorf("Encode: %v allocations", n)
	}
	m.Headers = nil
	if n := testing.AllocsPerRun(100, func() { _, _ = Encode(m) }); n > 1 {
		t.Errorf("Encode without headers: %v allocations", n)
	}
}

// TestDecodeToKeepsTheLastTopic: a topic left in the message that is this
// message's is kept, not allocated again; any other is replaced.
func TestDecodeToKeepsTheLastTopic(t *testing.T) {
	b := sample(t) // on a.b
	last := strings.Clone("a.b")
	m := Message{Topic: last}
	if err := DecodeTo(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Topic != "a.b" || unsafe.StringData(m.Topic) != unsafe.StringData(last) {
		t.Errorf("topic %q at %p, want the string passed in, at %p", m.Topic, unsafe.StringData(m.Topic), unsafe.StringData(last))
	}
	for _, other := range []string{"a.c", "a.b.c", "a", ""} {
		m := Message{Topic: other}
		if err := DecodeTo(b, &m); err != nil || m.Topic != "a.b" {
			t.Errorf("after %q: topic %q, %v; want a.b", other, m.Topic, err)
		}
	}
	plain, err := Encode(&Message{ID: 1, Topic: "a.b", Content: make([]byte, 256)})
	if err != nil {
		t.Fatal(err)
	}
	fresh := testing.AllocsPerRun(100, func() {
		var m Message
		_ = DecodeTo(plain, &m)
	})
	kept := testing.AllocsPerRun(100, func() {
		m := Message{Topic: last}
		_ = DecodeTo(plain, &m)
	})
	if kept != fresh-1 {
		t.Errorf("DecodeTo: %v allocations with the topic kept, %v without; want one fewer", kept, fresh)
	}
}

// TestStreamCopiesRepeatedHeaders: a stream decodes a message that
// repeats the headers before it into a map of its own, with copies of
// what can change in place, and without parsing them again.
func TestStreamCopiesRepeatedHeaders(t *testing.T) {
	headers := map[string]any{"origin": "b1", "n": 7, "big": new(big.Int).Lsh(big.NewInt(1), 80), "list": json.RawMessage(`[1, 2]`)}
	b, err := Encode(&Message{ID: 1, Topic: "a.b", Headers: headers, Carried: true, Content: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var s Stream
	var got []Message
	for range 4 {
		var m Message
		if err := s.Decode(b, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	for i := range got {
		if d := messageDiff(&got[i], want); d != "" {
			t.Fatalf("message %d:\n%s", i, d)
		}
		// The receiver owns what it got: change everything in it.
		got[i].Headers["origin"] = "changed"
		got[i].Headers["new"] = true
		got[i].Headers["list"].(json.RawMessage)[1] = '9'
		if v, ok := got[i].Headers["big"].(*big.Int); ok {
			v.SetInt64(0)
		}
	}
	var m Message
	if err := s.Decode(b, &m); err != nil {
		t.Fatal(err)
	}
	if d := messageDiff(&m, want); d != "" {
		t.Fatalf("after the receivers changed theirs:\n%s", d)
	}

	// A stream whose headers change from one message to the next still
	// decodes each as it is.
	other, err := Encode(&Message{ID: 2, Topic: "a.b", Headers: map[string]any{"origin": "b2"}, Content: []byte("y")})
	if err != nil {
		t.Fatal(err)
	}
	for i, enc := range [][]byte{other, b, other, other, b} {
		var m Message
		if err := s.Decode(enc, &m); err != nil {
			t.Fatal(err)
		}
		w, _ := Decode(enc)
		if d := messageDiff(&m, w); d != "" {
			t.Fatalf("alternating, message %d:\n%s", i, d)
		}
	}

	// Copying costs fewer allocations than parsing: the parse allocates
	// the key and value strings, which the copy shares.
	origin, err := Encode(&Message{ID: 3, Topic: "a.b", Headers: map[string]any{"pubsub-origin": "35451f0df80ab08c"}})
	if err != nil {
		t.Fatal(err)
	}
	parsed := testing.AllocsPerRun(100, func() {
		m := Message{Topic: "a.b"}
		_ = DecodeTo(origin, &m)
	})
	copied := testing.AllocsPerRun(100, func() {
		var m Message
		_ = s.Decode(origin, &m)
	})
	if copied >= parsed {
		t.Errorf("Stream.Decode of repeated headers: %v allocations; DecodeTo: %v; want fewer", copied, parsed)
	}
}
