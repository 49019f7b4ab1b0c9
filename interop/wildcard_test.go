//go:build interop

package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub/internal/proctest"
	"github.com/pubsub-go/pubsub/internal/topic"
)

// The observed wildcard table lives in docs/INTEROP.md, between these two
// lines, which TestWildcards checks and, with -update, rewrites.
const (
	wildcardDoc   = "../docs/INTEROP.md"
	wildcardBegin = "<!-- BEGIN TestWildcards: written by interop/wildcard_test.go; rewrite with -update -->\n"
	wildcardEnd   = "<!-- END TestWildcards -->\n"
)

// wildcardRun is one home in which every channel topic of the table is
// subscribed to in both languages, and one publisher publishes every
// topic of the table.
type wildcardRun struct {
	publisher side
	// refused[s][pattern]: side s refused the channel topic.
	refused map[side]map[string]bool
	// topicRefused[topic]: the publisher refused the topic.
	topicRefused map[string]bool
	// reached[s][pattern][topic]: the channel of side s got the topic.
	reached map[side]map[string]map[string]bool
}

func runWildcards(t *testing.T, publisher side, patterns, topics []string) *wildcardRun {
	t.Helper()
	home := newHome(t)
	w := &wildcardRun{
		publisher:    publisher,
		refused:      map[side]map[string]bool{goSide: {}, pySide: {}},
		topicRefused: map[string]bool{},
		reached:      map[side]map[string]map[string]bool{goSide: {}, pySide: {}},
	}
	subs := map[side]*proctest.Proc{}
	for _, s := range []side{goSide, pySide} {
		subs[s] = start(t, home, s, nil, "sub", patterns...)
	}
	for _, s := range []side{goSide, pySide} {
		for _, pattern := range patterns {
			l := subs[s].Line()
			if strings.HasPrefix(l, "live ") {
				w.reached[s][pattern] = map[string]bool{}
			} else if strings.HasPrefix(l, "refused ") {
				w.refused[s][pattern] = true
			} else {
				t.Fatalf("%v subscriber: %q", s, l)
			}
		}
	}

	msgs := make([]msg, len(topics))
	for i, tp := range topics {
		msgs[i] = msg{Topic: tp, Content: []byte(tp)}
	}
	res, _ := publish(t, home, publisher, nil, msgs)
	counts := map[string]int{}
	for i, r := range res {
		switch {
		case r.Refused:
			w.topicRefused[topics[i]] = true
		case r.Err != "" || len(r.Warnings) > 0:
			t.Fatalf("%v publish %q: %s %q", publisher, topics[i], r.Err, r.Warnings)
		}
		counts[topics[i]] = r.N
	}

	received := map[string]int{}
	dropped := map[string]int{} // reached a Go channel whose own pattern refuses it
	for _, s := range []side{goSide, pySide} {
		subs[s].Signal(syscall.SIGTERM)
		recs, done := readUntilDone(t, subs[s])
		if done != fmt.Sprintf("done %d signal", len(recs)) {
			t.Errorf("%v subscriber: %q after %d messages", s, done, len(recs))
		}
		expectExit(t, subs[s])
		for _, r := range recs {
			if r.Err != "" {
				t.Fatalf("%v channel %s: %s", s, patterns[r.Ch], r.Err)
			}
			w.reached[s][patterns[r.Ch]][r.Topic] = true
			received[r.Topic]++
		}
	}
	if publisher == pySide {
		for _, pattern := range patterns {
			for _, tp := range topics {
				if !w.refused[goSide][pattern] && !w.topicRefused[tp] &&
					topic.PythonMatch(pattern, tp) && !topic.Match(pattern, tp) {
					dropped[tp]++
				}
			}
		}
	}
	// Publish's count is the number of channels that got the message, and
	// the Go channels that dropped it as not theirs.
	for _, tp := range topics {
		if counts[tp] != received[tp]+dropped[tp] {
			t.Errorf("%v publish %q counted %d channels; %d got it and %d dropped it", publisher, tp, counts[tp], received[tp], dropped[tp])
		}
	}
	return w
}

