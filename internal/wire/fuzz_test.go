package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: Decode never panics, every error is a *DecodeError, and a
// decoded message encodes to a file that decodes to the same message.
func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		if len(v.data) > 1<<12 {
			f.Add(v.data[:200]) // the 1 MiB vector, truncated
			continue
		}
		f.Add(v.data)
		f.Add(v.data[:len(v.data)/2])
		f.Add(append(bytes.Clone(v.data), 0, 1, 2))
		bad := bytes.Clone(v.data)
		bad[offTopicLen+3]++ // topic one byte longer: shifts every later field
		f.Add(bad)
	}
	good := sample(f)
	for _, h := range []string{"", `{"a": NaN, "b": [1, {"c": Infinity}]}`, `{"a": 1e400, "a": -0}`, `{"\ud800": "\u00e9"}`, "{\"a\": \"\xff\"}"} {
		b := append(bytes.Clone(good[:28]), binary.BigEndian.AppendUint32(nil, uint32(len(h)))...)
		b = append(b, h...)
		f.Add(append(b, good[50:]...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if _, ok := errors.AsType[*DecodeError](err); !ok {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		// A topic left in the message by the one before, whether it is
		// this one's or not, changes nothing.
		for _, last := range []string{m.Topic, "a.b", ""} {
			var hinted Message
			hinted.Topic = last
			if err := DecodeTo(b, &hinted); err != nil {
				t.Fatalf("DecodeTo with topic %q before: %v, Decode succeeded", last, err)
			}
			if d := messageDiff(&hinted, m); d != "" {
				t.Fatalf("DecodeTo with topic %q before:\n%s", last, d)
			}
		}
		// A stream that decoded b before, or another message, decodes b
		// the same, each time into a map of its own.
		var s Stream
		var prev *Message
		for i := range 3 {
			var got Message
			if err := s.Decode(b, &got); err != nil {
				t.Fatalf("Stream.Decode, time %d: %v, Decode succeeded", i+1, err)
			}
			if d := messageDiff(&got, m); d != "" {
				t.Fatalf("Stream.Decode, time %d:\n%s", i+1, d)
			}
			if prev != nil && len(got.Headers) > 0 && sameMap(got.Headers, prev.Headers) {
				t.Fatalf("Stream.Decode, time %d: the headers map of the time before", i+1)
			}
			prev = &got
			if i == 1 {
				if err := s.Decode(good, &Message{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !reencodable(m.Headers) {
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(Decode(b)): %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(b))): %v", err)
		}
		if d := messageDiff(m2, m); d != "" {
			t.Fatalf("round trip:\n%s", d)
		}
		// Sorted headers are canonical: encoding again changes nothing.
		if enc2, err := Encode(m2); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("second Encode differs: %v", err)
		}
	})
}

// FuzzDecodeHeaders: DecodeHeaders never panics, agrees with encoding/json
// where Python's dialect and JSON agree, and whatever it reads encodes to
// text that reads back as the same values.
func FuzzDecodeHeaders(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.HeadersJSON))
	}
	for _, s := range []string{
		"", "{}", " { } ", `{"a": NaN, "b": Infinity, "c": -Infinity}`, `{"a": [1, {"b": [NaN]}], "c": {}}`,
		`{"a": "\ud83d\ude80 \ud800 \udc00 \u00e9 \n\t\"\\\/"}`, `{"a": 1, "a": 2}`, `{"a": -0, "b": -0.0, "c": 1E+2}`,
		`{"a": 123456789012345678901234567890, "b": -9223372036854775809}`, `{"a": 1e400, "b": 1e-400}`,
		`[]`, `{"a": 01}`, `{"a": 1.}`, `{"a": "x`, "{\"a\": \"\x01\"}", "{\"\xff\": 1}",
		`{"a": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, keys, err := decodeHeaders(b, true)
		if err != nil {
			if !errors.Is(err, ErrBadHeaders) {
				t.Fatalf("error %v does not wrap ErrBadHeaders", err)
			}
			// Plain JSON objects are Python JSON too, within its limits.
			trimmed := bytes.TrimLeft(b, " \t\r\n")
			if len(b) <= 1000 && json.Valid(b) && utf8.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{' {
				t.Fatalf("valid JSON object refused: %v", err)
			}
			return
		}
		if len(keys) != len(h) {
			t.Fatalf("%d keys listed for %d headers", len(keys), len(h))
		}
		// Without Python's constants, what we accept is standard JSON.
		if len(b) > 0 && !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) && !json.Valid(b) {
			t.Fatalf("accepted text encoding/json refuses")
		}
		if !reencodable(h) {
			return
		}
		for _, v := range h {
			if s, ok := v.(string); ok && !utf8.ValidString(s) {
				t.Fatalf("decoded string %q is not UTF-8", s)
			}
		}
		enc, err := encodeHeadersOrdered(keys, h)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		h2, keys2, err := decodeHeaders(enc, true)
		if err != nil {
			t.Fatalf("decode %s: %v", enc, err)
		}
		if d := headersDiff(h2, h); d != "" {
			t.Fatalf("round trip through %s: %s", enc, d)
		}
		if strings.Join(keys2, "\x00") != strings.Join(keys, "\x00") {
			t.Fatalf("keys %q, then %q", keys, keys2)
		}
		if enc2, err := encodeHeadersOrdered(keys2, h2); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("not canonical: %s then %s", enc, enc2)
		}
	})
}

// FuzzEncodeHeaders: any UTF-8 key and string value encode and decode back,
// and encoding/json reads the same strings; anything else is refused.
func FuzzEncodeHeaders(f *testing.F) {
	f.Add("key", "value")
	f.Add("", "")
	f.Add("\"\\/\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029<>&")
	f.Add("é", "🚀\uFFFD\uFEFF")
	f.Add("a\xffb", "\xed\xa0\x80")
	f.Fuzz(func(t *testing.T, k, v string) {
		text, err := EncodeHeaders(map[string]any{k: v})
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			if !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("invalid UTF-8 accepted: %q, %v", text, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		h, err := DecodeHeaders(text)
		if err != nil {
			t.Fatalf("DecodeHeaders(%s): %v", text, err)
		}
		if len(h) != 1 || h[k] != v {
			t.Fatalf("DecodeHeaders(%s) = %q", text, h)
		}
		var std map[string]string
		if err := json.Unmarshal(text, &std); err != nil || len(std) != 1 || std[k] != v {
			t.Fatalf("encoding/json reads %s as %q, %v", text, std, err)
		}
		// Only '"', '\\' and controls are escaped: the rest is verbatim.
		if n := len(k) + len(v) + len(`{"": ""}`); len(text) < n {
			t.Fatalf("text %s shorter than its contents", text)
		}
		for _, c := range text {
			if c < 0x20 {
				t.Fatalf("raw control character in %q", text)
			}
		}
	})
}
