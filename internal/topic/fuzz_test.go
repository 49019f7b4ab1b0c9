package topic_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub/internal/topic"
)

// FuzzMatch checks Match and Pattern.Match against the word-level regular
// expression of oracle. Invalid input must not panic and must not match.
func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.pattern, c.topic)
	}
	for _, c := range pythonCases {
		f.Add(c.pattern, c.topic)
	}
	for _, d := range topic.Differences() {
		f.Add(d.Pattern, d.Topic)
	}
	f.Fuzz(func(t *testing.T, pattern, tp string) {
		got := topic.Match(pattern, tp)
		p, err := topic.Compile(pattern)
		if err != nil {
			if got {
				t.Fatalf("Match(%q, %q) is true for an invalid pattern", pattern, tp)
			}
			return
		}
		if pgot := p.Match(tp); pgot != got {
			t.Fatalf("Match(%q, %q) = %v, Compile(...).Match = %v", pattern, tp, got, pgot)
		}
		if topic.ValidateTopic(tp) != nil {
			if got {
				t.Fatalf("Match(%q, %q) is true for an invalid topic", pattern, tp)
			}
			return
		}
		re := oracle(pattern)
		if want := re.MatchString(tp); got != want {
			t.Fatalf("Match(%q, %q) = %v, oracle %v", pattern, tp, got, want)
		}
		// Two random strings rarely match; a topic made from the pattern
		// must, which exercises the matching paths too.
		// Each '+' copies the topic, so bound the instance: the oracle's
		// regexp takes time proportional to its length times its size.
		if strings.Count(pattern, "+")*len(tp) > 4096 {
			return
		}
		inst := instantiate(pattern, tp)
		if !topic.Match(pattern, inst) || !p.Match(inst) || !re.MatchString(inst) {
			t.Fatalf("pattern %q does not match its own instance %q", pattern, inst)
		}
	})
}

// instantiate replaces each '=' of a valid pattern with the first word of
// the valid topic t, and each '+' with all of t.
func instantiate(pattern, t string) string {
	first, _, _ := strings.Cut(t, ".")
	words := strings.Split(pattern, ".")
	for i, w := range words {
		switch w {
		case "=":
			words[i] = first
		case "+":
			words[i] = t
		}
	}
	return strings.Join(words, ".")
}

var (
	topicRE   = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
	patternRE = regexp.MustCompile(`^([A-Za-z0-9-]+|=|\+)(\.([A-Za-z0-9-]+|=|\+))*$`)
)

// FuzzValidate checks ValidateTopic and ValidatePattern against regular
// expressions, and that every error is a well-formed *Error.
func FuzzValidate(f *testing.F) {
	for _, c := range validationCases {
		if len(c.in) < 1000 {
			f.Add(c.in)
		}
	}
	for _, c := range matchCases {
		f.Add(c.pattern)
		f.Add(c.topic)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []struct {
			name  string
			err   error
			re    *regexp.Regexp
			isPat bool
		}{
			{"ValidateTopic", topic.ValidateTopic(s), topicRE, false},
			{"ValidatePattern", topic.ValidatePattern(s), patternRE, true},
		} {
			if want := v.re.MatchString(s); (v.err == nil) != want {
				t.Fatalf("%s(%q) = %v, regexp says valid=%v", v.name, s, v.err, want)
			}
			if v.err == nil {
				continue
			}
			checkValidation(t, v.name, v.err, s, reasonOf(v.err), v.isPat)
			if msg := v.err.Error(); !strings.HasPrefix(msg, "pubsub: invalid ") {
				t.Fatalf("%s(%q): message %q", v.name, s, msg)
			}
		}
		if topic.ValidateTopic(s) == nil && topic.ValidatePattern(s) != nil {
			t.Fatalf("%q is a topic but not a pattern", s)
		}
	})
}

func reasonOf(err error) string {
	if e, ok := err.(*topic.Error); ok && e.Reason != "" {
		return e.Reason
	}
	return "(no reason)"
}
