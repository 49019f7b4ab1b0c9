package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestFloatRepr compares with Python 3.11's repr(float), printed once by
// python3 for each bit pattern.
func TestFloatRepr(t *testing.T) {
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0, "0.0"},
		{0x8000000000000000, "-0.0"},
		{0x3ff0000000000000, "1.0"},
		{0xbff0000000000000, "-1.0"},
		{0x3fb999999999999a, "0.1"},
		{0x3fe0000000000000, "0.5"},
		{0x3ff8000000000000, "1.5"},
		{0x400921f9f01b866e, "3.14159"},
		{0x4059000000000000, "100.0"},
		{0x3f1a36e2eb1c432d, "0.0001"},
		{0x3f23a92a30553261, "0.00015"},
		{0x3ee4f8b588e368f1, "1e-05"},
		{0x3f202e4b6ce5dc68, "0.00012345"},
		{0x430c6bf526340000, "1000000000000000.0"},
		{0x4341c37937e08000, "1e+16"},
		{0x434aa535d3d0c000, "1.5e+16"},
		{0x4341c37937e07fff, "9999999999999998.0"},
		{0x43118b54f22aeb00, "1234567890123456.0"},
		{0x4345ee2a2eb5a5c4, "1.2345678901234568e+16"},
		{0x4376345785d8a000, "1e+17"},
		{0x4480f0cf064dd592, "1e+22"},
		{0x54b249ad2594c37d, "1e+100"},
		{0x7e37e43c8800759c, "1e+300"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0x1, "5e-324"},
		{0x10000000000000, "2.2250738585072014e-308"},
		{0x3fd5555555555555, "0.3333333333333333"},
		{0x3fe5555555555555, "0.6666666666666666"},
		{0x40fe240c9fbe76c9, "123456.789"},
		{0x3fd3333333333334, "0.30000000000000004"},
		{0x3e7ad7f29abcaf48, "1e-07"},
		{0xbe5ad7f29abcaf48, "-2.5e-08"},
		{0x4011666666666666, "4.35"},
		{0x4340000000000000, "9007199254740992.0"},
		{0x4340000000000001, "9007199254740994.0"},
		{0x43e0000000000000, "9.223372036854776e+18"},
		{0x3f50624dd2f1a9fc, "0.001"},
		{0x3f847ae147ae147b, "0.01"},
		{0x40f0000000000000, "65536.0"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3c36b082c2148b8e, "1.23e-18"},
	}
	for _, tt := range tests {
		f := math.Float64frombits(tt.bits)
		got, reason := appendFloat(nil, f)
		if string(got) != tt.want || reason != "" {
			t.Errorf("appendFloat(%g) = %q %q, want %q", f, got, reason, tt.want)
		}
		// And through the public API, which Python reads back as the same float.
		text, err := EncodeHeaders(map[string]any{"f": f})
		if err != nil || string(text) != `{"f": `+tt.want+`}` {
			t.Errorf("EncodeHeaders(%g) = %s, %v", f, text, err)
		}
		back, err := DecodeHeaders(text)
		if err != nil || !valueEqual(back["f"], f) {
			t.Errorf("DecodeHeaders(%s) = %v, %v", text, back, err)
		}
	}
}

