package engine

import (
	"context"
	"os"
	"sync/atomic"
	"time"
)

// A reader of a sparse stream, one whose last sparseWaits waits each
// lasted sparseAfter or more and came after at most sparseTaken messages,
// waits the next time in two stages: parked in the runtime poller for
// sparseAfter, then blocked in poll(2), where a publisher's write wakes it
// directly rather than through epoll and the scheduler. At a message a
// millisecond the p50 latency fell to half a bare FIFO's on the machine
// measured (docs/PERFORMANCE.md), at the same CPU; blocked from the start
// of the wait, to 1.1 times. A reader under load waits briefly, or takes
// many messages a wake-up, and stays in the poller, which costs less CPU
// when wake-ups come by the thousand than a thread blocked in a system
// call (the runtime's monitor watches such a thread every 20 µs); one
// long wait, a publisher descheduled for a while, does not make it
// sparse. At most maxBlocked readers of a process block so, as each holds
// a thread. A variable for the tests.
var sparseAfter = 200 * time.Microsecond

const (
	sparseTaken = 2 // at most this many messages between two waits
	sparseWaits = 3
	maxBlocked  = 8
)

var blockedReaders atomic.Int32

// pace tells a reader of a sparse stream from a busy one. Guarded by the
// reader's turn.
type pace struct {
	taken     int // messages taken since the last wait
	longWaits int // long waits in a row
}

func (p *pace) sparse() bool { return p.longWaits >= sparseWaits }

// waited counts the wait that began at start: long, unless ctx ended it.
func (p *pace) waited(ctx context.Context, start time.Time) {
	if p.taken <= sparseTaken && time.Since(start) >= sparseAfter && ctx.Err() == nil {
		p.longWaits = min(p.longWaits+1, sparseWaits)
	} else {
		p.longWaits = 0
	}
	p.taken = 0
}

// block waits through read, blocked in poll(2), or through inPoller when
// maxBlocked readers of the process are blocked already. blocked tells
// the context hook and Close that a wake-up record is needed: it is said
// before ctx and closed are looked at, which say it after they are done,
// so one side sees the other. Its error is os.ErrDeadlineExceeded when it
// returns at once for the caller to see that ctx is done or the reader
// closed.
func block(ctx context.Context, closed func() bool, blocked *atomic.Bool, read, inPoller func() error) error {
	if blockedReaders.Add(1) > maxBlocked {
		blockedReaders.Add(-1)
		return inPoller()
	}
	defer blockedReaders.Add(-1)
	blocked.Store(true)
	defer blocked.Store(false)
	if ctx.Err() != nil || closed() {
		return os.ErrDeadlineExceeded
	}
	return read()
}
