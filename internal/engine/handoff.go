package engine

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// Waking one worker, not all. Workers parked on the queue's FIFO all wake
// for each record written into it (every descriptor of a FIFO in the
// poller is told), and all but one find nothing: with four idle workers,
// three wake-ups in vain a message, most of a worker's CPU. So a worker
// that is about to park announces itself in a slot of the queue's state
// page, and parks on a FIFO of its own (workers/{id}/notify); a publisher
// takes an idle worker's slot (one compare-and-swap) and writes the record
// into that worker's FIFO: one wake-up. Only when no worker is idle does
// the record go into the queue's FIFO, which busy workers read before they
// park; a worker that parked meanwhile is then sent an empty record, to
// look there. A queue with more workers than slots gives the others none:
// they park on the queue's FIFO, as before.

const (
	offSlots  = 256 // the slots, after the counters
	slotSize  = 32  // state, pid, random word
	slotCount = 64

	slotFree = 0
	slotBusy = 1 // its worker is working, or is being handed a record
	slotIdle = 2 // its worker is parked on its own FIFO
)

func (s queueState) slot(i int) (state, pid, rnd *atomic.Int64) {
	off := offSlots + i*slotSize
	at := func(o int) *atomic.Int64 { return (*atomic.Int64)(unsafe.Pointer(&s.mem[off+o])) }
	return at(0), at(8), at(16)
}

// claimSlot takes a free slot for the worker id ({pid}-{8 characters});
// -1 if none is free.
func (q *queueDir) claimSlot(id string) int {
	pid, rnd, ok := splitWorkerID(id)
	if !ok {
		return -1
	}
	for i := range slotCount {
		state, p, r := q.state.slot(i)
		if state.CompareAndSwap(slotFree, slotBusy) {
			p.Store(pid)
			r.Store(rnd)
			return i
		}
	}
	return -1
}

// freeSlots frees the slots of the worker id, dead or gone.
func (q *queueDir) freeSlots(id string) {
	pid, rnd, ok := splitWorkerID(id)
	if !ok {
		return
	}
	for i := range slotCount {
		state, p, r := q.state.slot(i)
		if s := state.Load(); s != slotFree && p.Load() == pid && r.Load() == rnd {
			state.CompareAndSwap(s, slotFree)
		}
	}
}

// splitWorkerID reads a worker id as the two numbers a slot holds.
func splitWorkerID(id string) (pid, rnd int64, ok bool) {
	if !validWorkerID(id) {
		return 0, 0, false
	}
	i := len(id) - 9
	p, err := strconv.ParseInt(id[:i], 10, 64)
	return p, int64(binary.BigEndian.Uint64([]byte(id[i+1:]))), err == nil
}

// slotWorkerID is the id of the worker a slot's numbers name.
func slotWorkerID(pid, rnd int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(rnd))
	return strconv.FormatInt(pid, 10) + "-" + string(b[:])
}

// notifier writes the records of messages made ready: into an idle
// worker's FIFO, or the queue's. Each process that makes messages ready
// has one per queue; not safe for concurrent use.
type notifier struct {
	shared int            // the queue's FIFO, -1 until opened
	own    map[int]handFD // a worker's FIFO, by slot
}

type handFD struct {
	id string
	fd int
}

func newNotifier() *notifier { return &notifier{shared: -1} }

func (nt *notifier) close() {
	if nt == nil {
		return
	}
	fsys.Close(nt.shared)
	for _, h := range nt.own {
		fsys.Close(h.fd)
	}
	nt.shared, nt.own = -1, nil
}

// notifyQueue makes the record of k, n known: to one idle worker, else in
// q's FIFO, where busy workers look before they park. It reports whether
// it went anywhere; if not, the caller counts the message unnotified.
func notifyQueue(q *queueDir, nt *notifier, k queueKey, n int) bool {
	var rec [queueRecordSize]byte
	b := appendQueueRecord(rec[:0], k, n)
	if nt.handOff(q, b) {
		return true
	}
	if nt.shared < 0 {
		fd, err := fsys.OpenFIFOWriter(q.dirFD, queueNotify)
		if err != nil {
			return false // no reader: no worker attached
		}
		nt.shared = fd
	}
	err := fsys.WriteRecord(nt.shared, b)
	if err == fsys.ErrBrokenPipe {
		fsys.Close(nt.shared) // the last worker left: open again next time
		nt.shared = -1
	}
	if err != nil {
		return false
	}
	// A worker that went idle after handOff looked has parked on its own
	// FIFO: tell it to look at the queue's.
	var wake [queueRecordSize]byte
	nt.handOff(q, wake[:])
	return true
}

// handOff writes rec into the FIFO of one idle worker, taking its slot.
func (nt *notifier) handOff(q *queueDir, rec []byte) bool {
	for i := range slotCount {
		state, pid, rnd := q.state.slot(i)
		if state.Load() != slotIdle || !state.CompareAndSwap(slotIdle, slotBusy) {
			continue
		}
		id := slotWorkerID(pid.Load(), rnd.Load())
		h, ok := nt.own[i]
		if !ok || h.id != id {
			if ok {
				fsys.Close(h.fd) // the slot's worker before this one
			}
			fd, err := fsys.OpenFIFOWriter(q.workersFD, id+"/"+queueNotify)
			if err != nil {
				// Gone (closed, or dead and not yet found so): its slot
				// is no one's.
				delete(nt.own, i)
				state.CompareAndSwap(slotBusy, slotFree)
				continue
			}
			if nt.own == nil {
				nt.own = map[int]handFD{}
			}
			h = handFD{id: id, fd: fd}
			nt.own[i] = h
		}
		if fsys.WriteRecord(h.fd, rec) == nil {
			return true
		}
		fsys.Close(h.fd)
		delete(nt.own, i)
	}
	return false
}