func TestEncodeStrings(t *testing.T) {
	var ascii strings.Builder
	for c := range 0x80 {
		ascii.WriteByte(byte(c))
	}
	tests := []struct {
		name string
		in   string
		want string // from python3: json.dumps(in, ensure_ascii=False)
	}{
		{"empty", "", `""`},
		{"ascii", ascii.String(), `"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_` + "`" + `abcdefghijklmnopqrstuvwxyz{|}~` + "\x7f\""},
		{"unicode", "\u2028\u2029é日🚀\x7f<>&\u0085\ufeff", "\"\u2028\u2029é日🚀\x7f<>&\u0085\ufeff\""},
		{"quotes", `say "hi" \o/`, `"say \"hi\" \\o/"`},
		{"U+FFFD", "\uFFFD", "\"\uFFFD\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendQuoted(nil, tt.in)
			if string(got) != tt.want {
				t.Errorf("appendQuoted = %s\nwant           %s", got, tt.want)
			}
			if n := quotedLen(tt.in); n != len(got) {
				t.Errorf("quotedLen = %d, want %d", n, len(got))
			}
			// As a key and as a value.
			h, err := EncodeHeaders(map[string]any{tt.in: tt.in})
			if want := "{" + tt.want + ": " + tt.want + "}"; err != nil || string(h) != want {
				t.Errorf("EncodeHeaders = %s, %v; want %s", h, err, want)
			}
			back, err := DecodeHeaders(h)
			if err != nil || back[tt.in] != tt.in {
				t.Errorf("DecodeHeaders(%s) = %q, %v", h, back, err)
			}
		})
	}
}

