package topic_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub/internal/topic"
)

var matchCases = []struct {
	name           string
	pattern, topic string
	want           bool
}{
	// literal patterns
	{"literal equal", "logs.error", "logs.error", true},
	{"literal one word", "a", "a", true},
	{"literal differs", "logs.error", "logs.warn", false},
	{"literal prefix", "logs", "logs.error", false},
	{"literal longer", "logs.error", "logs", false},
	{"literal case", "Logs", "logs", false},
	{"literal dot is a dot", "a.b", "axb", false},

	// '=' exactly one word
	{"= middle", "logs.=.error", "logs.app.error", true},
	{"= middle missing", "logs.=.error", "logs.error", false},
	{"= middle two words", "logs.=.error", "logs.a.b.error", false},
	{"= end", "news.=", "news.ab", true},
	{"= end one letter", "news.=", "news.a", true},
	{"= end no word", "news.=", "news", false},
	{"= end two words", "news.=", "news.a.b", false},
	{"= start", "=.error", "app.error", true},
	{"= start two words", "=.error", "a.b.error", false},
	{"= alone", "=", "anything", true},
	{"= alone two words", "=", "a.b", false},
	{"=.=", "=.=", "a.b", true},
	{"=.= one word", "=.=", "abc", false},
	{"= hyphen word", "=", "-", true},

	// '+' one or more words
	{"+ end one", "logs.+", "logs.error", true},
	{"+ end many", "logs.+", "logs.app.module.error", true},
	{"+ end none", "logs.+", "logs", false},
	{"+ end empty word", "logs.+", "logs.", false},
	{"+ end joined", "logs.+", "logsx", false},
	{"+ start", "+.error", "app.error", true},
	{"+ start many", "+.error", "a.b.c.error", true},
	{"+ start none", "+.error", "error", false},
	{"+ start wrong tail", "+.error", "a.b.warn", false},
	{"+ middle", "a.+.z", "a.b.z", true},
	{"+ middle many", "a.+.z", "a.b.c.d.z", true},
	{"+ middle none", "a.+.z", "a.z", false},
	{"+ alone", "+", "a", true},
	{"+ alone many", "+", "a.b.c", true},
	{"+ then literal repeated", "+.a", "a.a.a", true},
	{"+ greedy must give back", "+.a.b", "a.b.a.b", true},
	{"+ backtrack fails", "+.a.b", "a.b.a.c", false},

	// several wildcards
	{"+ twice", "a.+.b.+", "a.x.b.y", true},
	{"+ twice many", "a.+.b.+", "a.x.y.b.z.b.w", true},
	{"+ twice no tail", "a.+.b.+", "a.x.b", false},
	{"+.+", "+.+", "a.b", true},
	{"+.+ one word", "+.+", "a", false},
	{"+.+ many", "+.+", "a.b.c.d", true},
	{"= and +", "=.+", "a.b", true},
	{"= and + one word", "=.+", "a", false},
	{"+ and =", "+.=", "a.b.c", true},
	{"+ and = one word", "+.=", "a", false},
	{"mixed", "+.=.x.+", "p.q.r.x.s", true},
	{"mixed no x", "+.=.x.+", "p.q.r.y.s", false},
	{"mixed = needs word", "+.=.x.+", "p.x.s", false},
	{"=.=.= three", "=.=.=", "a.b.c", true},
	{"=.=.= four", "=.=.=", "a.b.c.d", false},

	// invalid topics never match
	{"empty topic", "+", "", false},
	{"topic leading dot", "+", ".a", false},
	{"topic empty word", "a.+", "a..b", false},
	{"topic empty word under =", "a.=.b", "a..b", false},
	{"topic wildcard", "+", "a.+", false},
	{"topic wildcard literal", "a.=", "a.=", false},
	{"topic bad char", "+", "a_b", false},
	{"topic unicode", "=", "café", false},
	{"topic empty word late", "+.z", "a.b..z", false},

	// invalid patterns never match
	{"empty pattern", "", "", false},
	{"pattern bad char", "a_b", "a_b", false},
	{"pattern partial =", "news.=x", "news.ax", false},
	{"pattern partial = literal", "news.=x", "news.=x", false},
	{"pattern partial +", "x+y", "x.y", false},
	{"pattern empty word", "a..b", "a..b", false},
	{"pattern bad char with +", "a_b.+", "a_b.c", false},
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		t.Run(c.name, func(t *testing.T) {
			if got := topic.Match(c.pattern, c.topic); got != c.want {
				t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.want)
			}
			p, err := topic.Compile(c.pattern)
			if err != nil {
				if c.want {
					t.Fatalf("Compile(%q): %v", c.pattern, err)
				}
				return
			}
			if got := p.Match(c.topic); got != c.want {
				t.Errorf("Compile(%q).Match(%q) = %v, want %v", c.pattern, c.topic, got, c.want)
			}
			if topic.ValidateTopic(c.topic) == nil {
				if got := oracle(c.pattern).MatchString(c.topic); got != c.want {
					t.Errorf("the oracle says %v for Match(%q, %q); the table is wrong", got, c.pattern, c.topic)
				}
			}
		})
	}
}

