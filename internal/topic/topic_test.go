package topic_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub/internal/topic"
)

const (
	topicTail   = "; a topic is words of [A-Za-z0-9-] separated by '.'"
	patternTail = "; a channel topic is words of [A-Za-z0-9-], '=' or '+', separated by '.'"
	inTopic     = "wildcards '=' and '+' are only allowed in channel topics"
	natsPattern = "; '=' stands for one word and '+' for one or more, as '*' and '>' do in NATS"
	natsTopic   = "; wildcards, '=' for one word and '+' for one or more (NATS's '*' and '>'), are only allowed in channel topics"
)

// validationCases gives, for each input, the Reason of ValidateTopic and of
// ValidatePattern; "" means valid.
var validationCases = []struct {
	name, in       string
	topic, pattern string
}{
	{"one word", "a", "", ""},
	{"hyphen", "-", "", ""},
	{"digit", "0", "", ""},
	{"words", "logs.app-1.error", "", ""},
	{"every class", "Az.09.-", "", ""},
	{"long word", strings.Repeat("x", 100_000), "", ""},
	{"many words", strings.Repeat("a.", 10_000) + "a", "", ""},

	{"empty", "", "empty topic", "empty topic"},
	{"empty middle word", "a..b", "empty word at position 2", "empty word at position 2"},
	{"leading dot", ".a", "empty word at position 1", "empty word at position 1"},
	{"trailing dot", "a.", "empty word at position 2", "empty word at position 2"},
	{"dot", ".", "empty word at position 1", "empty word at position 1"},
	{"late empty word", "a.b.c..d", "empty word at position 4", "empty word at position 4"},

	{"underscore", "a_b", "character '_' not allowed", "character '_' not allowed"},
	{"unicode", "café", "character 'é' not allowed", "character 'é' not allowed"},
	{"space", "a b", "character ' ' not allowed", "character ' ' not allowed"},
	{"NUL", "a\x00b", `character '\x00' not allowed`, `character '\x00' not allowed`},
	{"controls", "a\tb\nc", `characters '\t' and '\n' not allowed`, `characters '\t' and '\n' not allowed`},
	{"trailing newline", "a\n", `character '\n' not allowed`, `character '\n' not allowed`},
	{"deduplicated", "a_b c_d e", "characters '_' and ' ' not allowed", "characters '_' and ' ' not allowed"},
	{"three", "a*b?c/d", "characters '*', '?' and '/' not allowed", "characters '*', '?' and '/' not allowed"},
	{"not UTF-8", "a\xffb\xff", `character '\xff' not allowed`, `character '\xff' not allowed`},
	{"replacement char", "a\uFFFD", "character '\uFFFD' not allowed", "character '\uFFFD' not allowed"},
	{"invisible", "a\u200bb", `character '\u200b' not allowed`, `character '\u200b' not allowed`},
	{"quote", "it's", `character '\'' not allowed`, `character '\'' not allowed`},
	{"many", `!"#$%&'()*,/:;<>`,
		`characters '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*' and others not allowed`,
		`characters '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*' and others not allowed`},
	{"chars before structure", "a_..", "character '_' not allowed", "character '_' not allowed"},

	{"wildcard =", "news.=", inTopic, ""},
	{"wildcard +", "news.+", inTopic, ""},
	{"only +", "+", inTopic, ""},
	{"only =", "=", inTopic, ""},
	{"two =", "=.=", inTopic, ""},
	{"several +", "a.+.b.+", inTopic, ""},
	{"mixed", "+.=.x.+", inTopic, ""},
	{"= in word", "news.=x", inTopic, "wildcard '=' must be a whole word"},
	{"+ in word", "x+y", inTopic, "wildcard '+' must be a whole word"},
	{"=+", "=+", inTopic, "wildcard '=' must be a whole word"},
	{"++", "++", inTopic, "wildcard '+' must be a whole word"},
	{"++x", "++x", inTopic, "wildcard '+' must be a whole word"},
	{"empty word first", "a..+x", inTopic, "empty word at position 2"},
	{"partial wildcard first", "+x..a", inTopic, "wildcard '+' must be a whole word"},
	{"chars before wildcards", "a_.+", "character '_' not allowed", "character '_' not allowed"},
	{"wildcard then dot", "+.", inTopic, "empty word at position 2"},
}