func TestEncodeHeaders(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"nil", nil, "{}"},
		{"empty", map[string]any{}, "{}"},
		// Code point order, as Python's sort_keys.
		{"key order", map[string]any{"b": 1, "a": 2, "é": 3, "Z": 4, "": 5, "\U0001F680": 6, "\uffff": 7},
			`{"": 5, "Z": 4, "a": 2, "b": 1, "é": 3, "￿": 7, "🚀": 6}`},
		{"scalars", map[string]any{"t": true, "f": false, "n": nil}, `{"f": false, "n": null, "t": true}`},
		{"zero", map[string]any{"i": 0}, `{"i": 0}`},
		{"minus one", map[string]any{"i": -1}, `{"i": -1}`},
		{"2^53+1", map[string]any{"i": int64(1<<53 + 1)}, `{"i": 9007199254740993}`},
		{"-2^63", map[string]any{"i": int64(math.MinInt64)}, `{"i": -9223372036854775808}`},
		{"2^64-1", map[string]any{"i": uint64(math.MaxUint64)}, `{"i": 18446744073709551615}`},
		{"big 2^70", map[string]any{"i": big70}, `{"i": 1180591620717411303424}`},
		{"big -2^70", map[string]any{"i": new(big.Int).Neg(big70)}, `{"i": -1180591620717411303424}`},
		{"int kinds", map[string]any{"a": int8(-8), "b": int16(-16), "c": int32(-32), "d": uint(1), "e": uint8(8), "f": uint16(16), "g": uint32(32)},
			`{"a": -8, "b": -16, "c": -32, "d": 1, "e": 8, "f": 16, "g": 32}`},
		{"float32", map[string]any{"f": float32(0.1), "g": float32(2)}, `{"f": 0.10000000149011612, "g": 2.0}`},
		{"float whole", map[string]any{"f": 1.0}, `{"f": 1.0}`},
		// json.Number is written as Python writes what it reads from it.
		{"json.Number", map[string]any{"a": json.Number("12"), "b": json.Number("-0"), "c": json.Number("1E2"), "d": json.Number("1.50"),
			"e": json.Number("123456789012345678901234567890"), "f": json.Number("-0.0")},
			`{"a": 12, "b": 0, "c": 100.0, "d": 1.5, "e": 123456789012345678901234567890, "f": -0.0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeHeaders(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("EncodeHeaders = %s, %v\nwant %s", got, err, tt.want)
			}
			if cap(got) != len(got) {
				t.Errorf("cap %d, len %d", cap(got), len(got))
			}
		})
	}
}

func TestEncodeHeadersRejects(t *testing.T) {
	type myString string
	digits4301 := new(big.Int).Exp(big.NewInt(10), big.NewInt(4300), nil) // 1 and 4300 zeros
	tests := []struct {
		name   string
		key    string
		value  any
		reason string // part of the message
	}{
		{"slice", "k", []string{"a"}, "Go type []string is not allowed (allowed: string, integer, float, bool or nil)"},
		{"map", "k", map[string]any{}, "map[string]interface {}"},
		{"struct", "k", struct{}{}, "struct {}"},
		{"time", "k", time.Unix(0, 0), "time.Time"},
		{"raw", "k", json.RawMessage(`[1]`), "json.RawMessage"},
		{"named string", "k", myString("x"), "wire.myString"},
		{"pointer to string", "k", new(string), "*string"},
		{"NaN", "k", math.NaN(), "float NaN has no JSON representation"},
		{"+Inf", "k", math.Inf(1), "float +Inf has no JSON representation"},
		{"-Inf", "k", math.Inf(-1), "float -Inf"},
		{"float32 NaN", "k", float32(math.NaN()), "NaN"},
		{"value not UTF-8", "k", "a\xffb", "string value is not valid UTF-8"},
		{"key not UTF-8", "k\xff", "v", "key is not valid UTF-8"},
		{"nil big.Int", "k", (*big.Int)(nil), "nil *big.Int"},
		{"bad json.Number", "k", json.Number("0x10"), `json.Number "0x10" is not a JSON number`},
		{"empty json.Number", "k", json.Number(""), `json.Number "" is not a JSON number`},
		{"json.Number overflow", "k", json.Number("1e400"), "+Inf"},
		{"huge big.Int", "k", digits4301, "integer of 4301 digits"},
		{"huge json.Number", "k", json.Number(digits4301.String()), "integer of 4301 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]any{"a": 1, tt.key: tt.value, "z": "fine"}
			got, err := EncodeHeaders(h)
			if !errors.Is(err, ErrInvalidHeader) || got != nil {
				t.Fatalf("EncodeHeaders = %s, %v; want ErrInvalidHeader", got, err)
			}
			he, ok := errors.AsType[*HeaderError](err)
			if !ok || he.Key != tt.key || !strings.Contains(he.Reason, tt.reason) {
				t.Errorf("error %v; want key %q and reason with %q", err, tt.key, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "pubsub: invalid header ") {
				t.Errorf("message %q", err)
			}
		})
	}
	// 4300 digits is still accepted, as by Python.
	ok := new(big.Int).Sub(digits4301, big.NewInt(1))
	if _, err := EncodeHeaders(map[string]any{"k": ok}); err != nil {
		t.Errorf("4300 digits: %v", err)
	}
}

func TestDecodeHeaders(t *testing.T) {
	big70, _ := new(big.Int).SetString("1180591620717411303424", 10)
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{"empty text", "", map[string]any{}},
		{"empty object", "{}", map[string]any{}},
		{"spaces", " \t\r\n{ \t\r\n\"a\" \n: \n1 \n, \"b\":2}\n ", map[string]any{"a": int64(1), "b": int64(2)}},
		{"compact", `{"a":"x","b":true,"c":false,"d":null}`, map[string]any{"a": "x", "b": true, "c": false, "d": nil}},
		{"integers", `{"a": 0, "b": -0, "c": 9223372036854775807, "d": -9223372036854775808, "e": 9223372036854775808, "f": 1180591620717411303424}`,
			map[string]any{"a": int64(0), "b": int64(0), "c": int64(math.MaxInt64), "d": int64(math.MinInt64),
				"e": new(big.Int).SetUint64(1 << 63), "f": big70}},
		{"floats", `{"a": 1.0, "b": -0.0, "c": 1E2, "d": 1e-400, "e": 1e400, "f": -1e400, "g": 0.1, "h": 5e-324, "i": 1.5E+3}`,
			map[string]any{"a": 1.0, "b": math.Copysign(0, -1), "c": 100.0, "d": 0.0, "e": math.Inf(1), "f": math.Inf(-1), "g": 0.1, "h": 5e-324, "i": 1500.0}},
		{"Python constants", `{"a": NaN, "b": Infinity, "c": -Infinity}`, map[string]any{"a": math.NaN(), "b": math.Inf(1), "c": math.Inf(-1)}},
		{"escapes", `{"a": "\" \\ \/ \b \f \n \r \t \u0000 \u00e9 \u00E9 \u2028 x"}`, map[string]any{"a": "\" \\ / \b \f \n \r \t \x00 é é \u2028 x"}},
		{"surrogate pair", `{"a": "\ud83d\ude80"}`, map[string]any{"a": "🚀"}},
		{"lone high surrogate", `{"a": "\ud800A"}`, map[string]any{"a": "\uFFFDA"}},
		{"lone low surrogate", `{"a": "\udc00"}`, map[string]any{"a": "\uFFFD"}},
		{"high then high", `{"a": "\ud800\ud83d\ude80"}`, map[string]any{"a": "\uFFFD🚀"}},
		{"high then escape", `{"a": "\ud800\n"}`, map[string]any{"a": "\uFFFD\n"}},
		{"raw unicode", "{\"é\": \"日本\u2028\x7f\"}", map[string]any{"é": "日本\u2028\x7f"}},
		{"duplicate keys", `{"a": 1, "b": 2, "a": "last"}`, map[string]any{"a": "last", "b": int64(2)}},
		{"empty key", `{"": 1}`, map[string]any{"": int64(1)}},
		{"nested", `{"l": [1, [2, {"x": NaN}], "s\"]"], "o": { "k" : [ ] }, "e": {}, "n": 1}`,
			map[string]any{"l": json.RawMessage(`[1, [2, {"x": NaN}], "s\"]"]`), "o": json.RawMessage(`{ "k" : [ ] }`), "e": json.RawMessage(`{}`), "n": int64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeHeaders([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := headersDiff(got, tt.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestDecodeHeadersKeyOrder(t *testing.T) {
	_, keys, err := decodeHeaders([]byte(`{"b": 1, "a": 2, "b": 3, "c": 4}`), true)
	if err != nil || strings.Join(keys, ",") != "b,a,c" {
		t.Errorf("keys %q, %v; want b,a,c (Python keeps the first position)", keys, err)
	}
}

func TestDecodeHeadersErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // part of the message
	}{
		{"blank", " ", "expected an object, found end of text at byte 1"},
		{"array", "[]", "expected an object, found '[' at byte 0"},
		{"number", "1", "expected an object"},
		{"string", `"a"`, "expected an object"},
		{"BOM", "\ufeff{}", "expected an object, found '\\ufeff'"},
		{"open", "{", "expected a string key, found end of text at byte 1"},
		{"no colon", `{"a"}`, "expected ':' after a key, found '}' at byte 4"},
		{"no value", `{"a":}`, "expected a value, found '}' at byte 5"},
		{"single quotes", `{'a': 1}`, "expected a string key, found '\\''"},
		{"trailing comma", `{"a": 1,}`, "expected a string key, found '}' at byte 8"},
		{"missing comma", `{"a": 1 "b": 2}`, "expected ',' or '}', found '\"' at byte 8"},
		{"leading zero", `{"a": 01}`, "expected ',' or '}', found '1' at byte 7"},
		{"plus", `{"a": +1}`, "expected a value, found '+'"},
		{"bare point", `{"a": 1.}`, "expected a digit, found '}' at byte 8"},
		{"point first", `{"a": .5}`, "expected a value, found '.'"},
		{"bare exponent", `{"a": 1e}`, "expected a digit"},
		{"exponent sign only", `{"a": 1e+}`, "expected a digit"},
		{"minus alone", `{"a": -}`, "expected a digit, found '}' at byte 7"},
		{"minus NaN", `{"a": -NaN}`, "expected a digit, found 'N'"},
		{"lower nan", `{"a": nan}`, "expected a value, found 'n'"},
		{"hex", `{"a": 0x10}`, "expected ',' or '}', found 'x'"},
		{"True", `{"a": True}`, "expected a value, found 'T'"},
		{"control char", "{\"a\": \"x\ny\"}", "control character 0x0a in string at byte 8"},
		{"tab in key", "{\"\t\": 1}", "control character 0x09"},
		{"bad escape", `{"a": "\x"}`, "invalid escape at byte 7"},
		{"short \\u", `{"a": "\u12"}`, "invalid \\uXXXX escape at byte 7"},
		{"bad \\u", `{"a": "\u12g4"}`, "invalid \\uXXXX escape"},
		{"bad second \\u", `{"a": "\ud800\u12g4"}`, "invalid \\uXXXX escape at byte 13"},
		{"unterminated", `{"a": "abc`, "unterminated string at byte 6"},
		{"unterminated escape", `{"a": "abc\`, "unterminated string at byte 6"},
		{"not UTF-8", "{\"a\": \"\xe9\"}", "invalid UTF-8 at byte 7"},
		{"surrogate as UTF-8", "{\"a\": \"\xed\xa0\x80\"}", "invalid UTF-8 at byte 7"},
		{"extra", `{} {}`, "extra data after the object at byte 3"},
		{"NUL after", "{}\x00", "extra data after the object at byte 2"},
		{"unclosed array", `{"a": [1, 2}`, "expected ',' or ']', found '}'"},
		{"array trailing comma", `{"a": [1,]}`, "expected a value, found ']'"},
		{"nested bad key", `{"a": {1: 2}}`, "expected a string key, found '1'"},
		{"nested bad string", `{"a": ["\q"]}`, "invalid escape"},
		{"too deep", `{"a": ` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`, "nested deeper than 1000"},
		{"int too long", `{"a": ` + strings.Repeat("9", 4301) + `}`, "integer of 4301 digits is longer than Python reads (4300) at byte 6"},
		{"negative int too long", `{"a": -` + strings.Repeat("9", 4301) + `}`, "integer of 4301 digits"},
		{"nested int too long", `{"a": [` + strings.Repeat("9", 4301) + `]}`, "integer of 4301 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeHeaders([]byte(tt.in))
			if !errors.Is(err, ErrBadHeaders) || got != nil {
				t.Fatalf("DecodeHeaders = %v, %v; want ErrBadHeaders", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeHeadersLimits(t *testing.T) {
	// Just inside each limit.
	in := `{"a": ` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `, "b": ` + strings.Repeat("9", 4300) + `, "c": 1.` + strings.Repeat("9", 5000) + `}`
	h, err := DecodeHeaders([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h["b"].(*big.Int); !ok {
		t.Errorf("b is %T", h["b"])
	}
	if h["c"] != 2.0 {
		t.Errorf("c = %v", h["c"])
	}
}

// Carried headers come back as DecodeHeaders gave them: NaN, infinities
// and nested values included, in Python's spelling. Publish-side encoding
// still refuses them, and a RawMessage that is not one JSON value is
// refused either way.
func TestCarriedHeaders(t *testing.T) {
	text := `{"inf": Infinity, "n": 1, "nan": NaN, "neg": -Infinity, "nested": [1, {"a": NaN}]}`
	h, err := DecodeHeaders([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{ID: 1, Timestamp: 2, Topic: "t", Headers: h, Carried: true}
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("carried headers: %v", err)
	}
	if !bytes.Contains(b, []byte(text)) {
		t.Errorf("encoded %q, want the headers text %q", b, text)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := back.Headers["nan"].(float64); !math.IsNaN(f) || back.Headers["inf"] != math.Inf(1) || back.Headers["neg"] != math.Inf(-1) {
		t.Errorf("decoded %v", back.Headers)
	}
	m.Carried = false
	if _, err := Encode(m); !errors.Is(err, ErrInvalidHeader) {
		t.Errorf("NaN and nested values encoded for a publish: %v", err)
	}
	for _, raw := range []string{`1, "x": 2`, `[1`, ``, `{"a": 1} 2`} {
		m := &Message{Topic: "t", Headers: map[string]any{"r": json.RawMessage(raw)}, Carried: true}
		if _, err := Encode(m); !errors.Is(err, ErrInvalidHeader) {
			t.Errorf("RawMessage %q: %v, want a header error", raw, err)
		}
	}
}
