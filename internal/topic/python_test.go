package topic_test

import (
	"testing"

	"github.com/pubsub-go/pubsub/internal/topic"
)

// pythonCases were checked against CPython's re with the expressions
// formix-pubsub builds (publish check, channel check, fullmatch).
var pythonCases = []struct {
	name           string
	pattern, topic string
	python, ours   bool
}{
	{"literal", "logs.error", "logs.error", true, true},
	{"literal dot any char", "a.b", "axb", true, false},
	{"= one letter", "news.=", "news.a", true, true},
	{"= two letters", "news.=", "news.ab", false, true},
	{"= middle long word", "logs.=.error", "logs.app.error", false, true},
	{"=.= three chars", "=.=", "abc", true, false},
	{"=.= two words", "=.=", "a.b", true, true},
	{"+ one word", "logs.+", "logs.error", true, true},
	{"+ many words", "logs.+", "logs.a.b.c", true, true},
	{"+ nothing after", "logs.+", "logs", false, false},
	{"+ trailing dot", "logs.+", "logs.", true, false},
	{"+ joined", "logs.+", "logsx", true, false},
	{"+ alone", "+", "a.b", true, true},
	{"+ leading dot", "+", ".a", true, false},
	{"+ empty word", "a.+", "a..b", true, false},
	{"+ zero chars middle", "a.+.b", "a..b", true, false},
	{"+ in word", "x+y", "xy", true, false},
	{"= in word", "news.=x", "news.ax", true, false},
	{"empty topic", "+", "", false, false},
	{"publish rejects _", "+", "a_b", false, false},
	{"publish rejects wildcard", "+", "a.+", false, false},
	{"channel rejects _", "a_b", "a", false, false},
	{"empty pattern", "", "a", false, false},
	// Python's '$' also matches before a final newline, so publish accepts
	// "a\n" and Channel accepts "a\n"; the expression's '.' and classes
	// never match "\n", so only the identical literal pattern is reached.
	{"newline topic literal", "a\n", "a\n", true, false},
	{"newline topic +", "+", "a\n", false, false},
	{"newline topic a.", "a.", "a\n", false, false},
}

func TestPythonMatch(t *testing.T) {
	for _, c := range pythonCases {
		t.Run(c.name, func(t *testing.T) {
			if got := topic.PythonMatch(c.pattern, c.topic); got != c.python {
				t.Errorf("PythonMatch(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.python)
			}
			if got := topic.Match(c.pattern, c.topic); got != c.ours {
				t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.ours)
			}
		})
	}
}

func TestPythonValid(t *testing.T) {
	cases := []struct {
		in             string
		topic, pattern bool
	}{
		{"a", true, true},
		{"a.b-c", true, true},
		{"a..b", true, true},
		{".", true, true},
		{"a.", true, true},
		{"a\n", true, true},
		{"a\n\n", false, false},
		{"\n", false, false},
		{"", false, false},
		{"news.+", false, true},
		{"news.=x", false, true},
		{"a_b", false, false},
		{"café", false, false},
		{"a b", false, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := topic.PythonValidTopic(c.in); got != c.topic {
				t.Errorf("PythonValidTopic(%q) = %v, want %v", c.in, got, c.topic)
			}
			if got := topic.PythonValidPattern(c.in); got != c.pattern {
				t.Errorf("PythonValidPattern(%q) = %v, want %v", c.in, got, c.pattern)
			}
		})
	}
}

// TestDifferences recomputes both columns so the table cannot lie, and
// checks that the cases docs/INTEROP.md relies on are there.
func TestDifferences(t *testing.T) {
	ds := topic.Differences()
	seen := map[[2]string]bool{}
	for _, d := range ds {
		t.Run(d.Pattern+" "+d.Topic, func(t *testing.T) {
			if got := topic.Match(d.Pattern, d.Topic); got != d.Ours {
				t.Errorf("Ours = %v, Match says %v", d.Ours, got)
			}
			if got := topic.PythonMatch(d.Pattern, d.Topic); got != d.Python {
				t.Errorf("Python = %v, PythonMatch says %v", d.Python, got)
			}
			if d.Why == "" {
				t.Error("no Why")
			}
		})
		k := [2]string{d.Pattern, d.Topic}
		if seen[k] {
			t.Errorf("%q %q listed twice", d.Pattern, d.Topic)
		}
		seen[k] = true
	}
	for _, k := range [][2]string{
		{"news.=", "news.ab"}, // '=' over a word of several letters
		{"news.=", "news.a"},  // '=' over a one-letter word
		{"logs.+", "logs"},    // '+' over no word
		{"logs.+", "logs."},   // trailing dot
		{"a.b", "axb"},        // '.' is any character in Python
		{"a.+", "a..b"},       // a Python topic with an empty word
		{"+", "a.b"},          // agreement
	} {
		if !seen[k] {
			t.Errorf("Differences lacks %q %q", k[0], k[1])
		}
	}
	ds[0].Pattern = "changed"
	if topic.Differences()[0].Pattern == "changed" {
		t.Error("Differences shares its slice between calls")
	}
}
