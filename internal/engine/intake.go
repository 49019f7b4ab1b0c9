package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// The intake lets formix-pubsub publishers reach a queue (see intakeName
// in layout.go). Go publishers link into ready/ themselves and pass the
// intake over. While the queue has workers, one intake is in the home,
// named with the pid of one of them; every worker reads its FIFO and
// moves what formix-pubsub linked into ready/. A worker that finds the
// intake's pid dead takes it over by renaming it with its own pid; the
// last worker to leave moves what the intake holds into the queue and
// removes it. While no worker runs there is no live intake: a Python
// publisher reaches no channel for the queue (it counts it so), as for
// any subscriber that is not there.

// intake is one worker's part in reading the queue's intake.
type intake struct {
	w       *Worker
	pattern topic.Pattern
	dirFD   int // the intake directory, whatever its name
	fifo    *os.File
	keepFD  int
	rc      syscall.RawConn
	done    chan struct{} // closed when run returns
	buf     [4096]byte
	n       int

	mu     sync.Mutex // guards fifo against closeIntake while run reopens it
	reopen bool       // the intake was removed and made again: open it anew
	name   string     // its name when last seen
}

// openIntake makes the queue's intake, or takes the one there is, and
// starts reading it.
func (w *Worker) openIntake() error {
	q, h := w.q, w.home
	p, err := topic.Compile(q.cfg.Pattern)
	if err != nil {
		return err
	}
	in := &intake{w: w, pattern: p, dirFD: -1, keepFD: -1, done: make(chan struct{})}
	lock, err := fsys.LockWait(q.dirFD, intakeLock, h.access.fileMode)
	if err != nil {
		return err
	}
	name, err := w.ensureIntake()
	if err == nil {
		in.dirFD, err = fsys.OpenDirAt(w.homeFD, name)
	}
	fsys.Close(lock)
	if err == nil {
		in.fifo, in.keepFD, err = fsys.OpenFIFOReader(in.dirFD, QueueName)
	}
	if err == nil {
		in.rc, err = in.fifo.SyscallConn()
	}
	if err != nil {
		in.close()
		return fmt.Errorf("intake: %w", err)
	}
	w.in = in
	go in.run()
	return nil
}

// findIntakes lists the home homeFD for the intakes of the queue:
// normally one.
func findIntakes(homeFD int, queue string) ([]string, error) {
	names, err := fsys.ReadDirNames(homeFD)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		if q, _, ok := parseIntakeName(name); ok && q == queue {
			out = append(out, name)
		}
	}
	return out, nil
}

// ensureIntake returns the name of the queue's intake, making it, or
// taking it over from a dead pid. Called with intake.lock held.
func (w *Worker) ensureIntake() (string, error) {
	h, q := w.home, w.q
	names, err := findIntakes(w.homeFD, q.name)
	if err != nil {
		return "", err
	}
	mine := intakeName(q.cfg.Pattern, q.name, os.Getpid())
	for i, name := range names {
		if i > 0 {
			rescueIntake(w.homeFD, h.dir, name, q, h.log) // one too many: a crash while making it
			continue
		}
		_, pid, _ := parseIntakeName(name)
		if name == mine || fsys.ProcessAlive(pid) {
			mine = name
			continue
		}
		if err := fsys.RenameNoReplace(w.homeFD, name, w.homeFD, mine); err != nil {
			return "", err
		}
	}
	if len(names) > 0 {
		return mine, nil
	}
	build := "intake-" + q.name + "-" + channelName("i")
	staging := h.tmpPath(build)
	if err := fsys.Mkdirat(w.tmpFD, build, h.access.dirMode); err != nil {
		return "", err
	}
	err = func() error {
		fd, err := fsys.OpenDirAt(w.tmpFD, build)
		if err != nil {
			return err
		}
		defer fsys.Close(fd)
		if err := fsys.Fchmod(fd, h.access.dirMode); err != nil {
			return err
		}
		if err := fsys.Mkfifo(fd, staging, QueueName, h.access.fileMode); err != nil {
			return err
		}
		peek, err := fsys.OpenFIFOPeek(fd, QueueName)
		if err != nil {
			return err
		}
		defer fsys.Close(peek)
		if err := fsys.Fchmod(peek, h.access.fileMode); err != nil {
			return err
		}
		return fsys.RenameNoReplace(w.tmpFD, build, w.homeFD, mine)
	}()
	if err != nil {
		_ = os.RemoveAll(staging)
		return "", err
	}
	return mine, nil
}