// TestMatchExhaustive compares Match with the oracle on every pattern of
// up to 4 words from {a, b, =, +} against every topic of up to 6 words
// from {a, b}: every arrangement of wildcards the matcher has to handle.
func TestMatchExhaustive(t *testing.T) {
	patterns := sentences([]string{"a", "b", "=", "+"}, 4)
	topics := sentences([]string{"a", "b"}, 6)
	n := 0
	for _, ps := range patterns {
		re := oracle(ps)
		p, err := topic.Compile(ps)
		if err != nil {
			t.Fatalf("Compile(%q): %v", ps, err)
		}
		for _, ts := range topics {
			want := re.MatchString(ts)
			if got := topic.Match(ps, ts); got != want {
				t.Errorf("Match(%q, %q) = %v, oracle %v", ps, ts, got, want)
			}
			if got := p.Match(ts); got != want {
				t.Errorf("Compile(%q).Match(%q) = %v, oracle %v", ps, ts, got, want)
			}
			n++
		}
	}
	t.Logf("%d pairs", n)
}

// sentences returns every '.'-joined sequence of 1 to max words.
func sentences(words []string, max int) []string {
	var out, level []string
	level = []string{""}
	for range max {
		var next []string
		for _, prefix := range level {
			for _, w := range words {
				if prefix != "" {
					w = prefix + "." + w
				}
				next = append(next, w)
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// oracle translates a valid pattern into a regular expression over whole
// words.
func oracle(pattern string) *regexp.Regexp {
	const word = `[A-Za-z0-9-]+`
	parts := strings.Split(pattern, ".")
	for i, w := range parts {
		switch w {
		case "=":
			parts[i] = word
		case "+":
			parts[i] = word + `(?:\.` + word + `)*`
		default:
			parts[i] = regexp.QuoteMeta(w)
		}
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `\.`) + `$`)
}

// TestMatchWorstCase would take exponential time with a backtracking
// matcher that tries every split between the '+'s.
func TestMatchWorstCase(t *testing.T) {
	cases := []struct {
		name           string
		pattern, topic string
		want           bool
	}{
		{"7 + then x, 60 words", "+.+.+.+.+.+.+.x", strings.Repeat("a.", 59) + "a", false},
		{"7 + then x, 60 words, match", "+.+.+.+.+.+.+.x", strings.Repeat("a.", 59) + "x", true},
		{"500 + then x, 5000 words", strings.Repeat("+.", 500) + "x", strings.Repeat("a.", 4999) + "a", false},
		{"+.a pairs", strings.Repeat("+.a.", 300) + "b", strings.Repeat("a.", 5000) + "c", false},
		{"= and + alternating", strings.Repeat("=.+.", 300) + "b", strings.Repeat("a.", 5000) + "b", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := topic.Match(c.pattern, c.topic); got != c.want {
				t.Errorf("Match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestPattern(t *testing.T) {
	cases := []struct {
		in      string
		literal bool
	}{
		{"a", true},
		{"logs.app.error", true},
		{"=", false},
		{"+", false},
		{"logs.+", false},
		{"+.error", false},
		{"a.=.b.+.c", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, err := topic.Compile(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != c.in || p.Literal() != c.literal {
				t.Errorf("Compile(%q) = %q, Literal %v; want Literal %v", c.in, p, p.Literal(), c.literal)
			}
			if topic.HasWildcard(c.in) == c.literal {
				t.Errorf("HasWildcard(%q) disagrees with Literal", c.in)
			}
		})
	}
	t.Run("zero value", func(t *testing.T) {
		var p topic.Pattern
		for _, s := range []string{"", "a", "a.b"} {
			if p.Match(s) {
				t.Errorf("zero Pattern matches %q", s)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		p, err := topic.Compile("a..b")
		if err == nil || p != (topic.Pattern{}) {
			t.Errorf("Compile(\"a..b\") = %v, %v; want the zero Pattern and an error", p, err)
		}
	})
}

func TestMatchAllocs(t *testing.T) {
	p, err := topic.Compile("logs.+.=.error")
	if err != nil {
		t.Fatal(err)
	}
	lit, err := topic.Compile("logs.app.error")
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		topic.Match("logs.+.=.error", "logs.a.b.c.error")
		topic.Match("logs.+.=.error", "logs..b.c.error")
		topic.Match("logs.app.error", "logs.app.error")
		p.Match("logs.a.b.c.error")
		p.Match("logs.a.b.c.warn")
		lit.Match("logs.app.error")
	})
	if n != 0 {
		t.Errorf("Match allocates %v times, want 0", n)
	}
}

func BenchmarkMatchLiteral(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		topic.Match("logs.app.error", "logs.app.error")
	}
}

func BenchmarkMatchPlus(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		topic.Match("logs.+.error", "logs.app.module.sub.error")
	}
}

// BenchmarkRoute is the publisher's work: one topic against the compiled
// patterns of 1000 channels, a third literal, a third with '+' and a third
// with '='.
func BenchmarkRoute(b *testing.B) {
	var patterns []topic.Pattern
	for i := range 1000 {
		var s string
		switch i % 3 {
		case 0:
			s = fmt.Sprintf("svc%d.app.error", i)
		case 1:
			s = fmt.Sprintf("svc%d.+", i)
		case 2:
			s = fmt.Sprintf("=.svc%d.=", i)
		}
		p, err := topic.Compile(s)
		if err != nil {
			b.Fatal(err)
		}
		patterns = append(patterns, p)
	}
	const t = "svc501.app.error"
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, p := range patterns {
			if p.Match(t) {
				n++
			}
		}
		if n != 1 {
			b.Fatalf("%d patterns match %q, want 1", n, t)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := topic.Compile("logs.+.=.error"); err != nil {
			b.Fatal(err)
		}
	}
}
