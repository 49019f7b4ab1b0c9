package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// A worker takes messages from a queue, each by one rename: from ready/
// to claimed/, under a name that says who holds it and until when. The
// rename is the claim: two workers never hold one message, and no lock
// is taken around the queue. It acknowledges a message by removing it,
// and gives it back by renaming it to ready/ (or delayed/, or dead/ once
// delivered MaxDeliveries times). A worker that dies holds its messages
// until another one, or the next to start, finds its lock free and gives
// them back; so does a lease that ran out.

// recoverEvery is how often a worker looks for messages to give back
// (dead workers', leases run out, delays over) while it has work, and how
// long it parks when it has none.
var recoverEvery = time.Second

// Worker is one process's attachment to a queue.
type Worker struct {
	home *Home
	q    *queueDir
	id   string
	log  *slog.Logger

	homeFD int      // the home, its own: the Home may be closed first
	tmpFD  int      // HOME/tmp, as well
	dirFD  int      // workers/{id}
	lockFD int      // its lock, held while the worker lives
	keepFD int      // our write end of the FIFO, so reads never see EOF
	fifo   *os.File // read end, in the runtime poller
	rc     syscall.RawConn
	nt     *notifier // records of messages this worker makes ready

	// Its own FIFO, on which it parks while its slot says idle (handoff.go).
	slot       int // -1: no slot free; it parks on the queue's FIFO
	own        *os.File
	ownKeep    int
	ownRC      syscall.RawConn
	ownBlocked atomic.Bool // waiting on it blocked in poll(2) (see wait)

	turn turn // one reader at a time, as a Channel's
	done chan struct{}

	// Guarded by turn.
	rec       [queueRecordSize]byte
	haveRec   bool     // rec holds a record wait read, not taken yet
	scanned   []string // ready names found by listing, oldest first
	listedGen int64    // the count of unnotified messages at the last listing
	listDue   bool     // list ready/ when nothing else is known
	recovered time.Time
	readFn    func(fd uintptr) bool
	rdWait    bool
	rdN       int
	rdErr     error
	pace      pace // sparse or busy (see sparseAfter)

	nextDue atomic.Int64 // Unix ns of the earliest delayed message known; 0 if none

	heldMu sync.Mutex
	held   map[string]int64 // claimed name -> size, not yet acknowledged

	// life is read-held by Ack and Nack, which may come from any
	// goroutine, and write-held by Close, which unmaps what they use.
	life   sync.RWMutex
	closed bool

	in *intake // this worker's reader of the queue's intake

	closeOnce sync.Once
}

// Delivery is a message a worker holds.
type Delivery struct {
	Msg        wire.Message
	Deliveries int // this one included
	name       string
	key        queueKey
	size       int64
}

// Key returns the order key of the message, for logs and tests.
func (d *Delivery) Key() string { return d.key.String() }

// JoinQueue attaches a worker to the queue name, creating the queue with
// cfg if there is none (see EnsureQueue).
func (h *Home) JoinQueue(name string, cfg QueueConfig, set QueueFields) (*Worker, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	q, _, err := h.ensureQueue(name, cfg, set)
	if err != nil {
		return nil, err
	}
	w := &Worker{home: h, q: q, id: newWorkerID(), log: h.log, homeFD: -1, tmpFD: -1, dirFD: -1, lockFD: -1, keepFD: -1, nt: newNotifier(), slot: -1, ownKeep: -1,
		turn: newTurn(), done: make(chan struct{}), held: map[string]int64{}, listDue: true}
	if err := w.attach(); err != nil {
		w.release()
		return nil, fmt.Errorf("pubsub: join queue %s: %w", name, err)
	}
	if err := w.openIntake(); err != nil {
		w.release()
		_ = os.RemoveAll(filepath.Join(q.path, workersDir, w.id))
		return nil, fmt.Errorf("pubsub: join queue %s: %w", name, err)
	}
	return w, nil
}

