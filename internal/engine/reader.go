package engine

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
	"weak"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// idleRescan is how often a parked reader lists its directory for message
// files that no announcement named. A variable for the tests.
var idleRescan = time.Second

// Fetch takes the next message into w without waiting: ErrNoMessage when
// none is pending, ErrClosed after Close, a *BadMessage for one that
// cannot be decoded (set aside; the next call goes on).
func (c *Channel) Fetch(w *wire.Message) error {
	if err := c.turn.tryTake(c.done); err != nil {
		return err
	}
	defer c.turn.release()
	if c.isClosed() {
		return ErrClosed
	}
	return c.fetchLocked(w)
}

// Next waits for the next message and takes it into w. It returns the
// context's cause when ctx is done first, ErrClosed when the channel is
// closed, and a *BadMessage for a message that cannot be decoded.
func (c *Channel) Next(ctx context.Context, w *wire.Message) error {
	for {
		if err := c.turn.take(ctx, c.done); err != nil {
			return err
		}
		if c.isClosed() {
			c.turn.release()
			return ErrClosed
		}
		err := c.fetchLocked(w)
		if err == ErrNoMessage {
			err = c.waitLocked(ctx)
			if err == nil {
				err = c.fetchLocked(w)
			}
		}
		if err == nil {
			c.pace.taken++
		}
		c.turn.release()
		if err != ErrNoMessage {
			return err
		}
	}
}

// fetchLocked takes the next pending message: first those announced on the
// FIFO, in order, then files found in the directory that no announcement
// named (a formix-pubsub publisher that met a full FIFO, a publisher killed
// between link and announcement).
func (c *Channel) fetchLocked(w *wire.Message) error {
	for {
		if len(c.recs) == 0 {
			c.readFIFO(false)
		}
		var id uint64
		var inode uint32 // a late announcement's inode tag: take only that file
		listed := false  // found by listing the directory, not announced
		switch {
		case len(c.retry) > 0:
			id, c.retry = c.retry[0], c.retry[1:]
		case len(c.recs) > 0 && c.recs[0].inline != nil:
			r := c.takeRecord()
			err := c.fromFrame(r.inline, w)
			if err == errNotForUs {
				continue
			}
			return err
		case len(c.recs) > 0:
			r := c.takeRecord()
			if r.late && r.inode == 0 && c.early.late(r.id) {
				continue // its file was taken already; the id may be another's now
			}
			id, inode = r.id, r.inode
		case len(c.scanned) > 0:
			id, c.scanned, listed = c.scanned[0], c.scanned[1:], true
			if _, ok := c.announced[id]; ok {
				// Taken through its announcement since the listing: the id
				// may be another's now, whose own announcement brings it.
				delete(c.announced, id)
				continue
			}
		case c.rescan || c.strays():
			c.rescan = false
			c.scan()
			if len(c.scanned) == 0 {
				return ErrNoMessage
			}
			continue
		default:
			return ErrNoMessage
		}
		err := c.take(id, inode, w)
		if _, bad := errors.AsType[*BadMessage](err); err == nil || err == errNotForUs || bad {
			c.noteTaken(id, listed) // its name is free again
		}
		if errors.Is(err, fs.ErrNotExist) || err == errNotForUs {
			continue // taken already (found by a scan before its id arrived), or not ours
		}
		return err
	}
}

// noteTaken remembers the id of a file taken: one taken by listing, for
// its late announcement to skip; one taken through its announcement while
// a listing that named it is still being worked through, for the listing
// to skip. Either way the id is free again, and another publisher may
// draw it for a newer message.
func (c *Channel) noteTaken(id uint64, listed bool) {
	switch {
	case listed:
		c.early.add(id, time.Now())
	case len(c.scanned) > 0 && id >= c.scanned[0] && id <= c.scanned[len(c.scanned)-1]:
		if _, found := slices.BinarySearch(c.scanned, id); found {
			if c.announced == nil {
				c.announced = map[uint64]struct{}{}
			}
			c.announced[id] = struct{}{}
		}
	}
}