// run reads the ids formix-pubsub publishers write into the intake's
// FIFO and moves their files into the queue, until the worker closes.
// Every recoverEvery it also takes the intake over if its pid died, and
// lists it for files whose id it did not read.
func (in *intake) run() {
	defer close(in.done)
	for {
		_ = in.fifo.SetReadDeadline(time.Now().Add(recoverEvery))
		var rerr error
		err := in.rc.Read(func(fd uintptr) bool {
			var n int
			n, rerr = fsys.Read(int(fd), in.buf[in.n:])
			if n > 0 {
				in.n += n
			}
			return rerr != fsys.ErrWouldBlock
		})
		switch {
		case in.w.isClosed():
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			in.tend()
			if in.reopen && !in.reopenIntake() {
				return
			}
			continue
		case err != nil, rerr != nil:
			return // the FIFO closed under us: the worker is closing
		}
		off := 0
		for ; in.n-off >= 8; off += 8 {
			in.move(binary.BigEndian.Uint64(in.buf[off:]))
		}
		in.n = copy(in.buf[:], in.buf[off:in.n])
	}
}

// tend takes the intake over if its owner died, and moves the files no
// id named (a publisher killed between link and write, a reader killed
// between read and move).
func (in *intake) tend() {
	w := in.w
	// The name it had last time, if still its name, saves a listing of
	// the home (which may hold thousands of channels) every second.
	if in.name != "" {
		if _, pid, _ := parseIntakeName(in.name); fsys.ProcessAlive(pid) {
			there, err1 := fsys.Fstatat(w.homeFD, in.name)
			here, err2 := fsys.Fstat(in.dirFD)
			if err1 == nil && err2 == nil && there.Ino == here.Ino && there.Dev == here.Dev {
				in.strays()
				return
			}
		}
	}
	names, err := findIntakes(w.homeFD, w.q.name)
	if err != nil {
		return
	}
	if len(names) > 0 {
		if _, pid, _ := parseIntakeName(names[0]); fsys.ProcessAlive(pid) {
			in.name = names[0]
			in.strays()
			return
		}
	}
	in.name = ""
	// Its owner died, or it was removed (formix-pubsub's
	// cleanup_inactive removes a channel whose pid is dead).
	if lock, err := fsys.LockWait(w.q.dirFD, intakeLock, w.home.access.fileMode); err == nil {
		_, _ = w.ensureIntake()
		fsys.Close(lock)
	}
	in.reopen = isGone(in.dirFD)
	in.strays()
}

// reopenIntake opens the intake made again in place of the one run read.
func (in *intake) reopenIntake() bool {
	w := in.w
	in.mu.Lock()
	defer in.mu.Unlock()
	if w.isClosed() {
		return false
	}
	names, err := findIntakes(w.homeFD, w.q.name)
	if err != nil || len(names) == 0 {
		return true // try again at the next tend
	}
	dirFD, err := fsys.OpenDirAt(w.homeFD, names[0])
	if err != nil {
		return true
	}
	fifo, keep, err := fsys.OpenFIFOReader(dirFD, QueueName)
	if err != nil {
		fsys.Close(dirFD)
		return true
	}
	rc, err := fifo.SyscallConn()
	if err != nil {
		fifo.Close()
		fsys.Close(keep)
		fsys.Close(dirFD)
		return true
	}
	in.close()
	in.dirFD, in.fifo, in.keepFD, in.rc, in.n, in.reopen = dirFD, fifo, keep, rc, 0, false
	return true
}

// strays moves every message file in the intake.
func (in *intake) strays() {
	_ = fsys.EachName(in.dirFD, func(name string) {
		if id, ok := parseMessageName(name); ok {
			in.move(id)
		}
	})
}