// attach makes the worker's directory and lock, and opens the FIFO.
func (w *Worker) attach() (err error) {
	h, q := w.home, w.q
	if w.homeFD, err = fsys.OpenDir(h.dir); err != nil {
		return err
	}
	if w.tmpFD, err = fsys.OpenDirAt(w.homeFD, TmpDir); err != nil {
		return err
	}
	// Made in tmp/ with its lock held, then moved into workers/: another
	// worker must never see it without its lock, and take it for dead.
	build := channelName("worker-" + q.name) // named so that Cleanup knows it if we die here
	if err := fsys.Mkdirat(w.tmpFD, build, h.access.dirMode); err != nil {
		return err
	}
	if w.dirFD, err = fsys.OpenDirAt(w.tmpFD, build); err != nil {
		_ = fsys.RemoveDirAt(w.tmpFD, build)
		return err
	}
	if w.lockFD, err = fsys.Lock(w.dirFD, LockName, h.access.fileMode); err == nil {
		err = fsys.Mkfifo(w.dirFD, h.tmpPath(build), queueNotify, h.access.fileMode)
	}
	if err == nil {
		w.own, w.ownKeep, err = fsys.OpenFIFOReader(w.dirFD, queueNotify)
	}
	if err == nil {
		w.ownRC, err = w.own.SyscallConn()
	}
	if err == nil {
		err = fsys.RenameNoReplace(w.tmpFD, build, q.workersFD, w.id)
	}
	if err != nil {
		_ = os.RemoveAll(h.tmpPath(build))
		return err
	}
	if w.fifo, w.keepFD, err = fsys.OpenFIFOReader(q.dirFD, queueNotify); err != nil {
		return err
	}
	if w.rc, err = w.fifo.SyscallConn(); err != nil {
		return err
	}
	w.slot = q.claimSlot(w.id)
	return nil
}

// Name returns the queue's name.
func (w *Worker) Name() string { return w.q.name }

// Config returns the queue's configuration.
func (w *Worker) Config() QueueConfig { return w.q.cfg }

// Dir returns the queue's directory.
func (w *Worker) Dir() string { return w.q.path }

// Logger returns the logger of the worker's home.
func (w *Worker) Logger() *slog.Logger { return w.log }

// Fetch claims the next message without waiting: ErrNoMessage when none
// is ready.
func (w *Worker) Fetch(d *Delivery) error {
	if err := w.turn.tryTake(w.done); err != nil {
		return err
	}
	defer w.turn.release()
	if w.isClosed() {
		return ErrClosed
	}
	return w.claimNext(d)
}

// Next waits for the next message and claims it.
func (w *Worker) Next(ctx context.Context, d *Delivery) error {
	for {
		if err := w.turn.take(ctx, w.done); err != nil {
			return err
		}
		if w.isClosed() {
			w.turn.release()
			return ErrClosed
		}
		err := w.claimNext(d)
		if err == ErrNoMessage {
			w.turn.parked.Store(true)
			err = w.wait(ctx)
			w.turn.parked.Store(false)
		}
		if err == nil {
			w.pace.taken++
		}
		w.turn.release()
		if err != ErrNoMessage {
			return err
		}
	}
}

// claimNext claims the next ready message. Called with the turn held.
func (w *Worker) claimNext(d *Delivery) error {
	if due := w.nextDue.Load(); time.Since(w.recovered) >= recoverEvery || (due != 0 && time.Now().UnixNano() >= due) {
		w.recover()
	}
	for {
		k, n, ok := w.candidate()
		if !ok {
			if isGone(w.q.dirFD) { // looked at only when idle: a system call
				return ErrQueueRemoved
			}
			return ErrNoMessage
		}
		if k == (queueKey{}) {
			// A record for no message: RemoveQueue's, to wake us.
			if w.moved() {
				return ErrQueueRemoved
			}
			continue
		}
		err := w.claim(k, n, d)
		if errors.Is(err, fs.ErrNotExist) || err == errExpired {
			continue // taken by another worker, dropped, or expired
		}
		return err
	}
}

