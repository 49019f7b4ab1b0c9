//go:build interop

package interop

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// typedHeaders holds every header type formix-pubsub allows, as
// [key, type, text] with Python's type names.
var typedHeaders = [][3]string{
	{"text", "str", "héllo wörld, 日本語, ✓ 😀"},
	{"clé-ü", "str", "a non-ASCII key"},
	{"escapes", "str", "quote \" backslash \\ newline \n tab \t nul \x00 bell \a </script>&' \u2028\u2029 \u007f"},
	{"empty", "str", ""},
	{"int-zero", "int", "0"},
	{"int-2^53+1", "int", "9007199254740993"},
	{"int-neg-2^53-1", "int", "-9007199254740993"},
	{"int-minus-one", "int", "-1"},
	{"int64-max", "int", "9223372036854775807"},
	{"int64-min", "int", "-9223372036854775808"},
	{"int-2^70", "int", "1180591620717411303424"},
	{"float-one", "float", "1.0"},
	{"float-half-neg", "float", "-0.5"},
	{"float-tenth", "float", "0.1"},
	{"float-tiny", "float", "1e-07"},
	{"float-huge", "float", "1e+300"},
	{"float-pi", "float", "3.141592653589793"},
	{"float-2^53", "float", "9007199254740992.0"},
	{"float-neg-zero", "float", "-0.0"},
	{"true", "bool", "true"},
	{"false", "bool", "false"},
	{"null", "null", "null"},
}

// rpcHeaders are those of the seed's RPC example (example_test.go and
// formix-pubsub's README).
var rpcHeaders = [][3]string{
	{"response-topic", "str", "rpc.responses.client1"},
	{"correlation-id", "str", "12345"},
}

// payloads returns the messages of cases 3 and 4: every header type, the
// RPC headers, and content empty, of all 256 byte values and of 16 MiB.
func payloads(topic string) []msg {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 16<<20)
	r := rand.NewChaCha8([32]byte{'i', 'n', 't', 'e', 'r', 'o', 'p'})
	_, _ = r.Read(big)
	return []msg{
		{Topic: topic, Headers: typedHeaders, Content: []byte("typed headers")},
		{Topic: topic, Headers: rpcHeaders, Content: []byte("ping")},
		{Topic: topic, Content: []byte{}},
		{Topic: topic, Headers: [][3]string{{"what", "str", "all 256 byte values"}}, Content: all},
		{Topic: topic, Headers: [][3]string{{"what", "str", "16 MiB"}}, Content: big},
		{Topic: topic, Headers: [][3]string{{"what", "str", "after 16 MiB"}}, Content: []byte("last")},
	}
}

// Cases 3 and 4: every header type, the RPC headers, and content empty, of
// all 256 byte values and of 16 MiB, from Python to Go and from Go to
// Python, checked field by field; the types of header values are checked
// as the receiver's language holds them (int stays int, 1.0 stays float).
func TestHeadersAndContent(t *testing.T) {
	t.Parallel()
	for _, dir := range []struct{ pub, sub side }{{pySide, goSide}, {goSide, pySide}} {
		t.Run(fmt.Sprintf("%v to %v", dir.pub, dir.sub), func(t *testing.T) {
			t.Parallel()
			home := newHome(t)
			topic := "payload." + strings.ToLower(dir.pub.String())
			msgs := payloads(topic)
			sub := start(t, home, dir.sub, nil, "sub", "-n", fmt.Sprint(len(msgs)), topic)
			live(t, sub)
			lo := nowMicro()
			res, log := publish(t, home, dir.pub, nil, msgs)
			hi := nowMicro()
			expectCounts(t, dir.pub, res, log, 1)
			recs := readRecords(t, sub, len(msgs))
			expectLine(t, sub, fmt.Sprintf("done %d nil", len(msgs)))
			expectExit(t, sub)
			var ids []string
			if dir.pub == goSide {
				for _, r := range res {
					ids = append(ids, r.ID)
				}
			}
			checkStream(t, topic, recs, msgs, ids, lo, hi)
		})
	}
}

// Headers Go cannot publish are refused before anything is delivered,
// while Python's json.dumps writes them and Go reads them: NaN and the
// infinities as floats. Python has no other non-JSON scalar to send.
func TestNonFiniteFloatsFromPython(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	sub := start(t, home, goSide, nil, "sub", "-n", "1", "floats")
	live(t, sub)
	res, log := publish(t, home, pySide, nil, []msg{{Topic: "floats", Headers: [][3]string{
		{"nan", "float", "nan"}, {"inf", "float", "inf"}, {"ninf", "float", "-inf"},
	}}})
	expectCounts(t, pySide, res, log, 1)
	recs := readRecords(t, sub, 1)
	expectLine(t, sub, "done 1 nil")
	checkHeaders(t, "non-finite floats", recs[0].Headers, [][3]string{
		{"nan", "float", "NaN"}, {"inf", "float", "+Inf"}, {"ninf", "float", "-Inf"},
	})
	expectExit(t, sub)
}

// A Go channel made WithoutHeader drops what a Python publisher, which
// reads no lock file, sends with that header anyway, and gets the rest in
// order.
func TestWithoutHeaderFromPython(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	topic := "without.py"
	sub := start(t, home, goSide, nil, "sub", "-n", "2", "-without", "pubsub-origin", topic)
	live(t, sub)
	msgs := []msg{
		{Topic: topic, Headers: [][3]string{{"what", "str", "first"}}, Content: []byte("first")},
		{Topic: topic, Headers: [][3]string{{"pubsub-origin", "str", "elsewhere"}}, Content: []byte("refused")},
		{Topic: topic, Content: []byte("last")},
	}
	res, log := publish(t, home, pySide, nil, msgs)
	expectCounts(t, pySide, res, log, 1) // Python delivers all three
	recs := readRecords(t, sub, 2)
	expectLine(t, sub, "done 2 nil")
	expectExit(t, sub)
	for i, want := range []string{"first", "last"} {
		if c := recs[i].Content; c == nil || *c != base64.StdEncoding.EncodeToString([]byte(want)) {
			t.Errorf("message %d: %+v (content in base64), want %q", i+1, recs[i], want)
		}
	}
}
