package main

import (
	"encoding/json"
	"math"
	"math/big"
	"testing"

	"github.com/pubsub-go/pubsub"
)

func TestHeadersJSON(t *testing.T) {
	big30, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	h := pubsub.Headers{
		"s": "a\"<&>\u2028\x00", "n": int64(-3), "big": big30, "t": true, "x": nil,
		"f1": 1.0, "f2": 0.0001, "f3": 1e-5, "f4": 1e16, "f5": 1234567890123456.0, "f6": math.Copysign(0, -1),
		"nan": math.NaN(), "inf": math.Inf(-1), "list": json.RawMessage(`[1, {"a": NaN}]`),
	}
	got := string(appendHeadersJSON(nil, h))
	want := `{"big":-123456789012345678901234567890,"f1":1.0,"f2":0.0001,"f3":1e-05,"f4":1e+16,"f5":1234567890123456.0,"f6":-0.0,"inf":-Infinity,"list":[1, {"a": NaN}],"n":-3,"nan":NaN,"s":"a\"<&>\u2028\u0000","t":true,"x":null}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{"x": "X", "my-key": "MY_KEY", "A.b_c9": "A_B_C9", "é": "_"} {
		if got := envName(key); got != want {
			t.Errorf("envName(%q) = %q, want %q", key, got, want)
		}
	}
}
