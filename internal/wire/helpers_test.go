package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// vector is one entry of testdata/vectors/vectors.json.
type vector struct {
	File        string          `json:"file"`
	Note        string          `json:"note"`
	IDDecimal   string          `json:"id_decimal"`
	Timestamp   int64           `json:"timestamp"`
	Topic       string          `json:"topic"`
	Headers     json.RawMessage `json:"headers"`
	HeadersJSON string          `json:"headers_json"`
	ContentLen  int             `json:"content_len"`
	ContentHex  string          `json:"content_hex"`
	ContentSHA  string          `json:"content_sha256"`
	FileLen     int             `json:"file_len"`
	FileSHA     string          `json:"file_sha256"`

	data []byte // the .bin file
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	dir := filepath.Join("testdata", "vectors")
	raw, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) == 0 {
		t.Fatal("no vectors in vectors.json")
	}
	for i := range doc.Vectors {
		v := &doc.Vectors[i]
		if v.data, err = os.ReadFile(filepath.Join(dir, v.File)); err != nil {
			t.Fatal(err)
		}
	}
	return doc.Vectors
}

// jsonKeys returns the keys of a JSON object in text order, read with
// encoding/json so that it does not depend on the decoder under test.
func jsonKeys(t testing.TB, text string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q: not an object: %v %v", text, tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// expectedHeaders turns the "headers" object of a vector into the values
// DecodeHeaders must give, using encoding/json and the documented rule:
// integers int64 or *big.Int, other numbers float64.
func expectedHeaders(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		n, ok := v.(json.Number)
		if !ok {
			continue
		}
		if !strings.ContainsAny(string(n), ".eE") {
			if i, err := n.Int64(); err == nil {
				m[k] = i
			} else {
				b, _ := new(big.Int).SetString(string(n), 10)
				m[k] = b
			}
		} else {
			f, err := n.Float64()
			if err != nil {
				t.Fatal(err)
			}
			m[k] = f
		}
	}
	return m
}

// valueEqual compares decoded header values: same Go type and same value,
// with NaN equal to NaN and -0.0 different from 0.0.
func valueEqual(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b))
	case *big.Int:
		b, ok := b.(*big.Int)
		return ok && a != nil && b != nil && a.Cmp(b) == 0
	case json.RawMessage:
		b, ok := b.(json.RawMessage)
		return ok && bytes.Equal(a, b)
	case nil, string, bool, int64:
		return a == b
	default:
		panic(fmt.Sprintf("valueEqual: unexpected type %T", a))
	}
}

// headersDiff describes how got differs from want, or returns "".
func headersDiff(got, want map[string]any) string {
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%q: missing, want %T(%v)", k, w, w))
		case !valueEqual(g, w):
			diffs = append(diffs, fmt.Sprintf("%q: got %T(%v), want %T(%v)", k, g, g, w, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: unexpected %T(%v)", k, g, g))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
}

// messageDiff describes how got differs from want, or returns "".
func messageDiff(got, want *Message) string {
	var diffs []string
	if got.ID != want.ID {
		diffs = append(diffs, fmt.Sprintf("ID %d, want %d", got.ID, want.ID))
	}
	if got.Timestamp != want.Timestamp {
		diffs = append(diffs, fmt.Sprintf("Timestamp %d, want %d", got.Timestamp, want.Timestamp))
	}
	if got.Topic != want.Topic {
		diffs = append(diffs, fmt.Sprintf("Topic %q, want %q", got.Topic, want.Topic))
	}
	if !bytes.Equal(got.Content, want.Content) {
		diffs = append(diffs, fmt.Sprintf("Content %d bytes %.32x..., want %d bytes %.32x...", len(got.Content), got.Content, len(want.Content), want.Content))
	}
	if d := headersDiff(got.Headers, want.Headers); d != "" {
		diffs = append(diffs, "Headers: "+d)
	}
	return strings.Join(diffs, "\n")
}

// reencodable reports whether decoded headers can be encoded again: not
// when they hold nested values or NaN/±Inf, which only Python writes.
func reencodable(h map[string]any) bool {
	for _, v := range h {
		switch v := v.(type) {
		case json.RawMessage:
			return false
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
	}
	return true
}

// sameMap reports whether a and b are one map, not two equal ones.
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
