package topic

import (
	"regexp"
	"strings"
)

// What formix-pubsub does, as opposed to what it documents. Read from its
// source (pubsub.py publish, channel.py _validate_topic and
// matching_active_paths); the interop tests check it against the real
// package.
//
// Python checks with re.match and a trailing '$', which also matches just
// before a final "\n": "a\n" is a valid topic there. Go's '$' (without
// the m flag) is only the end of the text, hence the explicit "\n?".
var (
	pythonTopic   = regexp.MustCompile(`^[a-zA-Z0-9.-]+\n?$`)
	pythonPattern = regexp.MustCompile(`^[a-zA-Z0-9+=.-]+\n?$`)
)

// PythonValidTopic reports whether formix-pubsub's publish accepts t
// (^[a-zA-Z0-9.-]+$). It accepts empty words ("a..b", "a.") and a
// trailing newline, which [ValidateTopic] rejects.
func PythonValidTopic(t string) bool { return pythonTopic.MatchString(t) }

// PythonValidPattern reports whether formix-pubsub accepts p as a channel
// topic (^[a-zA-Z0-9+=.-]+$). It accepts wildcards inside words
// ("news.=x", "x+y"), which [ValidatePattern] rejects.
func PythonValidPattern(p string) bool { return pythonPattern.MatchString(p) }

// PythonMatch reports whether a formix-pubsub publisher of topic reaches a
// channel whose topic is pattern. That needs a topic its publish accepts
// ([PythonValidTopic]), a pattern its Channel accepts
// ([PythonValidPattern]; it never creates any other), and the topic to
// match in full the regular expression made from the pattern by
// replacing '=' with [a-zA-Z0-9-] (one character, not one word) and '+'
// with [a-zA-Z0-9.-]* (zero or more characters), leaving '.' unescaped, so
// that it matches any character. This reproduces that accident on purpose:
// no regexp.QuoteMeta.
//
// Go's RE2 and Python's re agree on every expression this can build:
// literal [A-Za-z0-9-] and "\n", '.' (neither matches "\n" by default),
// two character classes with '-' last (a literal '-' in both) and '*'.
// Nothing else reaches the expression, since both validity checks run
// first. Python matches code points and Go runes, which is the same for
// the ASCII topics that pass.
//
// It compiles an expression per call; it is meant for tests and
// documentation, not routing.
func PythonMatch(pattern, topic string) bool {
	if !PythonValidPattern(pattern) || !PythonValidTopic(topic) {
		return false
	}
	expr := strings.ReplaceAll(pattern, "=", "[a-zA-Z0-9-]")
	expr = strings.ReplaceAll(expr, "+", "[a-zA-Z0-9.-]*")
	// re.fullmatch: the whole topic, with no "\n" allowance at the end.
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return false // cannot happen with the characters let through
	}
	return re.MatchString(topic)
}

// Difference is one pattern and topic on which [Match] and formix-pubsub
// ([PythonMatch]) are compared.
type Difference struct {
	Pattern string
	Topic   string
	Ours    bool   // Match(Pattern, Topic)
	Python  bool   // PythonMatch(Pattern, Topic): a Python publisher reaches the channel
	Why     string // one line, for the wildcard table of docs/INTEROP.md
}

// Differences lists the cases that document how our matching differs from
// formix-pubsub's, with a few where they agree for contrast. The interop
// suite (TestWildcards) tries every case in both languages and writes the
// wildcard table of docs/INTEROP.md from what it observes; a test checks both
// columns against [Match] and [PythonMatch]. It returns a new slice on
// every call.
func Differences() []Difference {
	return []Difference{
		{"news.=", "news.a", true, true, "'=' over a one-letter word: one word and one character agree"},
		{"news.=", "news.ab", true, false, "'=' is one word for us, one character for Python"},
		{"logs.=.error", "logs.app.error", true, false, "the documented example; Python reaches it only when the middle word is one letter"},
		{"=", "ab", true, false, "'=' alone: one word for us, one character for Python"},
		{"=.=", "abc", false, true, "'.' is unescaped in Python and matches any character, so '=.=' is any three characters"},
		{"a.b", "axb", false, true, "a literal pattern: Python's '.' matches the 'x'"},
		{"logs.+", "logs.error", true, true, "'+' over one word"},
		{"logs.+", "logs.app.module.error", true, true, "'+' over several words: Python's class for '+' includes '.'"},
		{"logs.+", "logs", false, false, "'+' needs a word for us; Python's unescaped '.' needs a character after \"logs\""},
		{"logs.+", "logs.", false, true, "Python's '+' is zero characters; \"logs.\" has an empty word and is not a topic for us"},
		{"logs.+", "logsx", false, true, "Python's '.' takes the 'x' and '+' takes nothing"},
		{"+", "a.b", true, true, "'+' alone matches every topic"},
		{"+", ".a", false, true, "Python publishes topics with empty words; we reject them"},
		{"a.+", "a..b", false, true, "a Python topic with an empty word reaches '+'; it is not a topic for us"},
		{"a.+.b", "a..b", false, true, "Python's '+' between two dots is zero characters"},
		{"a.+.b", "a.x.y.b", true, true, "'+' in the middle over two words"},
		{"news.=x", "news.ax", false, true, "Python accepts a wildcard inside a word; we refuse the channel topic and route nothing to it"},
		{"x+y", "x.y", false, true, "Python's '+' inside a word is any characters, dots included; not a pattern for us"},
	}
}