// waitLocked parks until the FIFO has data, ctx is done or the channel is
// closed.
func (c *Channel) waitLocked(ctx context.Context) error {
	// Wake now and then to list the directory: a publisher killed between
	// linking a message and announcing it leaves a file no id will name.
	// Set before the context hook is made sure of, which must be able to
	// override it.
	now := time.Now()
	rescanAt := now.Add(idleRescan)
	_ = c.fifo.SetReadDeadline(rescanAt)
	defer func() { _ = c.fifo.SetReadDeadline(time.Time{}) }()
	c.wakeWhenDone(ctx)
	if ctx.Err() != nil {
		// Done before the deadline above was set: a hook kept from an
		// earlier wait has fired already, and will not again.
		return context.Cause(ctx)
	}
	c.turn.parked.Store(true)
	var err error
	if c.pace.sparse() {
		err = c.waitSparse(ctx, now, rescanAt)
	} else {
		err = c.readFIFO(true)
	}
	c.pace.waited(ctx, now)
	c.turn.parked.Store(false)
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

// waitSparse is the wait of a reader of a sparse stream (see sparseAfter):
// parked in the poller for sparseAfter, then blocked in poll(2) until
// rescanAt; in the poller all along when maxBlocked readers of the process
// are blocked already. Its error is os.ErrDeadlineExceeded as well when it
// returns early for the caller to see that ctx is done or the channel
// closed.
func (c *Channel) waitSparse(ctx context.Context, now, rescanAt time.Time) error {
	if !now.Add(sparseAfter).Before(rescanAt) {
		return c.readFIFO(true)
	}
	// Each deadline is set before ctx is looked at: a hook that fires
	// later puts it in the past.
	_ = c.fifo.SetReadDeadline(now.Add(sparseAfter))
	if ctx.Err() != nil {
		return os.ErrDeadlineExceeded
	}
	if err := c.readFIFO(true); !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	_ = c.fifo.SetReadDeadline(rescanAt)
	if ctx.Err() != nil {
		return os.ErrDeadlineExceeded
	}
	return block(ctx, c.isClosed, &c.keep.blocked,
		func() error { return c.readFIFOBlocked(rescanAt) },
		func() error { return c.readFIFO(true) })
}

// wakeWhenDone makes sure a read parked on the FIFO returns when ctx is
// done, once the caller has set its deadline: the caller checks ctx after.
// The hook stays for the calls after this one with the same ctx, as a
// subscriber's loop makes them: registering it and taking it off again on
// every wait cost 5 µs a message, half of it between the wake-up and the
// message. A hook that fires outside a wait (its ctx done later, or after
// another ctx took its place) leaves a deadline in the past: readFIFO
// clears it, and a wait sets its own.
func (c *Channel) wakeWhenDone(ctx context.Context) {
	done := ctx.Done()
	if done == nil || done == c.hookDone {
		return
	}
	c.stopHook()
	// Weakly: the hook must not keep the FIFO of an abandoned channel
	// open for as long as ctx lives.
	fifo := weak.Make(c.fifo)
	keep := c.keep
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		if f := fifo.Value(); f != nil {
			_ = f.SetReadDeadline(time.Unix(1, 0))
		}
		if keep.blocked.Load() {
			keep.wake() // waiting outside the poller, which a deadline does not reach
		}
	})
	c.hookStop = func() {
		if !stop() {
			<-fired // running, or about to: let it finish
		}
	}
	c.hookDone = done
}

// stopHook takes off the hook wakeWhenDone set: once it returns, that hook
// has fired or never will. At most one hook is ever on.
func (c *Channel) stopHook() {
	if c.hookStop != nil {
		c.hookStop()
	}
	c.hookStop, c.hookDone = nil, nil
}

// record is one entry of the FIFO: the id of a message file, or a whole
// message sent inline by a Go publisher (see wire.NextRecord).
type record struct {
	id     uint64
	inline []byte
	late   bool   // announced after its file waited in the directory
	inode  uint32 // of a late announcement: its file's inode tag, or 0
}

// takeRecord takes the first of c.recs, and clears its slot: an idle
// channel must not keep its last burst's reads alive (inline frames hold
// on to the copy of the read they came in).
func (c *Channel) takeRecord() record {
	r := c.recs[0]
	c.recs[0] = record{}
	c.recs = c.recs[1:]
	return r
}

