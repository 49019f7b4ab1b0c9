package engine

import (
	"testing"
	"time"
)

// An id taken by listing is remembered for its late announcement, once,
// and forgotten when no one can draw it any more, which bounds the set.
func TestEarlyTakenForgetsOldIDs(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	idAt := func(at time.Time) uint64 { return uint64(at.UnixMicro())>>idWindowBits<<idWindowBits | 7 }
	var e earlyTaken
	fresh := idAt(now)
	e.add(fresh, now)
	e.add(idAt(now.Add(-10*time.Second)), now) // drawn long ago: no one draws it again
	if len(e.ids) != 1 {
		t.Fatalf("remembered %d ids, want the fresh one only", len(e.ids))
	}
	if !e.late(fresh) {
		t.Fatal("the late announcement of a file taken by listing was not skipped")
	}
	if e.late(fresh) {
		t.Fatal("a second announcement of the id was skipped too: it may name another publisher's file")
	}
	for i := range 1000 {
		at := now.Add(time.Duration(i) * time.Millisecond)
		e.add(idAt(at), at)
	}
	later := now.Add(time.Second + 2*earlyHorizon)
	e.add(idAt(later), later)
	if len(e.ids) != 1 || len(e.order)-e.head != 1 {
		t.Fatalf("after the horizon: %d ids, %d in order; want 1", len(e.ids), len(e.order)-e.head)
	}
}