// cell says what happened to the (pattern, topic) case in this run for a
// channel of side ch: "yes", "no", or why it could not be tried.
func (w *wildcardRun) cell(ch side, pattern, tp string) string {
	switch {
	case w.refused[ch][pattern]:
		return "channel refused"
	case w.topicRefused[tp]:
		return "topic refused"
	case w.reached[ch][pattern][tp]:
		return "yes"
	}
	return "no"
}

// Case 8: for every case of the differences table
// (internal/topic.Differences), what actually happens across languages: a
// Go and a Python publisher, each to a Go and a Python channel. The
// publisher decides which channels a topic reaches; a Go channel then
// drops what its own pattern does not match. So Go publishers must give
// the "Ours" column, a Python publisher the "Python" one into a Python
// channel and "Python and Ours" into a Go channel. The observed table is
// the one docs/INTEROP.md shows (see wildcardDoc); -update rewrites it.
func TestWildcards(t *testing.T) {
	t.Parallel()
	diffs := topic.Differences()
	var patterns, topics []string
	for _, d := range diffs {
		if !slices.Contains(patterns, d.Pattern) {
			patterns = append(patterns, d.Pattern)
		}
		if !slices.Contains(topics, d.Topic) {
			topics = append(topics, d.Topic)
		}
	}
	runs := map[side]*wildcardRun{}
	for _, s := range []side{goSide, pySide} {
		runs[s] = runWildcards(t, s, patterns, topics)
	}

	var b bytes.Buffer
	b.WriteString("| Channel topic | Published topic | Go publisher, Go channel | Go publisher, Python channel | Python publisher, Go channel | Python publisher, Python channel | Why |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, d := range diffs {
		fmt.Fprintf(&b, "| `%s` | `%s` |", d.Pattern, d.Topic)
		for _, pub := range []side{goSide, pySide} {
			want := d.Ours
			if pub == pySide {
				want = d.Python
			}
			for _, ch := range []side{goSide, pySide} {
				want := want
				if pub == pySide && ch == goSide {
					want = d.Python && d.Ours
				}
				c := runs[pub].cell(ch, d.Pattern, d.Topic)
				fmt.Fprintf(&b, " %s |", c)
				switch c {
				case "yes", "no", "topic refused":
					if (c == "yes") != want {
						t.Errorf("%v publisher of %q, %v channel %q: %s; the table says %v", pub, d.Topic, ch, d.Pattern, c, want)
					}
				case "channel refused":
					if ch == goSide && d.Ours {
						t.Errorf("Go refused channel %q, which the table says matches %q", d.Pattern, d.Topic)
					}
				}
			}
		}
		fmt.Fprintf(&b, " %s |\n", strings.ReplaceAll(d.Why, "|", `\|`))
	}

	checkWildcardDoc(t, b.Bytes())
}

// checkWildcardDoc compares the table between the markers of docs/INTEROP.md
// with table, or, with -update, writes table there.
func checkWildcardDoc(t *testing.T, table []byte) {
	t.Helper()
	path := filepath.FromSlash(wildcardDoc)
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte(wildcardBegin))
	old, _, ok2 := bytes.Cut(rest, []byte(wildcardEnd))
	if !ok || !ok2 {
		t.Fatalf("%s lacks the lines %q and %q around the wildcard table", path, wildcardBegin, wildcardEnd)
	}
	// A blank line on each side, so Markdown sees a table, not HTML.
	want := slices.Concat([]byte("\n"), table, []byte("\n"))
	if bytes.Equal(old, want) {
		return
	}
	if !*update {
		t.Errorf("the wildcard table of %s differs from what the suite observed (run with -update to rewrite it):\n%s", path, table)
		return
	}
	start := len(doc) - len(rest)
	updated := slices.Concat(doc[:start], want, doc[start+len(old):])
	if err := os.WriteFile(path, updated, 0o644); err != nil {
		t.Fatal(err)
	}
}