// candidate returns the next message to try: from the FIFO, else from a
// listing of ready/, made when messages were made ready unnotified or
// nothing else is known. Called with the turn held.
func (w *Worker) candidate() (queueKey, int, bool) {
	if w.haveRec {
		w.haveRec = false
		k, n := parseQueueRecord(w.rec[:])
		return k, n, true
	}
	if len(w.scanned) > 0 {
		name := w.scanned[0]
		w.scanned = w.scanned[1:]
		k, n, _ := parseReadyName(name)
		return k, n, true
	}
	if w.slot >= 0 && w.readFrom(w.ownRC, false) == nil && w.rdN == queueRecordSize {
		k, n := parseQueueRecord(w.rec[:])
		return k, n, true
	}
	if w.read(false) == nil && w.rdN == queueRecordSize {
		k, n := parseQueueRecord(w.rec[:])
		return k, n, true
	}
	// Messages were made ready without a record since this worker last
	// listed ready/: list it. Every worker does, not only the first, or
	// the others would idle beside a backlog that only one knows of. A
	// worker also lists it when it starts, and at each recovery it makes
	// idle: records die with the FIFO when no process holds it open (all
	// workers gone), or with a worker killed between read and claim.
	if gen := w.q.state.load(offUnnotfied); gen != w.listedGen || w.listDue {
		w.listedGen, w.listDue = gen, false
		w.scan()
		if len(w.scanned) > 0 {
			return w.candidate()
		}
	}
	return queueKey{}, 0, false
}

// moved reports whether the queue's directory is no longer at its name:
// removed, or being removed.
func (w *Worker) moved() bool {
	here, err := fsys.Fstat(w.q.dirFD)
	if err != nil || here.Nlink == 0 {
		return true
	}
	// By path: the Home may be closed, its descriptors gone.
	there, err := fsys.Lstat(w.q.path)
	return err != nil || there.Ino != here.Ino || there.Dev != here.Dev
}

// scan lists ready/ for the oldest messages. Called with the turn held.
func (w *Worker) scan() {
	w.scanned = oldestNames(w.q.readyFD, 1<<16, func(name string) bool {
		_, _, ok := parseReadyName(name)
		return ok
	})
}

// read reads one record from the FIFO; with wait, it parks in the poller
// until there is one. One record a read: the workers share the FIFO, and a
// worker that read ahead would keep messages from idle ones.
func (w *Worker) read(wait bool) error { return w.readFrom(w.rc, wait) }

// readFrom reads one record from the queue's FIFO (rc) or the worker's
// own (ownRC).
func (w *Worker) readFrom(rc syscall.RawConn, wait bool) error {
	if w.readFn == nil {
		w.readFn = func(fd uintptr) bool {
			w.rdN, w.rdErr = fsys.Read(int(fd), w.rec[:])
			return !w.rdWait || w.rdErr != fsys.ErrWouldBlock
		}
	}
	w.rdWait = wait
	w.rdN = 0
	if err := rc.Read(w.readFn); err != nil {
		return err
	}
	if w.rdErr != nil && w.rdErr != fsys.ErrWouldBlock {
		return &fs.PathError{Op: "read", Path: filepath.Join(w.q.path, queueNotify), Err: w.rdErr}
	}
	return w.rdErr
}

