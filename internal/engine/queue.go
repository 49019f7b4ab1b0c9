package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// QueueConfig says what a queue takes and how it keeps it. Zero fields
// take the defaults below.
type QueueConfig struct {
	Pattern       string        // the topics it takes, wildcards allowed
	MaxMessages   int64         // messages it holds at most, ready, delayed or in flight
	MaxBytes      int64         // bytes of message files it holds at most
	MaxAge        time.Duration // a message older than this expires; 0: never
	DropOldest    bool          // when full, drop the oldest ready message instead of refusing
	Lease         time.Duration // how long a worker may hold a message before it is given back
	MaxDeliveries int           // deliveries after which an unacknowledged message is a dead letter
	RetryDelay    time.Duration // delay of a negative acknowledgement that names none
}

// The defaults of a queue. A message costs at least a page of tmpfs (4
// KiB) whatever its size, so 100,000 messages hold 400 MiB or more.
const (
	DefaultMaxMessages   = 100_000
	DefaultMaxBytes      = 1 << 30
	DefaultLease         = 30 * time.Second
	DefaultMaxDeliveries = 5
	DefaultRetryDelay    = time.Second
)

// QueueFields names the fields of a QueueConfig that a caller set, so that
// joining an existing queue checks only those.
type QueueFields uint

const (
	FieldMaxMessages QueueFields = 1 << iota
	FieldMaxBytes
	FieldMaxAge
	FieldDropOldest
	FieldLease
	FieldMaxDeliveries
	FieldRetryDelay
)

