package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// A read takes up to rawSize bytes from the FIFO at first, at least
// wire.MaxFrame, so a frame always fits once the buffer is emptied,
// whatever the PIPE_BUF of the publisher that wrote it. A read that fills
// it grows it to rawMax, a whole FIFO: a busy channel then empties its
// FIFO in one read, and a publisher waiting for room wakes once, not once
// a page (1to1-async 1.15 times as fast, docs/PERFORMANCE.md). An idle
// channel keeps the small one.
const (
	rawSize = 4096
	rawMax  = 64 << 10
)

// Channel is a subscription: a directory HOME/{topic}_{random}_{pid} with
// a FIFO that publishers announce message ids on, and one file per
// pending message. Several goroutines may read it at once.
type Channel struct {
	home    *Home
	topic   string
	pattern topic.Pattern
	without []string // headers of the messages it refuses
	name    string
	dir     string

	dirFD  int      // the channel directory
	lockFD int      // flock held for the channel's lifetime
	keep   *keepEnd // our own write end of the FIFO (see fsys.OpenFIFOReader)
	fifo   *os.File // read end, in the runtime poller
	rc     syscall.RawConn
	tmpfs  bool

	turn turn // one reader at a time

	// Guarded by turn.
	raw       []byte // rawSize, or rawMax once a read filled it
	rawLen    int
	recs      []record            // read from the FIFO, not yet taken
	scanned   []uint64            // found in the directory without an announcement
	junk      int                 // names in the directory that are not messages
	retry     []uint64            // ids whose reading failed for a passing reason
	early     earlyTaken          // ids taken by listing, whose announcement may come late
	announced map[uint64]struct{} // ids in scanned taken through their announcement
	rescan    bool                // list the directory before reporting it empty
	pace      pace                // sparse or busy (see sparseAfter)
	hookDone  <-chan struct{}     // the Done of the context wakeWhenDone hooked
	hookStop  func()              // takes that hook off

	recBuf [rawSize / 8]record // most reads' records fit, more are appended

	spare  atomic.Pointer[[]byte] // a message file's buffer handed back by Recycle
	stream wire.Stream            // what the last message decoded held, most often the next one's too

	// The function readFIFO hands the poller, made once: a closure per
	// call would be an allocation per wake-up. Its inputs and results.
	readFn  func(fd uintptr) bool
	blockFn func(fd uintptr) // the same for a wait outside the poller
	rdWait  bool
	rdUntil time.Time
	rdN     int
	rdErr   error

	done      chan struct{}
	closeOnce sync.Once
	leak      runtime.Cleanup
}

// NewChannel creates a channel for the pattern topicPattern, refusing
// messages with any of the headers without. The channel reads from its
// creation on.
func (h *Home) NewChannel(topicPattern string, without []string) (*Channel, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	p, err := topic.Compile(topicPattern)
	if err != nil {
		return nil, err
	}
	if len(topicPattern) > maxChannelTopic {
		return nil, &topic.Error{Topic: topicPattern, Pattern: true,
			Reason: fmt.Sprintf("longer than %d bytes, the most a channel directory name leaves room for", maxChannelTopic)}
	}
	for range 8 {
		c, err := h.createChannel(topicPattern, p, without)
		if errors.Is(err, fsys.ErrExist) {
			continue // 62^12 names: only a broken random source gets here twice
		}
		return c, err
	}
	return nil, errors.New("pubsub: could not find a free channel name")
}

// createChannel builds the channel inside tmp/ and renames it into the
// home only once its FIFO has a reader, so no publisher ever sees a Go
// channel that is not reading yet.
func (h *Home) createChannel(pattern string, p topic.Pattern, without []string) (*Channel, error) {
	name := channelName(pattern)
	staging := h.tmpPath(name)
	if err := fsys.Mkdirat(h.tmpFD, name, h.access.dirMode); err != nil {
		return nil, fmt.Errorf("pubsub: create channel: %w", withPath(err, staging))
	}
	c := &Channel{
		home: h, topic: pattern, pattern: p, without: without, name: name, dir: h.channelPath(name),
		dirFD: -1, lockFD: -1, keep: &keepEnd{fd: -1},
		turn: newTurn(), done: make(chan struct{}),
	}
	if err := c.build(staging); err != nil {
		c.release()
		_ = os.RemoveAll(staging) // never in the home: nobody else saw it
		return nil, fmt.Errorf("pubsub: create channel: %w", err)
	}
	fds := leakedChannel{home: h.dir, log: h.log, name: name, keep: c.keep, dirFD: c.dirFD, lockFD: c.lockFD}
	c.leak = runtime.AddCleanup(c, (*leakedChannel).remove, &fds)
	return c, nil
}