// wait parks until the FIFO has a record, the next recovery is due, or
// ctx ends. It returns ErrNoMessage to look again. Called with the turn held.
// A worker of a sparse stream parked on its own FIFO waits as a Channel's
// reader does (see sparseAfter): 200 µs in the poller, then blocked in
// poll(2).
func (w *Worker) wait(ctx context.Context) error {
	start := time.Now()
	deadline := start.Add(recoverEvery)
	if due := w.nextDue.Load(); due != 0 && time.Unix(0, due).Before(deadline) {
		deadline = time.Unix(0, due)
	}
	f, rc := w.fifo, w.rc
	sparse := false
	if w.slot >= 0 {
		// Idle in its slot, parked on its own FIFO: a publisher hands it
		// a record there, waking it alone (handoff.go).
		state, _, _ := w.q.state.slot(w.slot)
		state.Store(slotIdle)
		defer state.CompareAndSwap(slotIdle, slotBusy)
		// A record put in the queue's FIFO before it was idle would wake
		// nobody: look once more.
		if w.read(false) == nil && w.rdN == queueRecordSize {
			w.haveRec = true
			return ErrNoMessage
		}
		f, rc = w.own, w.ownRC
		sparse = w.pace.sparse() && start.Add(sparseAfter).Before(deadline)
	}
	if sparse {
		_ = f.SetReadDeadline(start.Add(sparseAfter))
	} else {
		_ = f.SetReadDeadline(deadline)
	}
	defer func() { _ = f.SetReadDeadline(time.Time{}) }()
	if ctx.Done() != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			_ = f.SetReadDeadline(time.Unix(1, 0))
			if w.ownBlocked.Load() {
				w.wakeOwn() // in poll(2), which a deadline does not reach
			}
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	// Workers without a slot park on the queue's FIFO together: they all
	// wake for a record; the first takes it, the others park again.
	err := w.readFrom(rc, true)
	if sparse && errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline is set before ctx is looked at: a hook that fires
		// later puts it in the past.
		_ = f.SetReadDeadline(deadline)
		if ctx.Err() == nil && !w.isClosed() {
			err = w.waitBlocked(ctx, deadline)
		}
	}
	w.pace.waited(ctx, start)
	switch {
	case err == nil && w.rdN == queueRecordSize:
		w.haveRec = true
		return ErrNoMessage // look again: claimNext takes it
	case err == nil:
		return ErrNoMessage
	case w.isClosed():
		return ErrClosed
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrNoMessage
	}
	return err
}

// waitBlocked waits on the worker's own FIFO until deadline, blocked in
// poll(2) (see block).
func (w *Worker) waitBlocked(ctx context.Context, deadline time.Time) error {
	return block(ctx, w.isClosed, &w.ownBlocked, func() error {
		w.rdN, w.rdErr = 0, nil
		err := w.ownRC.Control(func(fd uintptr) {
			w.rdN, w.rdErr = fsys.ReadBlocking(int(fd), w.rec[:], deadline)
		})
		switch {
		case err != nil:
			return err
		case w.rdErr == os.ErrDeadlineExceeded:
			return w.rdErr
		case w.rdErr != nil:
			return &fs.PathError{Op: "read", Path: filepath.Join(w.q.path, workersDir, w.id, queueNotify), Err: w.rdErr}
		}
		return nil
	}, func() error { return w.readFrom(w.ownRC, true) })
}

// wakeOwn writes an empty record into the worker's own FIFO, which makes
// a worker parked on it look again, and finds no message. A full FIFO
// refuses it, and needs none.
func (w *Worker) wakeOwn() {
	if w.ownKeep >= 0 {
		var empty [queueRecordSize]byte
		_ = fsys.WriteRecord(w.ownKeep, empty[:])
	}
}

func (w *Worker) isClosed() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// errExpired: the message claimed was past the queue's maximum age.
var errExpired = errors.New("expired")

