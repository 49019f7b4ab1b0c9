package engine

import "time"

// earlyTaken remembers the ids of message files a reader took by listing
// its directory, before their publisher announced them. A Go publisher
// whose FIFO was full announces such a file late (wire.AppendLate); by
// then the file is gone and its id is free, and another publisher may have
// drawn the same id for a newer message. The late announcement must skip,
// not take that message ahead of its own announcement.
//
// An id is drawn from the clock's current 65 ms window or later, so once
// the clock has left an id's window well behind, no one draws it again and
// a late announcement of it finds no file: it is forgotten then, which
// bounds the set by what a reader takes in earlyHorizon.
type earlyTaken struct {
	ids   map[uint64]struct{}
	order []uint64 // ids in the order taken, from head on, to forget the old ones
	head  int
}

// earlyHorizon is how long after its window an id is remembered: longer
// than any publisher takes between drawing an id and linking its file.
const earlyHorizon = time.Second

// idWindowBits are the low bits of an id that do not come from the clock.
const idWindowBits = 16

// horizon returns the smallest id that may still be drawn, less
// earlyHorizon.
func horizon(now time.Time) uint64 {
	us := uint64(now.Add(-earlyHorizon).UnixMicro())
	return us >> idWindowBits << idWindowBits
}

// add remembers id, taken by listing the directory.
func (e *earlyTaken) add(id uint64, now time.Time) {
	e.forget(now)
	if id < horizon(now) {
		return // too old to be drawn again
	}
	if e.ids == nil {
		e.ids = map[uint64]struct{}{}
	}
	e.ids[id] = struct{}{}
	e.order = append(e.order, id)
}

// late reports whether a late announcement of id names a file taken
// already, and forgets it: the announcement is to be skipped.
func (e *earlyTaken) late(id uint64) bool {
	if _, ok := e.ids[id]; !ok {
		return false
	}
	delete(e.ids, id)
	return true
}

// forget drops the ids no one can draw any more.
func (e *earlyTaken) forget(now time.Time) {
	h := horizon(now)
	for e.head < len(e.order) && e.order[e.head] < h {
		delete(e.ids, e.order[e.head])
		e.head++
	}
	if e.head > len(e.order)/2 {
		e.order = append(e.order[:0], e.order[e.head:]...)
		e.head = 0
	}
}