func (c QueueConfig) withDefaults() QueueConfig {
	if c.MaxMessages == 0 {
		c.MaxMessages = DefaultMaxMessages
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = DefaultMaxDeliveries
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	return c
}

// check says what is wrong with a configuration, once defaults are in.
func (c QueueConfig) check() error {
	switch {
	case c.MaxMessages < 1:
		return fmt.Errorf("pubsub: a queue's bound on messages is %d; it must be at least 1", c.MaxMessages)
	case c.MaxBytes < 1:
		return fmt.Errorf("pubsub: a queue's bound on bytes is %d; it must be at least 1", c.MaxBytes)
	case c.MaxAge < 0:
		return fmt.Errorf("pubsub: a queue's maximum age is %v; it must not be negative", c.MaxAge)
	case c.Lease < time.Millisecond:
		return fmt.Errorf("pubsub: a queue's lease is %v; it must be at least 1ms", c.Lease)
	case c.MaxDeliveries < 1 || c.MaxDeliveries > 1000:
		return fmt.Errorf("pubsub: a queue's maximum deliveries is %d; it must be 1 to 1000", c.MaxDeliveries)
	case c.RetryDelay < 0:
		return fmt.Errorf("pubsub: a queue's retry delay is %v; it must not be negative", c.RetryDelay)
	}
	return topic.ValidatePattern(c.Pattern)
}

// queueLine is the text of a queue's config file: one line of words.
func (c QueueConfig) queueLine() string {
	policy := "reject"
	if c.DropOldest {
		policy = "drop-oldest"
	}
	return fmt.Sprintf("pubsub-queue 1 pattern=%s max-messages=%d max-bytes=%d max-age=%d policy=%s lease=%d max-deliveries=%d retry-delay=%d\n",
		c.Pattern, c.MaxMessages, c.MaxBytes, int64(c.MaxAge), policy, int64(c.Lease), c.MaxDeliveries, int64(c.RetryDelay))
}

// maxConfig bounds what is read of a config file.
const maxConfig = 4096

// parseQueueLine reads a queue's config file, which another process wrote
// and may be anything.
func parseQueueLine(text []byte) (QueueConfig, error) {
	line, _, whole := strings.Cut(string(text), "\n")
	words := strings.Fields(line)
	if !whole || len(words) < 2 || words[0] != "pubsub-queue" || words[1] != "1" {
		return QueueConfig{}, errors.New("not a queue config this version wrote")
	}
	var c QueueConfig
	seen := map[string]bool{}
	for _, w := range words[2:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok || seen[k] {
			return QueueConfig{}, fmt.Errorf("bad word %q", w)
		}
		seen[k] = true
		var err error
		var n int64
		if k != "pattern" && k != "policy" {
			if n, err = strconv.ParseInt(v, 10, 64); err != nil {
				return QueueConfig{}, fmt.Errorf("bad number in %q", w)
			}
		}
		switch k {
		case "pattern":
			c.Pattern = v
		case "policy":
			switch v {
			case "reject":
			case "drop-oldest":
				c.DropOldest = true
			default:
				return QueueConfig{}, fmt.Errorf("unknown policy %q", v)
			}
		case "max-messages":
			c.MaxMessages = n
		case "max-bytes":
			c.MaxBytes = n
		case "max-age":
			c.MaxAge = time.Duration(n)
		case "lease":
			c.Lease = time.Duration(n)
		case "max-deliveries":
			if n > 1000 {
				return QueueConfig{}, fmt.Errorf("bad number in %q", w)
			}
			c.MaxDeliveries = int(n)
		case "retry-delay":
			c.RetryDelay = time.Duration(n)
		default:
			// A word of a later version: ignored.
		}
	}
	for _, k := range []string{"pattern", "max-messages", "max-bytes", "lease", "max-deliveries"} {
		if !seen[k] {
			return QueueConfig{}, fmt.Errorf("no %s", k)
		}
	}
	if err := c.check(); err != nil {
		return QueueConfig{}, err
	}
	return c, nil
}

// queueState is the page of counters that every process using a queue
// maps, and updates with atomic operations: no lock, no system call. A
// process killed between a file operation and its count leaves a count
// off by one (docs/QUEUES.md says so).
type queueState struct {
	mem []byte
}

const (
	stateSize    = 4096
	stateMagic   = 0x5055425155455531 // "PUBQUEU1"
	offMagic     = 0
	offMessages  = 8  // ready, delayed and claimed
	offBytes     = 16 // their file sizes
	offDropped   = 24 // dropped oldest by the drop-oldest policy
	offExpired   = 32 // past their maximum age
	offRejected  = 40 // refused: the queue was full
	offDead      = 48 // made dead letters
	offUnnotfied = 56 // made ready without a record in the FIFO: workers must list
)

func (s queueState) field(off int) *atomic.Int64 {
	return (*atomic.Int64)(unsafe.Pointer(&s.mem[off]))
}

func (s queueState) add(off int, delta int64) int64 { return s.field(off).Add(delta) }
func (s queueState) load(off int) int64             { return s.field(off).Load() }

// queueDir is a queue, open: its directories and its counters.
type queueDir struct {
	name, path string
	cfg        QueueConfig
	dirFD      int
	readyFD    int
	claimedFD  int
	delayedFD  int
	deadFD     int
	workersFD  int
	stateFD    int
	state      queueState

	// drop is the oldest ready messages this process knows of, for the
	// drop-oldest policy; found by listing, taken oldest first.
	dropMu sync.Mutex
	drop   []string
}

var (
	// ErrQueueFull is wrapped by the miss of a queue whose bounds refused
	// a message (the reject policy).
	ErrQueueFull = errors.New("queue full")
	// ErrNoQueue: no queue of that name in the home.
	ErrNoQueue = errors.New("pubsub: no such queue")
	// ErrQueueRemoved: the queue was removed while a worker was attached.
	ErrQueueRemoved = errors.New("pubsub: the queue was removed")
	// ErrLeaseExpired: the message was given back to the queue before the
	// worker acknowledged it; another delivery may handle it again.
	ErrLeaseExpired = errors.New("pubsub: the lease ran out: the message was given back to the queue")
)

// checkQueueName says what is wrong with a queue name.
func checkQueueName(name string) error {
	if !ValidQueueName(name) {
		return fmt.Errorf("pubsub: invalid queue name %q: a queue name is %s", name, QueueNameRule)
	}
	return nil
}

// EnsureQueue opens the queue name, creating it with cfg (defaults for
// zero fields) if there is none. An existing queue must take the same
// pattern, and agree on the fields in set.
func (h *Home) EnsureQueue(name string, cfg QueueConfig, set QueueFields) (created bool, err error) {
	if err := h.use(); err != nil {
		return false, err
	}
	defer h.done()
	q, created, err := h.ensureQueue(name, cfg, set)
	if err != nil {
		return false, err
	}
	q.close()
	return created, nil
}

func (h *Home) ensureQueue(name string, cfg QueueConfig, set QueueFields) (*queueDir, bool, error) {
	if err := checkQueueName(name); err != nil {
		return nil, false, err
	}
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, false, err
	}
	for range 8 {
		q, err := h.openQueue(name)
		if err == nil {
			if err := q.agrees(cfg, set); err != nil {
				q.close()
				return nil, false, err
			}
			return q, false, nil
		}
		if !errors.Is(err, ErrNoQueue) {
			return nil, false, err
		}
		err = h.createQueue(name, cfg)
		if errors.Is(err, fsys.ErrExist) {
			continue // made by another process meanwhile: open it
		}
		if err != nil {
			return nil, false, err
		}
		q, err = h.openQueue(name)
		return q, err == nil, err
	}
	return nil, false, fmt.Errorf("pubsub: queue %s: made and removed again and again", name)
}

