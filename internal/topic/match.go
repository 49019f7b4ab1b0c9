package topic

import "strings"

// Match reports whether topic matches pattern, word by word: '=' is one
// word, '+' one or more. An invalid pattern or topic matches nothing.
//
// It allocates nothing and takes O(len(pattern)*len(topic)) time at
// worst. To match one topic against many patterns, [Compile] them.
func Match(pattern, topic string) bool {
	if !HasWildcard(pattern) {
		return pattern == topic && isTopic(topic)
	}
	if p, _ := scan(pattern, true); p != fine {
		return false
	}
	return matchWords(pattern, topic, 0, 0)
}

// Pattern is a compiled channel topic. Matching a literal pattern (one
// with no wildcard) is a string comparison; a pattern with wildcards first
// rejects topics by length and by its literal head and tail, which is what
// most channels in a home do for most topics.
//
// The zero Pattern matches nothing. A Pattern is a small value, safe to
// copy and to use concurrently.
type Pattern struct {
	s       string
	literal bool
	prefix  int // bytes of s before its first wildcard: whole words and their '.'
	suffix  int // bytes of s after its last wildcard
}

// Compile validates p as a channel topic (see [ValidatePattern]) and
// returns its compiled form, or an *[Error].
func Compile(p string) (Pattern, error) {
	if err := ValidatePattern(p); err != nil {
		return Pattern{}, err
	}
	c := Pattern{s: p, literal: !HasWildcard(p)}
	if !c.literal {
		// In a valid pattern a wildcard character is a whole word, so
		// these offsets fall on word boundaries.
		c.prefix = strings.IndexAny(p, "=+")
		c.suffix = len(p) - strings.LastIndexAny(p, "=+") - 1
	}
	return c, nil
}

// Match reports whether topic matches p. An invalid topic matches nothing.
// It allocates nothing.
func (p Pattern) Match(topic string) bool {
	if p.literal {
		return topic == p.s // p.s is valid, so an equal topic is too
	}
	// Each wildcard is one byte in the pattern and stands for at least one
	// byte of the topic, so a matching topic is never shorter.
	if p.s == "" || len(topic) < len(p.s) ||
		topic[:p.prefix] != p.s[:p.prefix] ||
		topic[len(topic)-p.suffix:] != p.s[len(p.s)-p.suffix:] {
		return false
	}
	return matchWords(p.s, topic, p.prefix, p.prefix)
}

// String returns the pattern as it was compiled.
func (p Pattern) String() string { return p.s }

// Literal reports whether p has no wildcard, so that only the identical
// topic matches it.
func (p Pattern) Literal() bool { return p.literal }

func isTopic(t string) bool {
	pr, _ := scan(t, false)
	return pr == fine
}

// wordEnd returns the offset of the '.' ending the word that starts at i,
// or len(s).
func wordEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '.'); j >= 0 {
		return i + j
	}
	return len(s)
}

// matchWords matches topic against a valid pattern, starting at word
// offsets pi and ti. An offset past the end means all words are used.
//
// '+' is '=' followed by glob's '*' over words, so this is the classic
// glob matcher: on a mismatch, only the last '+' seen needs to absorb one
// more word and retry, because it can absorb anything an earlier '+'
// could. That bounds the work by words(pattern)*words(topic), with no
// exponential backtracking.
//
// The topic is not validated first: a word equal to a literal word of a
// valid pattern is valid, and a word a wildcard takes is checked as it is
// taken, so an invalid topic never matches.
func matchWords(pattern, topic string, pi, ti int) bool {
	starP, starT := -1, 0 // pattern and topic offsets just after the last '+'
	for ti <= len(topic) {
		te := wordEnd(topic, ti)
		if pi <= len(pattern) {
			pe := wordEnd(pattern, pi)
			switch w := pattern[pi:pe]; w {
			case "+", "=":
				if !isWord(topic[ti:te]) {
					return false // nothing in a valid pattern matches it
				}
				pi, ti = pe+1, te+1
				if w == "+" {
					starP, starT = pi, ti
				}
				continue
			default:
				if w == topic[ti:te] {
					pi, ti = pe+1, te+1
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// The last '+' takes the word at starT too; retry after it.
		se := wordEnd(topic, starT)
		if !isWord(topic[starT:se]) {
			return false
		}
		starT = se + 1
		pi, ti = starP, starT
	}
	return pi > len(pattern)
}
