package pubsub

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// fixedEntries are the names every Go channel directory holds besides
// its messages: the FIFO and the lock file.
const fixedEntries = 2

// idleRescan is how often a parked reader lists its directory for message
// files that no announcement named.
const idleRescan = time.Second

// maxChannelTopic keeps {topic}_{12}_{pid} within NAME_MAX (255), with
// room for a 7-digit pid and the ".closing" suffix Close renames it with.
const maxChannelTopic = 255 - len("_123456789012_1234567.closing")

// rawSize is how many bytes of ids one read takes from the FIFO. It is at
// least wire.MaxFrame, so a frame always fits once the buffer is emptied.
const rawSize = 4096

// Channel is a subscription: a directory HOME/{topic}_{random}_{pid} with
// a FIFO queue that publishers announce message ids on, and one file per
// pending message.
//
// A channel is open for reading from the moment other processes can see
// it. Several goroutines may call Fetch, Next, Subscribe or Messages at
// once; each message is delivered to exactly one of them. A Channel must
// not be copied.
type Channel struct {
	home    *Home
	topic   string
	pattern topic.Pattern
	without []string // headers of the messages it refuses (WithoutHeader)
	name    string
	dir     string

	dirFD  int      // the channel directory
	lockFD int      // flock held for the channel's lifetime
	keepFD int      // our own write end of the FIFO (see fsys.OpenFIFOReader)
	fifo   *os.File // read end, in the runtime poller
	rc     syscall.RawConn
	tmpfs  bool

	// sem serialises readers. A channel of size one, not a mutex, so a
	// goroutine waiting for it can give up when its context is done.
	sem     chan struct{}
	waiting atomic.Bool // the holder of sem is parked on the FIFO

	// Guarded by sem.
	raw     [rawSize]byte
	rawLen  int
	recs    []record // read from the FIFO, not yet taken
	scanned []uint64 // found in the directory without an announcement
	junk    int      // names in the directory that are not messages
	retry   []uint64 // ids whose reading failed for a passing reason
	rescan  bool     // list the directory before reporting it empty

	recBuf [rawSize / 8]record

	// The function readFIFO hands the poller, made once: a closure per
	// call would be an allocation per wake-up. Its inputs and results.
	readFn func(fd uintptr) bool
	rdWait bool
	rdN    int
	rdErr  error

	done      chan struct{}
	closeOnce sync.Once
	leak      runtime.Cleanup
}

// NewChannel creates a channel for topic, in which '=' stands for exactly
// one word and '+' for one or more words (see the README for how this
// differs from formix-pubsub). The channel reads from its creation on:
// every message published after NewChannel returns reaches it. Call
// [Channel.Close] when done, which deletes the channel and its unread
// messages.
func (h *Home) NewChannel(topicPattern string, opts ...ChannelOption) (*Channel, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	p, err := topic.Compile(topicPattern)
	if err != nil {
		return nil, err
	}
	cfg, err := newChannelConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(topicPattern) > maxChannelTopic {
		return nil, &TopicError{Topic: topicPattern, Pattern: true,
			Reason: fmt.Sprintf("longer than %d bytes, the most a channel directory name leaves room for", maxChannelTopic)}
	}
	for range 8 {
		c, err := h.createChannel(topicPattern, p, cfg)
		if errors.Is(err, unix.EEXIST) {
			continue // 62^12 names: only a broken random source gets here twice
		}
		return c, err
	}
	return nil, errors.New("pubsub: could not find a free channel name")
}