// fromFrame decodes a message that came inline in the FIFO.
func (c *Channel) fromFrame(b []byte, w *wire.Message) error {
	if err := c.decode(b, w); err != nil {
		id, _ := wire.PeekID(b)
		c.home.log.Warn("pubsub: bad inline message skipped", "channel", c.dir, "err", err)
		return &BadMessage{Path: filepath.Join(c.dir, QueueName), ID: id, Err: err}
	}
	if !c.takes(w) {
		return errNotForUs
	}
	return nil
}

// decode decodes the message b into w, as the next of the channel's
// stream, whose messages most often repeat the topic and the headers of
// the one before (see wire.Stream).
func (c *Channel) decode(b []byte, w *wire.Message) error {
	return c.stream.Decode(b, w)
}

// readFIFO appends the records waiting in the FIFO to c.recs; with wait, it
// parks in the poller until there is at least one.
func (c *Channel) readFIFO(wait bool) error {
	c.ensureRaw()
	if c.readFn == nil {
		c.readFn = func(fd uintptr) bool {
			c.rdN, c.rdErr = fsys.Read(int(fd), c.raw[c.rawLen:])
			return !c.rdWait || c.rdErr != fsys.ErrWouldBlock
		}
	}
	c.rdWait = wait
	err := c.rc.Read(c.readFn)
	// A deadline in the past left by a context hook that fired outside a
	// wait: a read that does not wait has no deadline. Twice at most: the
	// one hook on may fire between the clearing and the read, and fires
	// once.
	for range 2 {
		if wait || !errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		_ = c.fifo.SetReadDeadline(time.Time{})
		err = c.rc.Read(c.readFn)
	}
	n, rerr := c.rdN, c.rdErr
	c.rdErr = nil
	if err != nil {
		return err
	}
	return c.took(n, rerr)
}

// readFIFOBlocked is readFIFO(true) with the wait blocked in poll(2) (see
// waitSparse) rather than parked in the poller, until the time given:
// then os.ErrDeadlineExceeded. Close waits for it to return, and wakes it
// first with a wake-up record; so does the context hook.
func (c *Channel) readFIFOBlocked(until time.Time) error {
	c.ensureRaw()
	if c.blockFn == nil {
		c.blockFn = func(fd uintptr) {
			c.rdN, c.rdErr = fsys.ReadBlocking(int(fd), c.raw[c.rawLen:], c.rdUntil)
		}
	}
	c.rdUntil = until
	err := c.rc.Control(c.blockFn)
	n, rerr := c.rdN, c.rdErr
	c.rdErr = nil
	switch {
	case err != nil:
		return err
	case rerr == os.ErrDeadlineExceeded:
		return rerr
	}
	return c.took(n, rerr)
}

func (c *Channel) ensureRaw() {
	if c.raw == nil {
		c.raw = make([]byte, rawSize)
	}
}

// took appends the records of the n bytes a read of the FIFO took.
func (c *Channel) took(n int, rerr error) error {
	if rerr != nil && rerr != fsys.ErrWouldBlock {
		return &fs.PathError{Op: "read", Path: filepath.Join(c.dir, QueueName), Err: rerr}
	}
	if n <= 0 {
		return nil
	}
	if len(c.recs) == 0 {
		c.recs = c.recBuf[:0]
	}
	c.rawLen += n
	full := c.rawLen == len(c.raw)
	first := len(c.recs)
	off, inline := 0, 0
	for {
		r, n, ok := wire.NextRecord(c.raw[off:c.rawLen])
		if !ok {
			break
		}
		if r.Wake {
			off += n
			continue
		}
		c.recs = append(c.recs, record{id: r.ID, inline: r.Frame, late: r.Late, inode: r.Inode})
		inline += len(r.Frame)
		off += n
	}
	if inline > 0 {
		c.keepFrames(first, off, inline)
	}
	c.rawLen = copy(c.raw, c.raw[off:c.rawLen])
	if full && len(c.raw) < rawMax {
		c.raw = append(c.raw[:c.rawLen], make([]byte, rawMax-c.rawLen)...)
	}
	return nil
}

