//go:build interop

package interop

import (
	"fmt"
	"slices"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub/internal/proctest"
)

// Case 6: subscribers of both languages on one topic, two each (one on the
// exact topic, one with '+'), while a Go and a Python publisher publish 50
// messages each at the same time. Every publish counts the four channels;
// every subscriber gets its own copy of all 100 messages, each publisher's
// in its order, under the same id in every channel.
func TestFanOut(t *testing.T) {
	t.Parallel()
	const perPublisher = 50
	home := newHome(t)
	type subscriber struct {
		side  side
		mode  string
		topic string
	}
	subs := []subscriber{
		{goSide, "next", "fan.out"},
		{goSide, "subscribe", "fan.+"},
		{pySide, "fetch", "fan.out"},
		{pySide, "subscribe", "fan.+"},
	}
	procs := make([]*proctest.Proc, len(subs))
	dirs := make([]string, len(subs))
	for i, s := range subs {
		procs[i] = start(t, home, s.side, nil, "sub", "-mode", s.mode, s.topic)
	}
	for i, p := range procs {
		dirs[i] = live(t, p)
	}

	sent := map[side][]msg{goSide: sequence("fan.out", perPublisher, "go"), pySide: sequence("fan.out", perPublisher, "python")}
	pubs := map[side]*proctest.Proc{}
	for _, s := range []side{goSide, pySide} {
		pubs[s] = start(t, home, s, nil, "pub", pubFile(t, sent[s]))
	}
	// want[subscriber][publisher]: what each channel must receive.
	want := make([]map[side][]msg, len(subs))
	for i := range want {
		want[i] = map[side][]msg{}
	}
	var goIDs []string
	for _, s := range []side{goSide, pySide} {
		p := pubs[s]
		for i := range perPublisher {
			var r pubResult
			decodeLine(t, p, p.Line(), &r)
			var missed []string
			if s == pySide {
				missed = missedByCollision(t, i, r)
			} else {
				goIDs = append(goIDs, r.ID)
			}
			if r.Err != "" || r.N != len(subs)-len(missed) {
				t.Fatalf("%v publish #%d: reached %d channels (err %q), want %d", s, i, r.N, r.Err, len(subs)-len(missed))
			}
			for c, dir := range dirs {
				if !slices.Contains(missed, dir) {
					want[c][s] = append(want[c][s], sent[s][i])
				}
			}
		}
		expectExit(t, p)
	}

	idOf := map[string]string{} // content -> id, across channels
	for c, p := range procs {
		name := fmt.Sprintf("%v %s %s", subs[c].side, subs[c].mode, subs[c].topic)
		n := len(want[c][goSide]) + len(want[c][pySide])
		recs := readRecords(t, p, n)
		p.Signal(syscall.SIGTERM)
		extra, done := readUntilDone(t, p)
		if len(extra) > 0 {
			t.Errorf("%s: %d messages more than published", name, len(extra))
		}
		wantDone := map[string]string{
			"next": fmt.Sprintf("done %d signal", n), "fetch": fmt.Sprintf("done %d signal", n),
		}[subs[c].mode]
		if subs[c].mode == "subscribe" {
			wantDone = map[side]string{goSide: fmt.Sprintf("done %d signal:terminated", n), pySide: fmt.Sprintf("done %d -1", n)}[subs[c].side]
		}
		if done != wantDone {
			t.Errorf("%s: %q, want %q", name, done, wantDone)
		}
		expectExit(t, p)

		bySender := map[side][]record{}
		for _, r := range recs {
			from := goSide
			if slices.Contains(r.Headers, [3]string{"from", "str", "python"}) {
				from = pySide
			}
			bySender[from] = append(bySender[from], r)
			if id, ok := idOf[*r.Content]; ok && id != r.ID {
				t.Errorf("%s: %q has id %s here, %s in another channel", name, *r.Content, r.ID, id)
			}
			idOf[*r.Content] = r.ID
		}
		checkStream(t, name+", from Go", bySender[goSide], want[c][goSide], goIDs, 0, nowMicro())
		checkStream(t, name+", from Python", bySender[pySide], want[c][pySide], nil, 0, nowMicro())
	}
}