// createChannel builds the channel inside tmp/ and renames it into the
// home only once its FIFO has a reader, so no publisher ever sees a Go
// channel that is not reading yet.
func (h *Home) createChannel(pattern string, p topic.Pattern, cfg channelConfig) (*Channel, error) {
	name := pattern + "_" + randomWord(12) + "_" + strconv.Itoa(os.Getpid())
	staging := filepath.Join(h.dir, "tmp", name)
	if err := unix.Mkdirat(h.tmpFD, name, h.access.dirMode); err != nil {
		return nil, fmt.Errorf("pubsub: create channel: %w", &fs.PathError{Op: "mkdir", Path: staging, Err: err})
	}
	c := &Channel{
		home: h, topic: pattern, pattern: p, without: cfg.without, name: name, dir: filepath.Join(h.dir, name),
		dirFD: -1, lockFD: -1, keepFD: -1,
		sem: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if err := c.build(staging); err != nil {
		c.release()
		_ = os.RemoveAll(staging)
		return nil, fmt.Errorf("pubsub: create channel: %w", err)
	}
	fds := leakedChannel{h: h, name: name, keepFD: c.keepFD, dirFD: c.dirFD, lockFD: c.lockFD}
	c.leak = runtime.AddCleanup(c, (*leakedChannel).reclaim, &fds)
	return c, nil
}

// build makes the channel in tmp/ and moves it into the home.
func (c *Channel) build(staging string) (err error) {
	h := c.home
	if c.dirFD, err = fsys.OpenDirAt(h.tmpFD, c.name); err != nil {
		return err
	}
	if err = unix.Fchmod(c.dirFD, h.access.dirMode); err != nil {
		return &fs.PathError{Op: "chmod", Path: staging, Err: err}
	}
	if c.lockFD, err = fsys.Lock(c.dirFD, lockName, h.access.fileMode); err != nil {
		return err
	}
	if _, err = unix.Pwrite(c.lockFD, []byte(lockLine(c.without)), 0); err != nil {
		return &fs.PathError{Op: "write", Path: lockName, Err: err}
	}
	if err = fsys.Mkfifo(c.dirFD, "queue", h.access.fileMode); err != nil {
		return err
	}
	if c.fifo, c.keepFD, err = fsys.OpenFIFOReader(c.dirFD, "queue"); err != nil {
		return err
	}
	// Exact modes, whatever the umask, through descriptors, not names: in
	// a shared home a group member could swap a name for a symbolic link.
	if err = unix.Fchmod(c.keepFD, h.access.fileMode); err != nil {
		return &fs.PathError{Op: "chmod", Path: "queue", Err: err}
	}
	if err = unix.Fchmod(c.lockFD, h.access.fileMode); err != nil {
		return &fs.PathError{Op: "chmod", Path: lockName, Err: err}
	}
	if c.rc, err = c.fifo.SyscallConn(); err != nil {
		return err
	}
	c.tmpfs = fsys.IsTmpfs(c.dirFD)
	if err = unix.Renameat2(h.tmpFD, c.name, h.homeFD, c.name, unix.RENAME_NOREPLACE); err != nil {
		return &os.LinkError{Op: "rename", Old: staging, New: c.dir, Err: err}
	}
	return nil
}

// leakedChannel is what a Channel garbage collected without Close still
// holds: the cleanup removes the channel, or publishers would keep
// finding it live (its lock held) but never read.
type leakedChannel struct {
	h                     *Home
	name                  string
	keepFD, dirFD, lockFD int
}

func (l *leakedChannel) reclaim() {
	fsys.Close(l.keepFD)
	fsys.Close(l.dirFD)
	dir := filepath.Join(l.h.dir, l.name)
	gone := filepath.Join(l.h.dir, "tmp", l.name+".closing")
	if os.Rename(dir, gone) != nil {
		gone = dir
	}
	_ = os.RemoveAll(gone)
	fsys.Close(l.lockFD)
	l.h.log.Warn("pubsub: channel garbage collected without Close; removed it", "dir", dir)
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomWord(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Topic returns the channel's topic, wildcards included.
func (c *Channel) Topic() string { return c.topic }

// Dir returns the channel's directory.
func (c *Channel) Dir() string { return c.dir }

// Fetch returns the next message without waiting, or [ErrNoMessage] when
// none is pending. A message file that cannot be decoded is returned as a
// *[MessageError] and set aside; the next call goes on with the next
// message. After Close, Fetch returns [ErrClosed].
func (c *Channel) Fetch() (*Message, error) {
	for acquired := false; !acquired; {
		select {
		case <-c.done:
			return nil, ErrClosed
		case c.sem <- struct{}{}:
			acquired = true
		default:
			if c.waiting.Load() {
				// Another goroutine is parked on the FIFO: it is empty.
				return nil, ErrNoMessage
			}
			// Another reader is taking a message; it will not be long.
			runtime.Gosched()
		}
	}
	defer func() { <-c.sem }()
	if c.isClosed() {
		return nil, ErrClosed
	}
	return c.fetchLocked()
}

// Next waits for the next message and returns it. It returns the context's
// error (its cause, if it has one) when ctx is done first, [ErrClosed] when
// the channel is closed, and a *[MessageError] for a message that cannot
// be decoded.
func (c *Channel) Next(ctx context.Context) (*Message, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-c.done:
			return nil, ErrClosed
		case c.sem <- struct{}{}:
		}
		if c.isClosed() {
			<-c.sem
			return nil, ErrClosed
		}
		m, err := c.fetchLocked()
		if err == ErrNoMessage {
			err = c.waitLocked(ctx)
			if err == nil {
				m, err = c.fetchLocked()
			}
		}
		<-c.sem
		if err != ErrNoMessage {
			return m, err
		}
	}
}

func (c *Channel) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// fetchLocked takes the next pending message: first those announced on the
// FIFO, in order, then files found in the directory that no announcement
// named (a formix-pubsub publisher that met a full FIFO, a publisher killed
// between link and announcement).
func (c *Channel) fetchLocked() (*Message, error) {
	for {
		if len(c.recs) == 0 {
			c.readFIFO(false)
		}
		var id uint64
		switch {
		case len(c.retry) > 0:
			id, c.retry = c.retry[0], c.retry[1:]
		case len(c.recs) > 0 && c.recs[0].inline != nil:
			r := c.recs[0]
			c.recs = c.recs[1:]
			m, err := c.fromFrame(r.inline)
			if err == errNotForUs {
				continue
			}
			return m, err
		case len(c.recs) > 0:
			id, c.recs = c.recs[0].id, c.recs[1:]
		case len(c.scanned) > 0:
			id, c.scanned = c.scanned[0], c.scanned[1:]
		case c.rescan || c.strays():
			c.rescan = false
			c.scan()
			if len(c.scanned) == 0 {
				return nil, ErrNoMessage
			}
			continue
		default:
			return nil, ErrNoMessage
		}
		m, err := c.take(id)
		if errors.Is(err, fs.ErrNotExist) || err == errNotForUs {
			continue // taken already (found by a scan before its id arrived), or not ours
		}
		return m, err
	}
}

// waitLocked parks until the FIFO has data, ctx is done or the channel is
// closed.
func (c *Channel) waitLocked(ctx context.Context) error {
	// Wake now and then to list the directory: a publisher killed between
	// linking a message and announcing it leaves a file no id will name.
	// Set before the AfterFunc below, which must be able to override it.
	_ = c.fifo.SetReadDeadline(time.Now().Add(idleRescan))
	defer func() { _ = c.fifo.SetReadDeadline(time.Time{}) }()
	if ctx.Done() != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			_ = c.fifo.SetReadDeadline(time.Unix(1, 0))
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	c.waiting.Store(true)
	err := c.readFIFO(true)
	c.waiting.Store(false)
	switch {
	case err == nil:
		return nil
	case c.isClosed():
		return ErrClosed
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.rescan = true
		return ErrNoMessage
	}
	return err
}

// record is one entry of the FIFO: the id of a message file, or a whole
// message sent inline by a Go publisher (see wire.NextRecord).
type record struct {
	id     uint64
	inline []byte
}

// fromFrame decodes a message that came inline in the FIFO.
func (c *Channel) fromFrame(b []byte) (*Message, error) {
	var w wire.Message
	if err := wire.DecodeTo(b, &w); err != nil {
		id, _ := wire.PeekID(b)
		merr := &MessageError{Path: filepath.Join(c.dir, "queue"), ID: id, Err: err}
		c.home.log.Warn("pubsub: bad inline message skipped", "channel", c.dir, "err", err)
		return nil, merr
	}
	if !c.takes(&w) {
		return nil, errNotForUs
	}
	return fromWire(&w), nil
}

// readFIFO appends the records waiting in the FIFO to c.recs; with wait, it
// parks in the poller until there is at least one.
func (c *Channel) readFIFO(wait bool) error {
	if c.readFn == nil {
		c.readFn = func(fd uintptr) bool {
			c.rdN, c.rdErr = unix.Read(int(fd), c.raw[c.rawLen:])
			return !c.rdWait || c.rdErr != unix.EAGAIN
		}
	}
	c.rdWait = wait
	err := c.rc.Read(c.readFn)
	n, rerr := c.rdN, c.rdErr
	c.rdErr = nil
	if err != nil {
		return err
	}
	if rerr != nil && rerr != unix.EAGAIN {
		return &fs.PathError{Op: "read", Path: filepath.Join(c.dir, "queue"), Err: rerr}
	}
	if n <= 0 {
		return nil
	}
	if len(c.recs) == 0 {
		c.recs = c.recBuf[:0]
	}
	c.rawLen += n
	first := len(c.recs)
	off, inline := 0, 0
	for {
		id, frame, n, ok := wire.NextRecord(c.raw[off:c.rawLen])
		if !ok {
			break
		}
		c.recs = append(c.recs, record{id: id, inline: frame})
		inline += len(frame)
		off += n
	}
	if inline > 0 {
		// c.raw is reused: the frames move to one buffer of their own,
		// one allocation per read rather than one per message.
		buf := make([]byte, 0, inline)
		for i := first; i < len(c.recs); i++ {
			if f := c.recs[i].inline; f != nil {
				buf = append(buf, f...)
				c.recs[i].inline = buf[len(buf)-len(f) : len(buf) : len(buf)]
			}
		}
	}
	c.rawLen = copy(c.raw[:], c.raw[off:c.rawLen])
	return nil
}

// strays reports whether the directory may hold messages whose ids are not
// in the FIFO. On tmpfs the directory's size counts its entries, so this
// costs two system calls; elsewhere the answer is always yes.
func (c *Channel) strays() bool {
	if !c.tmpfs {
		return true
	}
	n, ok := fsys.EntryCount(c.dirFD)
	if !ok {
		return true
	}
	pending := 0
	_ = c.rc.Control(func(fd uintptr) { pending = fsys.Pending(int(fd)) })
	// More entries than announcements can explain: strays. Fewer than the
	// junk counted: junk was removed, and the count is off until the next
	// listing. (Inline frames in the FIFO make pending/8 too high, which
	// only delays the check until the FIFO runs dry.)
	base := fixedEntries + c.junk
	return n > base+pending/8 || n < base
}

// scan lists the directory for message files, oldest id first.
// It keeps the maxScan oldest ids only, so memory stays flat however long
// the backlog: a directory of a million files is taken in passes.
func (c *Channel) scan() {
	oldest := idHeap(c.scanned[:0])
	c.junk = 0
	err := fsys.EachName(c.dirFD, func(name string) {
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil || strconv.FormatUint(id, 10) != name {
			if name != "queue" && name != lockName {
				c.junk++
			}
			return
		}
		switch {
		case len(oldest) < maxScan:
			heap.Push(&oldest, id)
		case id < oldest[0]:
			oldest[0] = id
			heap.Fix(&oldest, 0)
		}
	})
	if err != nil && !c.isClosed() && !errors.Is(err, fs.ErrNotExist) {
		c.home.log.Warn("pubsub: list channel", "dir", c.dir, "err", err)
	}
	c.scanned = oldest
	slices.Sort(c.scanned)
}

// maxScan is how many message files one listing of a channel takes on
// (a variable for tests).
var maxScan = 1 << 16

// idHeap is a max-heap of ids: its top is the newest of the oldest kept.
type idHeap []uint64

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// takes reports whether the channel is for w, and logs why not: a topic
// its pattern does not match, or a header it refuses (WithoutHeader),
// which only a publisher that does not read lock files sends.
func (c *Channel) takes(w *wire.Message) bool {
	if !c.pattern.Match(w.Topic) {
		c.home.log.Info("pubsub: dropped a message whose topic does not match the channel",
			"channel", c.dir, "topic", w.Topic, "id", w.ID)
		return false
	}
	for _, name := range c.without {
		if _, ok := w.Headers[name]; ok {
			c.home.log.Debug("pubsub: dropped a message with a header the channel refuses",
				"channel", c.dir, "header", name, "id", w.ID)
			return false
		}
	}
	return true
}

// errNotForUs is what take says of a message whose topic the channel's
// pattern does not match, or that has a header it refuses. formix-pubsub
// publishers route by a regular expression that matches more than the
// documented word semantics ("a.b" reaches "axb", "logs.+" reaches
// "logs."), and a Go channel keeps to the documentation on its side too.
var errNotForUs = errors.New("message is not for the channel")

// take reads, decodes and removes the message file named id. It returns
// an error wrapping fs.ErrNotExist when there is no such file.
func (c *Channel) take(id uint64) (*Message, error) {
	name := strconv.FormatUint(id, 10)
	data, err := readMessageFile(c.dirFD, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil {
		var w wire.Message
		if err = wire.DecodeTo(data, &w); err == nil {
			if err := unix.Unlinkat(c.dirFD, name, 0); err != nil {
				// Gone meanwhile: someone else consumed it.
				return nil, &fs.PathError{Op: "unlink", Path: name, Err: err}
			}
			if !c.takes(&w) {
				return nil, errNotForUs
			}
			return fromWire(&w), nil
		}
	}
	path := filepath.Join(c.dir, name)
	// A file this process may not read (another user's) never will be.
	if _, bad := errors.AsType[*wire.DecodeError](err); !bad && !errors.Is(err, ErrNotRegular) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, fs.ErrPermission) {
		// A passing failure (out of descriptors or memory): the message is
		// fine, so keep it for the next call.
		c.retry = append(c.retry, id)
		return nil, fmt.Errorf("pubsub: read message %s: %w", path, err)
	}
	// Set the file aside so it is reported once, and kept for a look.
	if rerr := unix.Renameat(c.dirFD, name, c.dirFD, name+".bad"); rerr == nil {
		c.junk++
	}
	merr := &MessageError{Path: path, ID: id, Err: err}
	c.home.log.Warn("pubsub: bad message set aside", "file", merr.Path, "err", err)
	return nil, merr
}

// readMessageFile reads a whole message file without following a symbolic
// link, blocking on a FIFO, or reading more than it held when opened.
func readMessageFile(dirFD int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil, fs.ErrNotExist
	}
	if err == unix.ELOOP {
		return nil, ErrNotRegular
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer fsys.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, ErrNotRegular
	}
	if uint64(st.Size) > wire.FixedSize+3*uint64(wire.MaxLen) {
		return nil, ErrTooLarge
	}
	extent := st.Size
	if extent > smallMessage {
		extent = messageExtent(fd, st.Size)
	}
	data := make([]byte, extent)
	for off := 0; off < len(data); {
		n, err := unix.Pread(fd, data[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			data = data[:off] // shrank since fstat: decode says truncated
			break
		}
		off += n
	}
	return data, nil
}

// smallMessage is the size up to which a message file is read whole at
// once: one pread, and the decoder checks the lengths. Beyond it the length
// fields are read first, so a junk file costs only what it claims.
const smallMessage = 1 << 20

// messageExtent returns how many bytes of a message file of size bytes
// to read: what its length fields add up to, or less if the file is
// shorter. A junk file (say a sparse one of gigabytes) costs only its first
// bytes: a wrong magic number or version needs no more to be refused.
func messageExtent(fd int, size int64) int64 {
	field := func(off int64) (uint64, bool) {
		var b [4]byte
		if off+4 > size {
			return 0, false
		}
		n, err := unix.Pread(fd, b[:], off)
		return uint64(binary.BigEndian.Uint32(b[:])), err == nil && n == 4
	}
	const topicAt = 4 + 1 + 8 + 8 // magic, version, id, timestamp
	if size < topicAt+4 {
		return size
	}
	var head [5]byte
	if n, err := unix.Pread(fd, head[:], 0); err != nil || n != 5 ||
		binary.BigEndian.Uint32(head[:4]) != wire.Magic || head[4] != wire.Version {
		return min(size, 5)
	}
	end := uint64(topicAt)
	for range 3 { // topic, headers, content
		n, ok := field(int64(end))
		if !ok {
			return size
		}
		end += 4 + n
		if end > uint64(size) {
			return size
		}
	}
	return int64(end)
}

// Close deletes the channel: its directory, FIFO and every message not yet
// taken. It wakes goroutines blocked in Next or Subscribe, which return
// [ErrClosed]. Close is safe to call more than once; later calls return nil.
func (c *Channel) Close() (err error) {
	c.closeOnce.Do(func() {
		c.leak.Stop()
		close(c.done)
		_ = c.fifo.Close()  // wakes a reader parked in the poller
		c.sem <- struct{}{} // wait for a reader in the middle of a message
		// Leave the home first, atomically, so publishers stop linking
		// into a directory that is being emptied.
		gone := filepath.Join(c.home.dir, "tmp", c.name+".closing")
		if rerr := os.Rename(c.dir, gone); rerr != nil {
			// Removed by someone else already (a cleanup that judged it
			// dead), or tmp/ is missing: remove it where it is, if it is.
			gone = c.dir
		}
		// A publisher holding the directory open may link one more file
		// into it before it finds the FIFO closed; list it again then.
		rerr := os.RemoveAll(gone)
		for i := 0; i < 10 && errors.Is(rerr, unix.ENOTEMPTY); i++ {
			rerr = os.RemoveAll(gone)
		}
		if rerr != nil {
			err = fmt.Errorf("pubsub: close channel: %w", rerr)
		}
		c.fifo = nil
		c.release()
	})
	return err
}

// release closes the descriptors; the lock goes last, so the channel is
// judged alive until its directory is gone.
func (c *Channel) release() {
	if c.fifo != nil {
		_ = c.fifo.Close()
	}
	fsys.Close(c.keepFD)
	fsys.Close(c.dirFD)
	fsys.Close(c.lockFD)
	c.keepFD, c.dirFD, c.lockFD = -1, -1, -1
}