// agrees checks an existing queue against what a caller asked for.
func (q *queueDir) agrees(want QueueConfig, set QueueFields) error {
	have := q.cfg
	var diff []string
	note := func(f QueueFields, what string, a, b any) {
		if set&f != 0 && a != b {
			diff = append(diff, fmt.Sprintf("%s %v, not %v", what, a, b))
		}
	}
	if have.Pattern != want.Pattern {
		diff = append(diff, fmt.Sprintf("pattern %q, not %q", have.Pattern, want.Pattern))
	}
	note(FieldMaxMessages, "at most", have.MaxMessages, want.MaxMessages)
	note(FieldMaxBytes, "at most bytes", have.MaxBytes, want.MaxBytes)
	note(FieldMaxAge, "maximum age", have.MaxAge, want.MaxAge)
	note(FieldDropOldest, "drop oldest", have.DropOldest, want.DropOldest)
	note(FieldLease, "lease", have.Lease, want.Lease)
	note(FieldMaxDeliveries, "maximum deliveries", have.MaxDeliveries, want.MaxDeliveries)
	note(FieldRetryDelay, "retry delay", have.RetryDelay, want.RetryDelay)
	if len(diff) > 0 {
		return fmt.Errorf("pubsub: queue %s exists with %s: remove it first to change it", q.name, strings.Join(diff, "; "))
	}
	return nil
}

// createQueue builds the queue in tmp/ and renames it into HOME/queues,
// so that nobody sees a queue half made.
func (h *Home) createQueue(name string, cfg QueueConfig) error {
	if err := fsys.Mkdirat(h.homeFD, QueuesDir, h.access.dirMode); err != nil && !errors.Is(err, fsys.ErrExist) {
		return fmt.Errorf("pubsub: create %s: %w", h.channelPath(QueuesDir), err)
	}
	build := "queue-" + name + "-" + channelName("q")
	staging := h.tmpPath(build)
	if err := fsys.Mkdirat(h.tmpFD, build, h.access.dirMode); err != nil {
		return fmt.Errorf("pubsub: create queue: %w", withPath(err, staging))
	}
	err := h.buildQueue(build, staging, cfg)
	if err == nil {
		var queuesFD int
		if queuesFD, err = fsys.OpenDirAt(h.homeFD, QueuesDir); err == nil {
			err = fsys.RenameNoReplace(h.tmpFD, build, queuesFD, name)
			fsys.Close(queuesFD)
		}
	}
	if err != nil {
		_ = os.RemoveAll(staging)
		if errors.Is(err, fsys.ErrExist) || errors.Is(err, fsys.ErrNotEmpty) {
			return fsys.ErrExist
		}
		return fmt.Errorf("pubsub: create queue %s: %w", name, err)
	}
	return nil
}

func (h *Home) buildQueue(build, staging string, cfg QueueConfig) error {
	dirFD, err := fsys.OpenDirAt(h.tmpFD, build)
	if err != nil {
		return err
	}
	defer fsys.Close(dirFD)
	if err := fsys.Fchmod(dirFD, h.access.dirMode); err != nil {
		return err
	}
	for _, d := range []string{readyDir, claimedDir, delayedDir, deadDir, workersDir} {
		if err := fsys.Mkdirat(dirFD, d, h.access.dirMode); err != nil {
			return err
		}
		fd, err := fsys.OpenDirAt(dirFD, d)
		if err != nil {
			return err
		}
		err = fsys.Fchmod(fd, h.access.dirMode)
		fsys.Close(fd)
		if err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		text string
		size int64
	}{{queueConfig, cfg.queueLine(), 0}, {queueStateF, "", stateSize}} {
		fd, err := fsys.CreateExcl(dirFD, f.name, h.access.fileMode)
		if err != nil {
			return err
		}
		err = fsys.Fchmod(fd, h.access.fileMode)
		if err == nil && f.text != "" {
			err = fsys.WriteAt(fd, []byte(f.text), 0)
		}
		if err == nil && f.size > 0 {
			err = fsys.Truncate(fd, f.size)
		}
		if err == nil && f.name == queueStateF {
			var mem []byte
			if mem, err = fsys.MapShared(fd, stateSize); err == nil {
				queueState{mem}.field(offMagic).Store(stateMagic)
				fsys.Unmap(mem)
			}
		}
		fsys.Close(fd)
		if err != nil {
			return err
		}
	}
	if err := fsys.Mkfifo(dirFD, staging, queueNotify, h.access.fileMode); err != nil {
		return err
	}
	fd, err := fsys.OpenFIFOPeek(dirFD, queueNotify)
	if err != nil {
		return err
	}
	defer fsys.Close(fd)
	return fsys.Fchmod(fd, h.access.fileMode)
}