func TestValidate(t *testing.T) {
	for _, c := range validationCases {
		t.Run(c.name, func(t *testing.T) {
			checkValidation(t, "ValidateTopic", topic.ValidateTopic(c.in), c.in, c.topic, false)
			checkValidation(t, "ValidatePattern", topic.ValidatePattern(c.in), c.in, c.pattern, true)
			_, err := topic.Compile(c.in)
			checkValidation(t, "Compile", err, c.in, c.pattern, true)
		})
	}
}

func checkValidation(t *testing.T, fn string, err error, in, reason string, pattern bool) {
	t.Helper()
	short := in
	if len(short) > 40 {
		short = short[:40] + "..."
	}
	if reason == "" {
		if err != nil {
			t.Errorf("%s(%q) = %v, want nil", fn, short, err)
		}
		return
	}
	if !errors.Is(err, topic.ErrInvalid) {
		t.Fatalf("%s(%q) = %v, want ErrInvalid", fn, short, err)
	}
	e, ok := errors.AsType[*topic.Error](err)
	if !ok {
		t.Fatalf("%s(%q): %T is not a *topic.Error", fn, short, err)
	}
	if e.Topic != in || e.Reason != reason || e.Pattern != pattern {
		t.Errorf("%s(%q) = {%q, %q, %v}, want reason %q, pattern %v", fn, short, e.Topic, e.Reason, e.Pattern, reason, pattern)
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"bad char", topic.ValidateTopic("a_b"), `pubsub: invalid topic "a_b": character '_' not allowed` + topicTail},
		{"empty word", topic.ValidateTopic("a..b"), `pubsub: invalid topic "a..b": empty word at position 2` + topicTail},
		{"empty", topic.ValidateTopic(""), `pubsub: invalid topic "": empty topic` + topicTail},
		{"partial wildcard", topic.ValidatePattern("news.=x"), `pubsub: invalid channel topic "news.=x": wildcard '=' must be a whole word` + patternTail},
		{"wildcard in topic", topic.ValidateTopic("news.+"), `pubsub: invalid topic "news.+": ` + inTopic},
		{"control char", topic.ValidatePattern("a\x1bb"), `pubsub: invalid channel topic "a\x1bb": character '\x1b' not allowed` + patternTail},
		{"unicode", topic.ValidateTopic("café"), `pubsub: invalid topic "café": character 'é' not allowed` + topicTail},
		// NATS's wildcards: the message says which characters play their role.
		{"NATS star in pattern", topic.ValidatePattern("orders.*"),
			`pubsub: invalid channel topic "orders.*": character '*' not allowed` + patternTail + natsPattern},
		{"NATS gt in pattern", topic.ValidatePattern("logs.>"),
			`pubsub: invalid channel topic "logs.>": character '>' not allowed` + patternTail + natsPattern},
		{"NATS wildcards in topic", topic.ValidateTopic("a.*.>"),
			`pubsub: invalid topic "a.*.>": characters '*' and '>' not allowed` + topicTail + natsTopic},
		{"long", topic.ValidateTopic(strings.Repeat("a", 200) + "_"),
			`pubsub: invalid topic "` + strings.Repeat("a", 128) + `"... (201 bytes): character '_' not allowed` + topicTail},
		// The head is cut on a rune boundary, so the message stays readable.
		{"long unicode", topic.ValidateTopic(strings.Repeat("a", 127) + "ééé"),
			`pubsub: invalid topic "` + strings.Repeat("a", 127) + `"... (133 bytes): character 'é' not allowed` + topicTail},
		{"long, not UTF-8 early", topic.ValidateTopic("\xff" + strings.Repeat("a", 200)),
			`pubsub: invalid topic "\xff` + strings.Repeat("a", 127) + `"... (201 bytes): character '\xff' not allowed` + topicTail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil || c.err.Error() != c.want {
				t.Errorf("got  %v\nwant %s", c.err, c.want)
			}
		})
	}
}

func TestHasWildcard(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "a": false, "a.b": false, "=": true, "+": true, "a.=.b": true, "x+y": true,
	} {
		if got := topic.HasWildcard(in); got != want {
			t.Errorf("HasWildcard(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidateAllocs(t *testing.T) {
	long := strings.Repeat("word.", 50) + "end"
	if n := testing.AllocsPerRun(100, func() {
		_ = topic.ValidateTopic(long)
		_ = topic.ValidatePattern("logs.+.=.x")
	}); n != 0 {
		t.Errorf("validating a good topic allocates %v times, want 0", n)
	}
}
