package bridge

import (
	"fmt"
	"strings"

	"github.com/pubsub-go/pubsub/internal/topic"
)

// DefaultPrefix is the first token of every NATS subject the bridge uses
// unless [WithPrefix] sets another.
const DefaultPrefix = "pubsub"

// validatePrefix checks that p can stand before a topic in a NATS subject:
// words of [A-Za-z0-9-] separated by '.', as a topic, so that it has no
// wildcard, no empty token and nothing NATS would read specially.
func validatePrefix(p string) error {
	if err := topic.ValidateTopic(p); err != nil {
		return fmt.Errorf("invalid prefix %q: words of [A-Za-z0-9-] separated by '.', no wildcards", p)
	}
	return nil
}

// patternSubject maps a topic pattern to the NATS subject that carries
// what it matches: words map one to one onto tokens, '=' onto '*', and '+'
// onto '>'. NATS allows '>' only as the last token, so a '+' followed by
// more words is mapped to '>' and the rest dropped: the subject is then
// broader than the pattern (exact is false), and the receiver filters with
// the pattern itself.
func patternSubject(prefix, pattern string) (subject string, exact bool) {
	words := strings.Split(pattern, ".")
	tokens := make([]string, 0, len(words)+1)
	tokens = append(tokens, prefix)
	exact = true
	for i, w := range words {
		switch w {
		case "=":
			tokens = append(tokens, "*")
		case "+":
			tokens = append(tokens, ">")
			exact = i == len(words)-1
			return strings.Join(tokens, "."), exact
		default:
			tokens = append(tokens, w)
		}
	}
	return strings.Join(tokens, "."), exact
}

// topicSubject returns the NATS subject of a concrete topic.
func topicSubject(prefix, t string) string { return prefix + "." + t }

// subjectTopic returns the topic a NATS subject carries under prefix, or
// false when the subject is not under it or is not a valid topic (a NATS
// client other than a bridge may publish any subject).
func subjectTopic(prefix, subject string) (string, bool) {
	t, ok := strings.CutPrefix(subject, prefix)
	if !ok || !strings.HasPrefix(t, ".") {
		return "", false
	}
	t = t[1:]
	return t, topic.ValidateTopic(t) == nil
}

// subjectCovers reports whether every subject matching NATS filter b also
// matches filter a.
// It runs for every imported message, so it walks the tokens in place.
func subjectCovers(a, b string) bool {
	for a != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		if x == ">" {
			return b != ""
		}
		if b == "" {
			return false
		}
		y, b, _ = strings.Cut(b, ".")
		switch {
		case y == ">":
			return false
		case x == "*":
		case x != y:
			return false
		}
	}
	return b == ""
}

// subjectsOverlap reports whether some subject matches both filters.
func subjectsOverlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		switch {
		case i == len(at) || i == len(bt):
			return len(at) == len(bt)
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] == "*" || bt[i] == "*" || at[i] == bt[i]:
		default:
			return false
		}
	}
}

// filterSubjects returns NATS filter subjects covering subjects, none
// covering another, none overlapping another, as a JetStream consumer
// requires: a subject covered by another is dropped, and if two still
// overlap the whole prefix is taken (the receiver filters with the
// patterns).
func filterSubjects(prefix string, subjects []string) []string {
	var out []string
next:
	for i, s := range subjects {
		for j, o := range subjects {
			if i != j && subjectCovers(o, s) && (!subjectCovers(s, o) || j < i) {
				continue next
			}
		}
		out = append(out, s)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if subjectsOverlap(out[i], out[j]) {
				return []string{prefix + ".>"}
			}
		}
	}
	return out
}
