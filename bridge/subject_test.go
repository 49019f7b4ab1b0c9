package bridge

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub"
)

func TestPatternSubject(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		exact            bool
	}{
		{"a", "p.a", true},
		{"a.b", "p.a.b", true},
		{"a.=", "p.a.*", true},
		{"=.b.=", "p.*.b.*", true},
		{"a.+", "p.a.>", true},
		{"+", "p.>", true},
		{"a.+.b", "p.a.>", false},
		{"=.+.=", "p.*.>", false},
	} {
		s, exact := patternSubject("p", c.pattern)
		if s != c.subject || exact != c.exact {
			t.Errorf("patternSubject(%q) = %q, %v; want %q, %v", c.pattern, s, exact, c.subject, c.exact)
		}
	}
}

func TestSubjectTopic(t *testing.T) {
	for subject, want := range map[string]string{"p.a.b": "a.b", "p.a": "a", "p": "", "pa.b": "", "p.a_b": "", "q.a": "", "p.a..b": ""} {
		got, ok := subjectTopic("p", subject)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("subjectTopic(%q) = %q, %v; want %q", subject, got, ok, want)
		}
	}
}

func TestFilterSubjects(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"p.a", "p.a"},
		{"p.a p.b", "p.a p.b"},
		{"p.a p.>", "p.>"},
		{"p.a.* p.a.b", "p.a.*"},
		{"p.a.> p.a.* p.a.b.c", "p.a.>"},
		{"p.a.> p.a.>", "p.a.>"},
		{"p.a.* p.*.b", "p.>"}, // overlap without cover: the whole prefix
		{"p.a.* p.b.*", "p.a.* p.b.*"},
		{"p.a p.a.>", "p.a p.a.>"},
	} {
		got := strings.Join(filterSubjects("p", strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("filterSubjects(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestSubjectCovers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"p.a", "p.a", true},
		{"p.a", "p.b", false},
		{"p.a", "p.a.b", false},
		{"p.a.b", "p.a", false},
		{"p.*", "p.a", true},
		{"p.*", "p.a.b", false},
		{"p.*", "p.*", true},
		{"p.*", "p.>", false},
		{"p.a", "p.*", false},
		{"p.>", "p.a", true},
		{"p.>", "p.a.b.c", true},
		{"p.>", "p", false},
		{"p.>", "p.>", true},
		{"p.>", "p.*.>", true},
		{"p.*.>", "p.>", false},
		{"p.*.c", "p.b.c", true},
		{"p.*.c", "p.b.d", false},
		{"p.a.>", "p.a", false},
		{"q.>", "p.a", false},
	} {
		if got := subjectCovers(c.a, c.b); got != c.want {
			t.Errorf("subjectCovers(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, u := range []string{"nats://127.0.0.1:4222", "127.0.0.1:4222", "localhost", "tls://h:1,nats://g:2", "nats://user:pw@h:4222"} {
		if err := ValidateURL(u); err != nil {
			t.Errorf("ValidateURL(%q) = %v", u, err)
		}
	}
	for _, u := range []string{"", "http://h", "nats://h:x", "nats://h:70000", "nats://", "nats://h/path"} {
		if err := ValidateURL(u); err == nil {
			t.Errorf("ValidateURL(%q) = nil, want an error", u)
		}
	}
	for _, p := range []string{"a.+", "x_y", "a..b", ""} {
		if p == "" {
			continue
		}
		if err := validatePrefix(p); err == nil {
			t.Errorf("validatePrefix(%q) = nil", p)
		}
	}
}

// TestHeadersCodec: every header type a received message may hold,
// NaN, infinities and nested values from Python included, crosses NATS
// as it was.
func TestHeadersCodec(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	h := pubsub.Headers{
		"s": "x\ny\r\"é", "b": true, "n": nil, "i": int64(-7), "big": huge, "f": 1.0, "tiny": 5e-324,
		"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1),
		"list": json.RawMessage(`[1, {"a": NaN}]`), "obj": json.RawMessage("{\"k\":\n 1}"),
	}
	m := &pubsub.Message{ID: 12345, Timestamp: 1700000000000001, Topic: "a.b", Headers: h, Content: []byte{0, 1, 2}}
	msg, err := newEncoder("p", "origin").encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range msg.Header {
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				t.Errorf("header %s holds a line break: %q", k, v)
			}
		}
	}
	if msg.Subject != "p.a.b" {
		t.Errorf("subject %q, want p.a.b", msg.Subject)
	}
	got := new(pubsub.Message)
	origin, err := fromNATS("a.b", msg, got)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "origin" || got.ID != m.ID || got.Timestamp != m.Timestamp || string(got.Content) != string(m.Content) {
		t.Errorf("got %+v from %s", got, origin)
	}
	for k, want := range h {
		v := got.Headers[k]
		switch w := want.(type) {
		case float64:
			if f, ok := v.(float64); !ok || !(f == w || math.IsNaN(f) && math.IsNaN(w)) {
				t.Errorf("%s: got %v, want %v", k, v, w)
			}
		case json.RawMessage:
			var a, b any
			if r, ok := v.(json.RawMessage); !ok || json.Unmarshal([]byte(strings.ReplaceAll(string(r), "NaN", "0")), &a) != nil ||
				json.Unmarshal([]byte(strings.ReplaceAll(string(w), "NaN", "0")), &b) != nil || !reflect.DeepEqual(a, b) {
				t.Errorf("%s: got %s, want %s", k, v, w)
			}
		case *big.Int:
			if g, ok := v.(*big.Int); !ok || g.Cmp(w) != 0 {
				t.Errorf("%s: got %v, want %v", k, v, w)
			}
		default:
			if !reflect.DeepEqual(v, want) {
				t.Errorf("%s: got %#v, want %#v", k, v, want)
			}
		}
	}
	if len(got.Headers) != len(h) {
		t.Errorf("got %d headers, want %d", len(got.Headers), len(h))
	}
}

// TestEncoderReuse: the encoder's one NATS message carries each message's
// own values, and no headers of the message before.
func TestEncoderReuse(t *testing.T) {
	e := newEncoder("p", "o")
	first := &pubsub.Message{ID: 1, Timestamp: 10, Topic: "a.b", Headers: pubsub.Headers{"k": "v"}, Content: []byte("x")}
	second := &pubsub.Message{ID: 2, Timestamp: 20, Topic: "c", Content: []byte("y")}
	if _, err := e.encode(first); err != nil {
		t.Fatal(err)
	}
	msg, err := e.encode(second)
	if err != nil {
		t.Fatal(err)
	}
	got := new(pubsub.Message)
	origin, err := fromNATS("c", msg, got)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "p.c" || origin != "o" || got.ID != 2 || got.Timestamp != 20 || string(got.Content) != "y" || got.Headers != nil {
		t.Errorf("second message: subject %q, origin %q, %+v", msg.Subject, origin, got)
	}
}

func TestServerAtLeast(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{"2.12.0", true}, {"2.15.2", true}, {"3.0.0", true}, {"2.11.9", false}, {"1.99.0", false},
		{"2.12.0-beta.1", true}, {"", false}, {"2", false}, {"x.y.z", false},
	} {
		if got := serverAtLeast(c.v, 2, 12); got != c.want {
			t.Errorf("serverAtLeast(%q, 2, 12) = %v, want %v", c.v, got, c.want)
		}
	}
}

// TestEncoderBatchHeaders: a batch's headers leave the encoder's message
// once the batch is over, so a message sent alone afterwards is not taken
// for part of a batch.
func TestEncoderBatchHeaders(t *testing.T) {
	e := newEncoder("p", "o")
	m := &pubsub.Message{ID: 1, Timestamp: 10, Topic: "a", Content: []byte("x")}
	msg, err := e.encode(m)
	if err != nil {
		t.Fatal(err)
	}
	e.batchHeaders("b-1", 3, "o-1", true)
	if msg.Header.Get(headerBatchID) != "b-1" || msg.Header.Get(headerBatchSeq) != "3" || msg.Header.Get(headerBatchCommit) != "1" ||
		msg.Header.Get("Nats-Msg-Id") != "o-1" {
		t.Fatalf("batch headers %v", msg.Header)
	}
	e.endBatch()
	if msg, err = e.encode(m); err != nil {
		t.Fatal(err)
	}
	for k := range msg.Header {
		if !strings.HasPrefix(k, "Pubsub-") {
			t.Errorf("header %s left after the batch", k)
		}
	}
}
