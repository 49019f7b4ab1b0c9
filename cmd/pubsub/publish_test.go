package main

import (
	"math/big"
	"testing"
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
		{"colon:in:key=v", "colon:in:key", "v"},
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
	for _, flag := range []string{"novalue", "=x", ":=1", "n:=", "n:=4x", "n:=--1", "a:=[1]", "o:={}", "n:=1 2", "n:=1e999", "s:='x'", "k\xff=v", "k=\xff"} {
		if k, v, err := parseHeader(flag); err == nil {
			t.Errorf("parseHeader(%q) = %q, %#v; want an error", flag, k, v)
		}
	}
}
