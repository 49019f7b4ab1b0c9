package main

import (
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pubsub-go/pubsub/internal/wire"
)

func TestParseHeader(t *testing.T) {
	big30, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		flag  string
		key   string
		value any
	}{
		{"s=text", "s", "text"},
		{"s=", "s", ""},
		{"eq=a=b", "eq", "a=b"},
		{"eq=a:b", "eq", "a:b"},
		{"eq=a:=b", "eq", "a:=b"},
		{"url=http://h:80/?a=b", "url", "http://h:80/?a=b"},
		// key:value, as the nats CLI writes headers
		{"c:text", "c", "text"},
		{"c: spaced text ", "c", "spaced text"},
		{" c :v", "c", "v"},
		{"c:", "c", ""},
		{"c::v", "c", ":v"},
		{"c:a=b", "c", "a=b"},
		{"c: =v", "c", "=v"},
		{"Nats-Msg-Id:YWJj==", "Nats-Msg-Id", "YWJj=="},
		{"url:http://h:80/?a=b", "url", "http://h:80/?a=b"},
		{"n:=42", "n", int64(42)},
		{"n:= -7 ", "n", int64(-7)},
		{"big:=123456789012345678901234567890", "big", big30},
		{"f:=1.0", "f", 1.0},
		{"f:=2.5e-7", "f", 2.5e-7},
		{"ok:=true", "ok", true},
		{"no:=false", "no", false},
		{"x:=null", "x", nil},
		{`q:="quoted"`, "q", "quoted"},
		{"num=42", "num", "42"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			k, v, err := parseHeader(tt.flag)
			if err != nil {
				t.Fatal(err)
			}
			if k != tt.key {
				t.Errorf("key = %q, want %q", k, tt.key)
			}
			if b, ok := tt.value.(*big.Int); ok {
				if got, ok := v.(*big.Int); !ok || got.Cmp(b) != 0 {
					t.Errorf("value = %#v, want %v", v, b)
				}
				return
			}
			if v != tt.value {
				t.Errorf("value = %#v (%T), want %#v (%T)", v, v, tt.value, tt.value)
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	for _, flag := range []string{"novalue", "=x", ":=1", ":x", " :x", "n:=", "n:=4x", "n:=--1", "a:=[1]", "o:={}", "n:=1 2", "n:=1e999", "s:='x'", "k\xff=v", "k=\xff", "k:\xff", "n:=ada"} {
		if k, v, err := parseHeader(flag); err == nil {
			t.Errorf("parseHeader(%q) = %q, %#v; want an error", flag, k, v)
		}
	}
}

// FuzzParseHeader feeds -H flags as a shell user might type them: a flag
// either fails with an error or yields a header that the wire encoding
// writes and reads back as the same key and value.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"s=text", "c: text ", "c:a=b", "e=a:b", "n:=42", "big:=123456789012345678901234567890", "f:=2.5e-7", "x:=null", `q:="\ud800"`, "n:=1e999", "k=\xff", "a:=[1]", "=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, flag string) {
		k, v, err := parseHeader(flag)
		if err != nil {
			return
		}
		// The key ends at the first ':' or '=', which decides the form.
		i := strings.IndexAny(flag, ":=")
		if k == "" || strings.ContainsAny(k, ":=") || i < 0 {
			t.Fatalf("flag %q: key %q", flag, k)
		}
		switch rest := flag[i:]; {
		case strings.HasPrefix(rest, ":="):
			switch v.(type) {
			case nil, bool, string, int64, *big.Int, float64:
			default:
				t.Fatalf("flag %q: value %#v (%T) is not a JSON scalar", flag, v, v)
			}
		case rest[0] == '=':
			if k != flag[:i] || v != flag[i+1:] {
				t.Fatalf("flag %q: got %q = %#v, want %q = %q", flag, k, v, flag[:i], flag[i+1:])
			}
		default:
			// as the nats CLI reads it (natscli parseStringsToHeader)
			nk, nv, _ := strings.Cut(flag, ":")
			if nk, nv = strings.TrimSpace(nk), strings.TrimSpace(nv); k != nk || v != nv {
				t.Fatalf("flag %q: got %q = %#v, nats reads %q = %q", flag, k, v, nk, nv)
			}
		}
		enc, err := wire.EncodeHeaders(map[string]any{k: v})
		if err != nil {
			t.Fatalf("parseHeader(%q) = %q, %#v, which does not encode: %v", flag, k, v, err)
		}
		dec, err := wire.DecodeHeaders(enc)
		if err != nil {
			t.Fatalf("headers %q from flag %q do not decode: %v", enc, flag, err)
		}
		got, ok := dec[k]
		if !ok || len(dec) != 1 {
			t.Fatalf("flag %q: decoded %#v, want the one key %q", flag, dec, k)
		}
		if b, isBig := v.(*big.Int); isBig {
			if g, ok := got.(*big.Int); !ok || g.Cmp(b) != 0 {
				t.Fatalf("flag %q: value %v came back as %#v", flag, b, got)
			}
			return
		}
		if s, isString := v.(string); isString && !utf8.ValidString(s) {
			t.Fatalf("flag %q: value %q is not valid UTF-8", flag, s)
		}
		if got != v && !(isSurrogateLoss(v, got)) {
			t.Fatalf("flag %q: value %#v (%T) came back as %#v (%T)", flag, v, v, got, got)
		}
	})
}

// isSurrogateLoss reports a string that changed only because JSON text
// escaped a lone surrogate, which both Python and Go decode as U+FFFD.
func isSurrogateLoss(want, got any) bool {
	w, ok1 := want.(string)
	g, ok2 := got.(string)
	return ok1 && ok2 && strings.ReplaceAll(w, "\uFFFD", "") == strings.ReplaceAll(g, "\uFFFD", "")
}