// openQueue opens the queue name: ErrNoQueue if there is none.
func (h *Home) openQueue(name string) (*queueDir, error) {
	if err := checkQueueName(name); err != nil {
		return nil, err
	}
	path := filepath.Join(h.dir, QueuesDir, name)
	q := &queueDir{name: name, path: path, dirFD: -1, readyFD: -1, claimedFD: -1, delayedFD: -1, deadFD: -1, workersFD: -1, stateFD: -1}
	err := q.open(h)
	if err != nil {
		q.close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoQueue, name)
		}
		return nil, fmt.Errorf("pubsub: open queue %s: %w", path, err)
	}
	return q, nil
}

func (q *queueDir) open(h *Home) error {
	queuesFD, err := fsys.OpenDirAt(h.homeFD, QueuesDir)
	if err != nil {
		return err
	}
	q.dirFD, err = fsys.OpenDirAt(queuesFD, q.name)
	fsys.Close(queuesFD)
	if err != nil {
		return err
	}
	st, err := fsys.Fstat(q.dirFD)
	if err != nil {
		return err
	}
	if !h.access.trusts(&st) {
		return fmt.Errorf("not this home's: %w", fsys.ErrAccess)
	}
	text, err := fsys.ReadSmall(q.dirFD, queueConfig, maxConfig)
	if err != nil {
		return err
	}
	if q.cfg, err = parseQueueLine(text); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, d := range []struct {
		fd   *int
		name string
	}{{&q.readyFD, readyDir}, {&q.claimedFD, claimedDir}, {&q.delayedFD, delayedDir}, {&q.deadFD, deadDir}, {&q.workersFD, workersDir}} {
		if *d.fd, err = fsys.OpenDirAt(q.dirFD, d.name); err != nil {
			return err
		}
	}
	q.stateFD, err = fsys.OpenFileRW(q.dirFD, queueStateF)
	if err != nil {
		return err
	}
	if st, err := fsys.Fstat(q.stateFD); err != nil || !st.IsRegular() || st.Size < stateSize {
		return errors.New("state: not a file of the size this version writes")
	}
	mem, err := fsys.MapShared(q.stateFD, stateSize)
	if err != nil {
		return err
	}
	q.state = queueState{mem}
	if q.state.field(offMagic).Load() != stateMagic {
		return errors.New("state: not written by this version")
	}
	return nil
}

func (q *queueDir) close() {
	fsys.Unmap(q.state.mem)
	q.state.mem = nil
	for _, fd := range []*int{&q.readyFD, &q.claimedFD, &q.delayedFD, &q.deadFD, &q.workersFD, &q.stateFD, &q.dirFD} {
		fsys.Close(*fd)
		*fd = -1
	}
}

// RemoveQueue removes the queue name with every message in it, dead
// letters included. Workers attached to it get ErrQueueRemoved.
func (h *Home) RemoveQueue(name string) error {
	if err := h.use(); err != nil {
		return err
	}
	defer h.done()
	if err := checkQueueName(name); err != nil {
		return err
	}
	path := filepath.Join(h.dir, QueuesDir, name)
	gone := h.tmpPath(removingName("queue-"+name, false))
	if err := os.Rename(path, gone); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNoQueue, name)
		}
		return fmt.Errorf("pubsub: remove queue %s: %w", name, err)
	}
	h.routes.dirty.Store(true)
	wakeWorkers(gone)
	// A worker may still move a message inside it meanwhile: list again.
	err := os.RemoveAll(gone)
	for i := 0; i < 10 && errors.Is(err, fsys.ErrNotEmpty); i++ {
		err = os.RemoveAll(gone)
	}
	if err != nil {
		return fmt.Errorf("pubsub: remove queue %s: %w", name, err)
	}
	return nil
}

