// Package topic validates and matches pubsub topics. It is pure: no
// filesystem, no state.
//
// A topic is one or more words separated by '.', and a word is one or more
// of [A-Za-z0-9-]: "logs", "logs.app-1.error". "", "a..b", ".a", "a.",
// "a_b" and "café" are not topics.
//
// A pattern (a channel's topic) is a topic in which a whole word may be a
// wildcard instead: '=' stands for exactly one word, '+' for one or more
// words. "logs.=.error" matches "logs.app.error" but not "logs.error";
// "logs.+" matches "logs.error" and "logs.app.module.error" but not
// "logs". A wildcard must be a whole word ("news.=x" and "x+y" are not
// patterns); a pattern may hold several ("a.+.b.+", "=.=", "+").
//
// These are the semantics formix-pubsub documents. Its implementation
// turns a pattern into a regular expression with character-level
// wildcards and an unescaped '.', which differs in the cases listed by
// [Differences] and reproduced by [PythonMatch].
package topic

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Character sets, as shown in error messages.
const (
	// Word is the set a word of a topic or pattern is made of.
	Word = "[A-Za-z0-9-]"
	// Allowed is every character a (publish) topic may contain.
	Allowed = "[A-Za-z0-9.-]"
	// AllowedPattern is every character a pattern may contain. It is also
	// the set formix-pubsub accepts in a channel topic.
	AllowedPattern = "[A-Za-z0-9.=+-]"
)

// ErrInvalid is wrapped by every *[Error].
var ErrInvalid = errors.New("pubsub: invalid topic")

// Error reports an invalid topic or pattern. It unwraps to [ErrInvalid].
type Error struct {
	Topic   string // the topic as given
	Reason  string // what is wrong, e.g. "character '_' not allowed"
	Pattern bool   // Topic was a channel topic, where wildcards are allowed
}

const (
	reasonEmpty           = "empty topic"
	reasonWildcardInTopic = "wildcards '=' and '+' are only allowed in channel topics"
	allowedTopicText      = "a topic is words of " + Word + " separated by '.'"
	allowedPatternText    = "a channel topic is words of " + Word + ", '=' or '+', separated by '.'"
	// NATS, and users of it, write the wildcards '*' (one word) and '>'
	// (one or more); a topic holding either is told what plays their role.
	natsPatternHint = "'=' stands for one word and '+' for one or more, as '*' and '>' do in NATS"
	natsTopicHint   = "wildcards, '=' for one word and '+' for one or more (NATS's '*' and '>'), are only allowed in channel topics"
	maxShownTopic   = 128 // bytes of a long topic shown in a message
	maxShownChars   = 10  // distinct offending characters listed
)

