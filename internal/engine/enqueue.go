package engine

import (
	"container/heap"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// probeQueue opens a queue a publish matched. Called with rt.mu held.
func (h *Home) probeQueue(rt *route) error {
	q, err := h.openQueue(rt.queue)
	switch {
	case errors.Is(err, ErrNoQueue):
		h.routes.dirty.Store(true)
		rt.state.Store(skipped)
		return nil
	case err != nil:
		return err
	}
	rt.q = q
	rt.state.Store(usable)
	return nil
}

// enqueue puts the staged message into a queue: one link into ready/,
// under a name that orders it after what came before, and a record in
// the FIFO to wake a worker. Called with rt.mu held.
func (h *Home) enqueue(rt *route, s *staged) (bool, error) {
	q := rt.q
	if !q.admit(s.size) && !(q.cfg.DropOldest && q.dropOldest(s.size)) {
		q.state.add(offRejected, 1)
		return false, fmt.Errorf("%w: %s holds %d messages of %d bytes in all, and takes at most %d messages, %d bytes",
			ErrQueueFull, q.name, q.state.load(offMessages), q.state.load(offBytes), q.cfg.MaxMessages, q.cfg.MaxBytes)
	}
	k := queueKey{entered: uint64(time.Now().UnixNano()), id: s.id}
	for {
		err := s.link(q.readyFD, readyName(k, 0))
		if errors.Is(err, fsys.ErrExist) {
			k.entered++ // the same id in the same nanosecond: the next one
			continue
		}
		if err != nil {
			q.uncount(s.size)
			if errors.Is(err, fs.ErrNotExist) {
				h.routes.dirty.Store(true) // removed
				return false, nil
			}
			return false, fmt.Errorf("link message into queue: %w", err)
		}
		break
	}
	rt.notify(k, 0)
	return true, nil
}

// notify writes a record of a message made ready into the queue's FIFO,
// for a worker to claim it. With no worker attached, or a FIFO full, the
// count of messages made ready unnotified tells workers to list ready/.
// Called with rt.mu held.
func (rt *route) notify(k queueKey, n int) {
	if rt.nt == nil {
		rt.nt = newNotifier()
	}
	if !notifyQueue(rt.q, rt.nt, k, n) {
		rt.q.state.add(offUnnotfied, 1)
	}
}

// dropOldest makes room for a message of size bytes by dropping the
// oldest ready messages, as the drop-oldest policy says, and counts it in.
// It fails when nothing ready is left to drop (every message is in
// flight or delayed).
func (q *queueDir) dropOldest(size int64) bool {
	q.dropMu.Lock()
	defer q.dropMu.Unlock()
	for range 64 {
		if len(q.drop) == 0 {
			q.drop = oldestNames(q.readyFD, 4096, func(name string) bool {
				_, _, ok := parseReadyName(name)
				return ok
			})
			if len(q.drop) == 0 {
				return false
			}
		}
		name := q.drop[0]
		q.drop = q.drop[1:]
		st, err := fsys.Fstatat(q.readyFD, name)
		if err != nil || fsys.Unlinkat(q.readyFD, name) != nil {
			continue // claimed or dropped by another process meanwhile
		}
		q.uncount(st.Size)
		q.state.add(offDropped, 1)
		if q.admit(size) {
			return true
		}
	}
	return false
}

// oldestNames lists the directory dirFD and returns, sorted, the max
// smallest names that keep accepts: the oldest, for names that sort by
// age. A directory of a million names costs a heap of max in memory.
func oldestNames(dirFD, max int, keep func(string) bool) []string {
	h := nameHeap{}
	_ = fsys.EachName(dirFD, func(name string) {
		switch {
		case !keep(name):
		case len(h) < max:
			heap.Push(&h, name)
		case name < h[0]:
			h[0] = name
			heap.Fix(&h, 0)
		}
	})
	slices.Sort(h)
	return h
}

// nameHeap is a max-heap of names: its top is the newest of the oldest.
type nameHeap []string

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h nameHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *nameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