// build makes the channel in tmp/ and moves it into the home.
func (c *Channel) build(staging string) (err error) {
	h := c.home
	if c.dirFD, err = fsys.OpenDirAt(h.tmpFD, c.name); err != nil {
		return err
	}
	if err = fsys.Fchmod(c.dirFD, h.access.dirMode); err != nil {
		return fmt.Errorf("chmod %s: %w", staging, err)
	}
	if c.lockFD, err = fsys.Lock(c.dirFD, LockName, h.access.fileMode); err != nil {
		return err
	}
	if err = fsys.WriteAt(c.lockFD, []byte(LockLine(c.without)), 0); err != nil {
		return fmt.Errorf("write %s: %w", LockName, err)
	}
	if err = fsys.Mkfifo(c.dirFD, staging, QueueName, h.access.fileMode); err != nil {
		return err
	}
	if c.fifo, c.keep.fd, err = fsys.OpenFIFOReader(c.dirFD, QueueName); err != nil {
		return err
	}
	// Exact modes, whatever the umask, through descriptors, not names: in
	// a shared home a group member could swap a name for a symbolic link.
	if err = fsys.Fchmod(c.keep.fd, h.access.fileMode); err != nil {
		return fmt.Errorf("chmod %s: %w", QueueName, err)
	}
	if err = fsys.Fchmod(c.lockFD, h.access.fileMode); err != nil {
		return fmt.Errorf("chmod %s: %w", LockName, err)
	}
	if c.rc, err = c.fifo.SyscallConn(); err != nil {
		return err
	}
	c.tmpfs = fsys.IsTmpfs(c.dirFD)
	if err := fsys.RenameNoReplace(h.tmpFD, c.name, h.homeFD, c.name); err != nil {
		if le, ok := err.(*os.LinkError); ok {
			return &os.LinkError{Op: le.Op, Old: staging, New: c.dir, Err: le.Err}
		}
		return err
	}
	return nil
}

// leakedChannel is what a Channel garbage collected without Close still
// holds: the cleanup removes the channel, or publishers would keep
// finding it live (its lock held) but never read.
type leakedChannel struct {
	home          string
	log           *slog.Logger
	name          string
	keep          *keepEnd
	dirFD, lockFD int
}

func (l *leakedChannel) remove() {
	l.keep.close()
	fsys.Close(l.dirFD)
	_, _ = removeChannel(l.home, l.name, false)
	fsys.Close(l.lockFD)
	l.log.Warn("pubsub: channel garbage collected without Close; removed it", "dir", filepath.Join(l.home, l.name))
}

// keepEnd is the channel's own write end of its FIFO. The context hook
// writes wake-ups to it, and may fire after the channel is closed or
// collected: the lock keeps it from writing to a descriptor closed, and
// perhaps reused, under it.
type keepEnd struct {
	mu      sync.Mutex
	fd      int
	blocked atomic.Bool // the reader waits outside the poller (see waitSparse)
}

// wake writes a wake-up record. A full FIFO refuses it, and needs none.
func (k *keepEnd) wake() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fd >= 0 {
		_ = fsys.WriteRecord(k.fd, wire.Wake[:])
	}
}

func (k *keepEnd) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	fsys.Close(k.fd)
	k.fd = -1
}

// Topic returns the channel's topic, wildcards included.
func (c *Channel) Topic() string { return c.topic }

// Dir returns the channel's directory.
func (c *Channel) Dir() string { return c.dir }

// Logger returns the logger of the channel's home.
func (c *Channel) Logger() *slog.Logger { return c.home.log }

func (c *Channel) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Close deletes the channel: its directory, FIFO and every message not yet
// taken. It wakes goroutines blocked in Next, which return ErrClosed.
// Later calls return nil.
func (c *Channel) Close() (err error) {
	c.closeOnce.Do(func() {
		c.leak.Stop()
		close(c.done)
		c.keep.wake()      // wakes a reader blocked outside the poller
		_ = c.fifo.Close() // wakes a reader parked in the poller, and waits for one outside
		c.turn.keep()      // wait for a reader in the middle of a message
		c.stopHook()
		// Leave the home first, atomically, so publishers stop linking
		// into a directory that is being emptied.
		_, err = removeChannel(c.home.dir, c.name, false)
		c.fifo = nil
		c.release()
		c.spare.Store(nil)
	})
	return err
}

// Recycle hands back the Storage of a message taken from c, which its
// receiver no longer uses, to read a later message file into. The channel
// keeps the last buffer handed back, and reads into it a message that
// fills at least half of it, so that a small message does not pin a
// large buffer.
func (c *Channel) Recycle(storage []byte) {
	if cap(storage) == 0 || c.isClosed() {
		return
	}
	c.spare.Store(&storage)
}

// spareFor returns the recycled buffer, emptied, if a message file of
// size bytes fits it and fills at least half of it; nil otherwise.
func (c *Channel) spareFor(size int64) []byte {
	p := c.spare.Load()
	if p == nil || int64(cap(*p)) < size || int64(cap(*p)) > 2*size {
		return nil
	}
	if !c.spare.CompareAndSwap(p, nil) {
		return nil // taken meanwhile by a Recycle: the next message has it
	}
	return (*p)[:0]
}

// release closes the descriptors; the lock goes last, so the channel is
// judged alive until its directory is gone.
func (c *Channel) release() {
	if c.fifo != nil {
		_ = c.fifo.Close()
	}
	c.keep.close()
	fsys.Close(c.dirFD)
	fsys.Close(c.lockFD)
	c.dirFD, c.lockFD = -1, -1
}