// wakeWorkers writes a record for no message into the FIFO of the queue
// directory dir, so that the workers parked on it wake, and find the
// queue removed.
func wakeWorkers(dir string) {
	dirFD, err := fsys.OpenDir(dir)
	if err != nil {
		return
	}
	defer fsys.Close(dirFD)
	fd, err := fsys.OpenFIFOWriter(dirFD, queueNotify)
	if err != nil {
		return // no worker reads it
	}
	defer fsys.Close(fd)
	var rec [queueRecordSize]byte
	_ = fsys.WriteRecord(fd, rec[:])
}

// admit counts a message of size bytes into the queue, if its bounds
// allow: messages and bytes are added first and taken back if over, so
// that concurrent publishers never exceed them together.
func (q *queueDir) admit(size int64) bool {
	n := q.state.add(offMessages, 1)
	b := q.state.add(offBytes, size)
	if n <= q.cfg.MaxMessages && b <= q.cfg.MaxBytes {
		return true
	}
	q.uncount(size)
	return false
}

// uncount takes a message of size bytes out of the counts.
func (q *queueDir) uncount(size int64) {
	q.state.add(offMessages, -1)
	q.state.add(offBytes, -size)
}

// QueueInfo describes a queue; the root package documents each field.
type QueueInfo struct {
	Name     string
	Dir      string
	Config   QueueConfig
	Workers  int // attached and alive
	Ready    int
	InFlight int
	Delayed  int
	Dead     int
	Messages int64 // counted: ready, delayed and in flight
	Bytes    int64
	Dropped  int64
	Expired  int64
	Rejected int64
	DeadMade int64
}

// Queues lists the queues of the home, sorted by name; one that cannot be
// read is left out, and named in the error.
func (h *Home) Queues() ([]QueueInfo, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	queuesFD, err := fsys.OpenDirAt(h.homeFD, QueuesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pubsub: list queues: %w", err)
	}
	names, err := fsys.ReadDirNames(queuesFD)
	fsys.Close(queuesFD)
	if err != nil {
		return nil, fmt.Errorf("pubsub: list queues: %w", err)
	}
	slices.Sort(names)
	var out []QueueInfo
	var errs []error
	for _, name := range names {
		if !ValidQueueName(name) {
			continue
		}
		q, err := h.openQueue(name)
		if errors.Is(err, ErrNoQueue) {
			continue
		}
		if err != nil {
			errs = append(errs, err) // the others are listed all the same
			continue
		}
		out = append(out, q.info())
		q.close()
	}
	return out, errors.Join(errs...)
}

func (q *queueDir) info() QueueInfo {
	count := func(fd int) int {
		n := 0
		_ = fsys.EachName(fd, func(string) { n++ })
		return n
	}
	info := QueueInfo{Name: q.name, Dir: q.path, Config: q.cfg,
		Ready: count(q.readyFD), InFlight: count(q.claimedFD), Delayed: count(q.delayedFD), Dead: count(q.deadFD),
		Messages: q.state.load(offMessages), Bytes: q.state.load(offBytes), Dropped: q.state.load(offDropped),
		Expired: q.state.load(offExpired), Rejected: q.state.load(offRejected), DeadMade: q.state.load(offDead)}
	_ = fsys.EachName(q.workersFD, func(id string) {
		if validWorkerID(id) && q.workerAlive(id) {
			info.Workers++
		}
	})
	return info
}

// QueueInfo describes the queue name.
func (h *Home) QueueInfo(name string) (QueueInfo, error) {
	if err := h.use(); err != nil {
		return QueueInfo{}, err
	}
	defer h.done()
	q, err := h.openQueue(name)
	if err != nil {
		return QueueInfo{}, err
	}
	defer q.close()
	return q.info(), nil
}

// DeadLetter is a message a queue gave up on.
type DeadLetter struct {
	Msg        wire.Message
	Deliveries int
	Key        string
	Err        error // set when the file could not be read or decoded
}