// claim renames ready/{k}.{n} to claimed/, reads and decodes it into d.
func (w *Worker) claim(k queueKey, n int, d *Delivery) error {
	q := w.q
	deadline := time.Now().Add(q.cfg.Lease)
	claimed := claimedName(k, n+1, w.id, deadline)
	if err := fsys.Renameat(q.readyFD, readyName(k, n), q.claimedFD, claimed); err != nil {
		return err
	}
	size := int64(-1)
	if q.cfg.MaxAge > 0 && time.Since(time.Unix(0, int64(k.entered))) > q.cfg.MaxAge {
		if st, err := fsys.Fstatat(q.claimedFD, claimed); err == nil && fsys.Unlinkat(q.claimedFD, claimed) == nil {
			q.uncount(st.Size)
			q.state.add(offExpired, 1)
		}
		return errExpired
	}
	data, err := readMessageFile(q.claimedFD, claimed, 0, nil)
	if err == nil {
		size = int64(len(data))
		err = wire.DecodeTo(data, &d.Msg)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		// A message that cannot be read is a dead letter at once: no
		// delivery will read it better.
		path := filepath.Join(q.path, claimedDir, claimed)
		if st, serr := fsys.Fstatat(q.claimedFD, claimed); serr == nil && fsys.Renameat(q.claimedFD, claimed, q.deadFD, readyName(k, n+1)) == nil {
			q.uncount(st.Size)
			q.state.add(offDead, 1)
		}
		w.log.Warn("pubsub: unreadable message made a dead letter", "queue", q.name, "file", path, "err", err)
		return &BadMessage{Path: path, ID: k.id, Err: err}
	}
	d.Deliveries, d.name, d.key, d.size = n+1, claimed, k, size
	w.heldMu.Lock()
	w.held[claimed] = size
	w.heldMu.Unlock()
	return nil
}

// Ack removes a message the worker holds from the queue: it was handled.
// ErrLeaseExpired if it was given back meanwhile.
func (w *Worker) Ack(d *Delivery) error {
	w.life.RLock()
	defer w.life.RUnlock()
	if w.closed {
		return ErrClosed
	}
	if !w.forget(d) {
		return fmt.Errorf("pubsub: acknowledge: the message %s is not held by this worker", d.key)
	}
	err := fsys.Unlinkat(w.q.claimedFD, d.name)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrLeaseExpired
	}
	if err != nil {
		return fmt.Errorf("pubsub: acknowledge %s: %w", d.key, err)
	}
	w.q.uncount(d.size)
	return nil
}

// Nack gives a message back to the queue, to be delivered again after
// delay (none: at once), or made a dead letter if it was delivered
// MaxDeliveries times. ErrLeaseExpired if it was given back meanwhile.
func (w *Worker) Nack(d *Delivery, delay time.Duration) error {
	w.life.RLock()
	defer w.life.RUnlock()
	if w.closed {
		return ErrClosed
	}
	if !w.forget(d) {
		return fmt.Errorf("pubsub: give back: the message %s is not held by this worker", d.key)
	}
	err := w.giveBack(d.name, d.key, d.Deliveries, d.size, delay)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrLeaseExpired
	}
	if err == nil && delay > 0 && d.Deliveries < w.q.cfg.MaxDeliveries {
		w.noteDue(time.Now().Add(delay))
	}
	return err
}

// noteDue makes the worker look at delayed/ by due, if it had no earlier
// reason to.
func (w *Worker) noteDue(due time.Time) {
	for {
		old := w.nextDue.Load()
		if old != 0 && old <= due.UnixNano() {
			return
		}
		if w.nextDue.CompareAndSwap(old, due.UnixNano()) {
			return
		}
	}
}

// forget takes d off the messages the worker holds.
func (w *Worker) forget(d *Delivery) bool {
	w.heldMu.Lock()
	defer w.heldMu.Unlock()
	if _, ok := w.held[d.name]; !ok || d.name == "" {
		return false
	}
	delete(w.held, d.name)
	return true
}

// giveBack moves claimed/{name}, delivered n times, back to ready/, to
// delayed/, or to dead/. size is the file's size, or -1 if not known.
func (w *Worker) giveBack(name string, k queueKey, n int, size int64, delay time.Duration) error {
	return w.q.giveBack(name, k, n, size, delay, w.nt)
}

func (q *queueDir) giveBack(name string, k queueKey, n int, size int64, delay time.Duration, nt *notifier) error {
	if size < 0 {
		st, err := fsys.Fstatat(q.claimedFD, name)
		if err != nil {
			return err
		}
		size = st.Size
	}
	switch {
	case n >= q.cfg.MaxDeliveries:
		if err := fsys.Renameat(q.claimedFD, name, q.deadFD, readyName(k, n)); err != nil {
			return err
		}
		q.uncount(size)
		q.state.add(offDead, 1)
	case delay > 0:
		return fsys.Renameat(q.claimedFD, name, q.delayedFD, delayedName(time.Now().Add(delay), k, n))
	default:
		if err := fsys.Renameat(q.claimedFD, name, q.readyFD, readyName(k, n)); err != nil {
			return err
		}
		if !notifyQueue(q, nt, k, n) {
			q.state.add(offUnnotfied, 1)
		}
	}
	return nil
}