// Error names the topic, what is wrong with it, and what is allowed. A
// topic holding NATS's wildcards '*' or '>' is also told that '=' and '+'
// play their role here.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pubsub: invalid ")
	if e.Pattern {
		b.WriteString("channel ")
	}
	b.WriteString("topic ")
	// A topic can be megabytes; the head is enough to recognise it.
	if len(e.Topic) > maxShownTopic {
		n := maxShownTopic
		for n > maxShownTopic-utf8.UTFMax && !utf8.RuneStart(e.Topic[n]) {
			n-- // do not cut a character in two
		}
		fmt.Fprintf(&b, "%q... (%d bytes)", e.Topic[:n], len(e.Topic))
	} else {
		fmt.Fprintf(&b, "%q", e.Topic)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	// Saying what a topic may contain does not help someone who put a
	// wildcard where it has no meaning.
	if e.Reason != reasonWildcardInTopic {
		b.WriteString("; ")
		if e.Pattern {
			b.WriteString(allowedPatternText)
		} else {
			b.WriteString(allowedTopicText)
		}
	}
	if strings.ContainsAny(e.Topic, "*>") {
		b.WriteString("; ")
		if e.Pattern {
			b.WriteString(natsPatternHint)
		} else {
			b.WriteString(natsTopicHint)
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return ErrInvalid }

// ValidateTopic returns nil if t is a topic that can be published: words
// of [A-Za-z0-9-] separated by '.', with no wildcard. Otherwise it returns
// an *[Error].
func ValidateTopic(t string) error {
	if p, arg := scan(t, false); p != fine {
		return newError(t, false, p, arg)
	}
	return nil
}

// ValidatePattern returns nil if p is a valid channel topic: a topic in
// which whole words may be '=' or '+'. Otherwise it returns an *[Error].
func ValidatePattern(p string) error {
	if pr, arg := scan(p, true); pr != fine {
		return newError(p, true, pr, arg)
	}
	return nil
}

// HasWildcard reports whether p contains '=' or '+'. For a valid pattern
// that means it has a wildcard word and is not matched by equality.
func HasWildcard(p string) bool {
	return strings.ContainsAny(p, "=+")
}

// problem is what scan found; the message is built only on failure, so
// that validating a good topic allocates nothing.
type problem uint8

const (
	fine            problem = iota
	empty                   // ""
	badChars                // arg: offset of the first bad byte
	wildcardInTopic         // a concrete topic holds '=' or '+'
	emptyWord               // arg: 1-based position of the word
	partialWildcard         // arg: the wildcard byte
)

// wordByte marks the bytes a word is made of: [A-Za-z0-9-].
var wordByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'] = true
	return t
}()

// isWord reports whether w is a non-empty run of [A-Za-z0-9-].
func isWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !wordByte[w[i]] {
			return false
		}
	}
	return true
}

// scan checks s as a topic, or as a pattern if pattern is set. Foreign
// characters are reported before structure, since they are the likeliest
// mistake and the message can name them all.
func scan(s string, pattern bool) (problem, int) {
	if s == "" {
		return empty, 0
	}
	wild := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case wordByte[c], c == '.':
		case c == '=', c == '+':
			wild = true
		default:
			return badChars, i
		}
	}
	if wild && !pattern {
		return wildcardInTopic, 0
	}
	pos, start := 1, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		w := s[start:i]
		if w == "" {
			return emptyWord, pos
		}
		if wild && len(w) > 1 {
			if j := strings.IndexAny(w, "=+"); j >= 0 {
				return partialWildcard, int(w[j])
			}
		}
		pos, start = pos+1, i+1
	}
	return fine, 0
}

func newError(s string, pattern bool, p problem, arg int) *Error {
	e := &Error{Topic: s, Pattern: pattern}
	switch p {
	case empty:
		e.Reason = reasonEmpty
	case badChars:
		e.Reason = badCharsReason(s[arg:])
	case wildcardInTopic:
		e.Reason = reasonWildcardInTopic
	case emptyWord:
		e.Reason = fmt.Sprintf("empty word at position %d", arg)
	case partialWildcard:
		e.Reason = fmt.Sprintf("wildcard '%c' must be a whole word", arg)
	}
	return e
}

// badCharsReason lists the distinct characters of s that no topic may
// hold, in order of appearance, quoted with %q so that control and
// invisible characters show. A byte that is not UTF-8 is shown as '\xNN'.
func badCharsReason(s string) string {
	var shown []string
	more := false
	for i, r := range s {
		var q string
		switch {
		case r < utf8.RuneSelf && (wordByte[r] || r == '.' || r == '=' || r == '+'):
			continue
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			q = fmt.Sprintf(`'\x%02x'`, s[i])
		default:
			q = fmt.Sprintf("%q", r)
		}
		if containsString(shown, q) {
			continue
		}
		if len(shown) == maxShownChars {
			more = true
			break
		}
		shown = append(shown, q)
	}
	var b strings.Builder
	if len(shown) == 1 {
		b.WriteString("character ")
	} else {
		b.WriteString("characters ")
	}
	for i, q := range shown {
		switch {
		case i == 0:
		case i == len(shown)-1 && !more:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(q)
	}
	if more {
		b.WriteString(" and others")
	}
	b.WriteString(" not allowed")
	return b.String()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