// keepFrames moves the inline frames of c.recs[first:], parsed from
// c.raw[:parsed] and inline bytes in all, out of c.raw, which is reused:
// to one buffer of their own, one allocation per read rather than one per
// message. When frames are most of what was read, as between Go processes,
// the buffer is a copy of it all, which Go need not zero first; else each
// frame is appended to a zeroed one of their size.
func (c *Channel) keepFrames(first, parsed, inline int) {
	if inline >= parsed/2 {
		kept := bytes.Clone(c.raw[:parsed])
		for i := first; i < len(c.recs); i++ {
			if f := c.recs[i].inline; f != nil {
				at := cap(c.raw) - cap(f) // f's offset in c.raw: NextRecord slices it
				c.recs[i].inline = kept[at : at+len(f) : at+len(f)]
			}
		}
		return
	}
	buf := make([]byte, 0, inline)
	for i := first; i < len(c.recs); i++ {
		if f := c.recs[i].inline; f != nil {
			buf = append(buf, f...)
			c.recs[i].inline = buf[len(buf)-len(f) : len(buf) : len(buf)]
		}
	}
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
		id, ok := parseMessageName(name)
		if !ok {
			if name != QueueName && name != LockName {
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
	clear(c.announced) // of the listing before
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
// its pattern does not match, or a header it refuses, which only a
// publisher that does not read lock files sends.
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

// take reads, decodes into w and removes the message file named id. It
// returns an error wrapping fs.ErrNotExist when there is no such file, or,
// with an inode tag, when the file of that name has another inode: the
// file announced was taken, and another publisher reused its id.
func (c *Channel) take(id uint64, inode uint32, w *wire.Message) error {
	name := messageName(id)
	data, err := readMessageFile(c.dirFD, name, inode, c.spareFor)
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err == nil {
		if err = c.decode(data, w); err == nil {
			w.Storage = data
			if err := fsys.Unlinkat(c.dirFD, name); err != nil {
				// Gone meanwhile: someone else consumed it.
				return err
			}
			if !c.takes(w) {
				return errNotForUs
			}
			return nil
		}
	}
	path := filepath.Join(c.dir, name)
	if fsys.OutOfResources(err) {
		// A passing failure (out of descriptors or memory): the message is
		// fine, so keep it for the next call. Anything else (a file this
		// process may not read, a socket, junk) never will be read, and
		// must not hold up the messages after it.
		c.retry = append(c.retry, id)
		return fmt.Errorf("pubsub: read message %s: %w", path, err)
	}
	// Set the file aside so it is reported once, and kept for a look.
	if rerr := fsys.Renameat(c.dirFD, name, c.dirFD, badName(name)); rerr == nil {
		c.junk++
	}
	c.home.log.Warn("pubsub: bad message set aside", "file", path, "err", err)
	return &BadMessage{Path: path, ID: id, Err: err}
}

// readMessageFile reads a whole message file without following a symbolic
// link, blocking on a FIFO, or reading more than it held when opened. It
// reads into what spare, if given, returns for the file's size, and
// allocates when that is nil.
func readMessageFile(dirFD int, name string, inode uint32, spare func(size int64) []byte) ([]byte, error) {
	fd, err := fsys.OpenFile(dirFD, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fs.ErrNotExist
	}
	if errors.Is(err, fsys.ErrLoop) {
		return nil, ErrNotRegular
	}
	if err != nil {
		return nil, err
	}
	defer fsys.Close(fd)
	st, err := fsys.Fstat(fd)
	if err != nil {
		return nil, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	if !st.IsRegular() {
		return nil, ErrNotRegular
	}
	if inode != 0 && wire.InodeTag(st.Ino) != inode {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist} // another file, by that name now
	}
	if uint64(st.Size) > wire.FixedSize+3*uint64(wire.MaxLen) {
		return nil, ErrTooLarge
	}
	extent := st.Size
	if extent > smallMessage {
		extent = messageExtent(fd, st.Size)
	}
	var data []byte
	if spare != nil {
		data = spare(extent)
	}
	if data == nil {
		data = make([]byte, extent)
	} else {
		data = data[:extent] // no need to zero it: the reads below fill it
	}
	for off := 0; off < len(data); {
		n, err := fsys.Pread(fd, data[off:], int64(off))
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
		n, err := fsys.Pread(fd, b[:], off)
		return uint64(binary.BigEndian.Uint32(b[:])), err == nil && n == 4
	}
	const topicAt = 4 + 1 + 8 + 8 // magic, version, id, timestamp
	if size < topicAt+4 {
		return size
	}
	var head [5]byte
	if n, err := fsys.Pread(fd, head[:], 0); err != nil || n != 5 ||
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