// recover gives back what dead workers held and what leases ran out on,
// and makes ready what waited long enough in delayed/. Called with the turn
// held.
func (w *Worker) recover() {
	q := w.q
	now := time.Now()
	w.recovered = now
	w.listDue = true
	dead := map[string]bool{}
	_ = fsys.EachName(q.claimedFD, func(name string) {
		k, n, worker, deadline, ok := parseClaimedName(name)
		if !ok {
			return
		}
		gone, seen := dead[worker]
		if !seen {
			gone = worker != w.id && !q.workerAlive(worker)
			dead[worker] = gone
		}
		if gone || now.After(deadline) {
			_ = q.giveBack(name, k, n, -1, 0, w.nt)
		}
	})
	for worker, gone := range dead {
		if gone {
			q.freeSlots(worker)
			_ = os.RemoveAll(filepath.Join(q.path, workersDir, worker))
		}
	}
	w.nextDue.Store(0)
	_ = fsys.EachName(q.delayedFD, func(name string) {
		due, k, n, ok := parseDelayedName(name)
		if !ok {
			return
		}
		if due.After(now) {
			w.noteDue(due)
			return
		}
		if fsys.Renameat(q.delayedFD, name, q.readyFD, readyName(k, n)) == nil && !notifyQueue(q, w.nt, k, n) {
			q.state.add(offUnnotfied, 1)
		}
	})
}

// workerAlive reports whether the worker id holds its lock. A worker that
// cannot be looked at for a passing reason is taken for alive.
func (q *queueDir) workerAlive(id string) bool {
	held, known, err := fsys.LockHeld(q.workersFD, id+"/"+LockName)
	return err != nil || (known && held)
}

// Close detaches the worker: the messages it holds unacknowledged go back
// to the queue at once (their deliveries counted), its directory goes,
// and it wakes goroutines blocked in Next, which return ErrClosed.
func (w *Worker) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.done)
		_ = w.fifo.Close() // wakes a reader parked in the poller
		w.wakeOwn()        // wakes a reader blocked outside the poller
		_ = w.own.Close()  // and waits for it
		w.turn.keep()      // wait for a reader in the middle of a claim
		w.life.Lock()      // and for an Ack or Nack in the middle
		defer w.life.Unlock()
		w.closed = true
		w.closeIntake()
		w.heldMu.Lock()
		for name, size := range w.held {
			k, n, _, _, ok := parseClaimedName(name)
			if ok {
				if gerr := w.giveBack(name, k, n, size, 0); gerr != nil && !errors.Is(gerr, fs.ErrNotExist) {
					err = errors.Join(err, gerr)
				}
			}
			delete(w.held, name)
		}
		w.heldMu.Unlock()
		w.fifo, w.own = nil, nil
		w.q.freeSlots(w.id)
		if rerr := os.RemoveAll(filepath.Join(w.q.path, workersDir, w.id)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		w.release()
	})
	return err
}

// release closes the descriptors; the lock goes last.
func (w *Worker) release() {
	if w.fifo != nil {
		_ = w.fifo.Close()
	}
	fsys.Close(w.keepFD)
	w.nt.close()
	if w.own != nil {
		_ = w.own.Close()
	}
	fsys.Close(w.ownKeep)
	fsys.Close(w.dirFD)
	fsys.Close(w.homeFD)
	fsys.Close(w.tmpFD)
	w.q.close()
	fsys.Close(w.lockFD)
	w.keepFD, w.ownKeep, w.dirFD, w.homeFD, w.tmpFD, w.lockFD = -1, -1, -1, -1, -1, -1
}