// DeadLetters lists the dead letters of the queue name, oldest first.
func (h *Home) DeadLetters(name string) ([]DeadLetter, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	q, err := h.openQueue(name)
	if err != nil {
		return nil, err
	}
	defer q.close()
	names, err := fsys.ReadDirNames(q.deadFD)
	if err != nil {
		return nil, fmt.Errorf("pubsub: list dead letters of %s: %w", name, err)
	}
	slices.Sort(names)
	var out []DeadLetter
	for _, n := range names {
		k, count, ok := parseReadyName(n)
		if !ok {
			continue
		}
		dl := DeadLetter{Deliveries: count, Key: k.String()}
		data, err := readMessageFile(q.deadFD, n, 0, nil)
		if err == nil {
			err = wire.DecodeTo(data, &dl.Msg)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // requeued or purged meanwhile
		}
		dl.Err = err
		out = append(out, dl)
	}
	return out, nil
}

// RequeueDeadLetters makes the dead letters of the queue name whose keys
// are given (every one, if none is) ready again, with their deliveries
// counted from zero, and returns how many. Each counts against the
// queue's bounds again; one that does not fit stays a dead letter, and
// the error says so.
func (h *Home) RequeueDeadLetters(name string, keys ...string) (int, error) {
	return h.eachDeadLetter(name, keys, func(q *queueDir, n string, k queueKey, size int64, nt *notifier) error {
		if !q.admit(size) {
			return fmt.Errorf("%w: %s", ErrQueueFull, q.name)
		}
		if err := fsys.Renameat(q.deadFD, n, q.readyFD, readyName(k, 0)); err != nil {
			q.uncount(size)
			return err
		}
		if !notifyQueue(q, nt, k, 0) {
			q.state.add(offUnnotfied, 1)
		}
		return nil
	})
}

// PurgeDeadLetters removes the dead letters of the queue name whose keys
// are given (every one, if none is), and returns how many.
func (h *Home) PurgeDeadLetters(name string, keys ...string) (int, error) {
	return h.eachDeadLetter(name, keys, func(q *queueDir, n string, _ queueKey, _ int64, _ *notifier) error {
		return fsys.Unlinkat(q.deadFD, n)
	})
}

func (h *Home) eachDeadLetter(name string, keys []string, f func(q *queueDir, n string, k queueKey, size int64, nt *notifier) error) (int, error) {
	if err := h.use(); err != nil {
		return 0, err
	}
	defer h.done()
	q, err := h.openQueue(name)
	if err != nil {
		return 0, err
	}
	defer q.close()
	nt := newNotifier()
	defer nt.close()
	names, err := fsys.ReadDirNames(q.deadFD)
	if err != nil {
		return 0, fmt.Errorf("pubsub: list dead letters of %s: %w", name, err)
	}
	slices.Sort(names)
	all := len(keys) == 0
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	done := 0
	var errs []error
	for _, n := range names {
		k, _, ok := parseReadyName(n)
		// want empties as keys are found: whether all were asked for is
		// decided once, above.
		if !ok || (!all && !want[k.String()]) {
			continue
		}
		delete(want, k.String())
		st, err := fsys.Fstatat(q.deadFD, n)
		if err == nil {
			err = f(q, n, k, st.Size, nt)
		}
		switch {
		case err == nil:
			done++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("dead letter %s: %w", k, err))
		}
	}
	for k := range want {
		errs = append(errs, fmt.Errorf("pubsub: no dead letter %s in queue %s", k, name))
	}
	return done, errors.Join(errs...)
}

// SeedQueue fills the queue name with n copies of content, for
// benchmarks: one message file, linked under n names into ready/, counted
// against the bounds as n messages. Workers list ready/ to find them.
func (h *Home) SeedQueue(name string, n int, content []byte) error {
	if err := h.use(); err != nil {
		return err
	}
	defer h.done()
	q, err := h.openQueue(name)
	if err != nil {
		return err
	}
	defer q.close()
	msg := wire.Message{ID: newID(), Timestamp: time.Now().UnixMicro(), Topic: q.cfg.Pattern}
	prefix, err := encodePrefix(&msg, len(content))
	if err != nil {
		return err
	}
	s, err := h.stagePrefix(prefix, content, msg.ID, true)
	if err != nil {
		return err
	}
	defer s.discard()
	start := uint64(time.Now().UnixNano())
	for i := range n {
		k := queueKey{entered: start + uint64(i), id: msg.ID}
		if err := s.link(q.readyFD, readyName(k, 0)); err != nil {
			return err
		}
		q.state.add(offMessages, 1)
		q.state.add(offBytes, s.size)
	}
	q.state.add(offUnnotfied, 1)
	return nil
}