// move takes the message file id from the intake into ready/, after the
// queue's bounds and pattern.
func (in *intake) move(id uint64) {
	w, q := in.w, in.w.q
	name := messageName(id)
	data, err := readMessageFile(in.dirFD, name, 0, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return // moved by another worker
	}
	var m wire.Message
	if err == nil {
		err = wire.DecodeTo(data, &m)
	}
	switch {
	case fsys.OutOfResources(err):
		return // the next listing takes it
	case err != nil:
		w.log.Warn("pubsub: bad message in a queue's intake set aside", "queue", q.name, "id", id, "err", err)
		_ = fsys.Renameat(in.dirFD, name, in.dirFD, badName(name))
		return
	case !in.pattern.Match(m.Topic):
		w.log.Info("pubsub: dropped a message whose topic the queue does not take", "queue", q.name, "topic", m.Topic, "id", id)
		_ = fsys.Unlinkat(in.dirFD, name)
		return
	}
	size := int64(len(data))
	if !q.admit(size) && !(q.cfg.DropOldest && q.dropOldest(size)) {
		// Its publisher counted it delivered already: the policy can
		// only refuse it here, and count it.
		if fsys.Unlinkat(in.dirFD, name) == nil {
			q.state.add(offRejected, 1)
			w.log.Warn("pubsub: a full queue refused a message of its intake", "queue", q.name, "id", id)
		}
		return
	}
	k := queueKey{entered: uint64(time.Now().UnixNano()), id: id}
	for {
		err = fsys.Renameat(in.dirFD, name, q.readyFD, readyName(k, 0))
		if errors.Is(err, fsys.ErrExist) {
			k.entered++
			continue
		}
		break
	}
	if err != nil {
		q.uncount(size) // moved by another worker meanwhile
		return
	}
	if !notifyQueue(q, w.nt, k, 0) {
		q.state.add(offUnnotfied, 1)
	}
}

// closeIntake stops reading the intake. If no other worker of the queue
// lives, the intake goes: what it holds moves into the queue first. If
// the intake bears this process's pid, another worker's takes its place,
// so that formix-pubsub publishers go on reaching the queue.
func (w *Worker) closeIntake() {
	in := w.in
	if in == nil {
		return
	}
	w.in = nil
	in.mu.Lock()
	_ = in.fifo.Close() // wakes run
	in.mu.Unlock()
	<-in.done
	h, q := w.home, w.q
	if lock, err := fsys.LockWait(q.dirFD, intakeLock, h.access.fileMode); err == nil {
		defer fsys.Close(lock)
		names, _ := findIntakes(w.homeFD, q.name)
		other := q.otherWorker(w.id)
		for _, name := range names {
			_, pid, _ := parseIntakeName(name)
			switch {
			case other == 0:
				in.strays()
				_, _ = removeChannel(h.dir, name, false)
			case pid == os.Getpid() && other != os.Getpid():
				_ = fsys.RenameNoReplace(w.homeFD, name, w.homeFD, intakeName(q.cfg.Pattern, q.name, other))
			}
		}
	}
	in.close()
}

func (in *intake) close() {
	if in.fifo != nil {
		_ = in.fifo.Close()
	}
	fsys.Close(in.keepFD)
	fsys.Close(in.dirFD)
}

// otherWorker returns the pid of a live worker of the queue other than
// the worker self, or 0 if there is none.
func (q *queueDir) otherWorker(self string) int {
	pid := 0
	_ = fsys.EachName(q.workersFD, func(id string) {
		if pid != 0 || id == self || !validWorkerID(id) || !q.workerAlive(id) {
			return
		}
		p, _, _ := strings.Cut(id, "-")
		pid, _ = strconv.Atoi(p)
	})
	return pid
}

// rescueIntake moves what the intake name, in the home homeFD at dir,
// holds into the queue q (if it is still there) and removes it: an
// intake no worker reads.
func rescueIntake(homeFD int, dir, name string, q *queueDir, log *slog.Logger) {
	dirFD, err := fsys.OpenDirAt(homeFD, name)
	if err != nil {
		return
	}
	defer fsys.Close(dirFD)
	if q != nil {
		p, _ := topic.Compile(q.cfg.Pattern)
		w := &Worker{q: q, log: log, nt: newNotifier()}
		in := &intake{w: w, pattern: p, dirFD: dirFD}
		in.strays()
		w.nt.close()
	}
	_, _ = removeChannel(dir, name, true)
}
