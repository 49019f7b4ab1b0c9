package engine

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
)

// tickSlack bounds the granularity of directory timestamps. tmpfs stamps
// times from the coarse clock (one scheduler tick, at most 10 ms), so two
// changes within a tick can leave the mtime unchanged; a listing is only
// trusted once it was taken this long after the last change.
const tickSlack = 25 * time.Millisecond

// router caches the channels of a home so that Publish neither lists the
// home nor tests owners on every call: the table is read again only when
// the home directory changed (a channel came or went), or when a delivery
// found a channel gone.
type router struct {
	h *Home

	mu       sync.RWMutex // write-held while the table is rebuilt
	state    dirState
	listedAt time.Time
	byName   map[string]*route
	dirty    atomic.Bool

	memoMu sync.Mutex
	memo   map[string][]*route // publish topic -> matching routes
}

// dirState is what changes when names are added to or removed from a
// directory. Timestamps on tmpfs are as coarse as a clock tick, so a change
// within the tick of an earlier one can leave mtime equal: an unchanged
// state whose mtime is recent is not trusted (tickSlack).
type dirState struct {
	ino, size, nlink uint64
	mtime, ctime     int64
}

func statDir(fd int) (dirState, error) {
	st, err := fsys.Fstat(fd)
	if err != nil {
		return dirState{}, err
	}
	return dirState{ino: st.Ino, size: uint64(st.Size), nlink: st.Nlink, mtime: st.Mtime, ctime: st.Ctime}, nil
}

// route is one channel as a publisher sees it.
type route struct {
	name    string
	pattern topic.Pattern
	pid     int
	goChan  bool     // has a lock file: liveness by flock, not by pid
	inline  bool     // its reader takes small messages whole in the FIFO
	without []string // headers of the messages it refuses
	dirFD   int      // the channel directory

	mu     sync.Mutex
	fifoFD int // write end, opened on first delivery; -1 until then
	// unannounced are ids of message files linked into a Go channel while
	// its FIFO was full, oldest first. They are announced, in order,
	// before anything newer goes into the FIFO, so newer messages do not
	// pass them, and the subscriber is woken for them.
	unannounced []uint64
	broken      atomic.Bool
}

func (r *router) init(h *Home) {
	r.h = h
	r.byName = map[string]*route{}
	r.memo = map[string][]*route{}
	r.dirty.Store(true)
}

// match returns the live channels whose topic matches t, with the table
// read-locked: the caller calls release once done with the routes.
func (r *router) match(t string) (routes []*route) {
	r.mu.RLock()
	if r.stale() {
		r.mu.RUnlock()
		r.refresh()
		r.mu.RLock()
	}
	r.memoMu.Lock()
	routes, ok := r.memo[t]
	if !ok {
		for _, rt := range r.byName {
			if rt.pattern.Match(t) {
				routes = append(routes, rt)
			}
		}
		if len(r.memo) > 4096 { // bound the memory a stream of distinct topics costs
			clear(r.memo)
		}
		r.memo[t] = routes
	}
	r.memoMu.Unlock()
	return routes
}

// release ends the use of what match returned.
func (r *router) release() { r.mu.RUnlock() }

// stale reports whether the table may miss a change to the home. Called
// with mu read-held.
func (r *router) stale() bool {
	return r.dirty.Load() || r.changed()
}

// changed reports whether the home may have changed since it was listed.
func (r *router) changed() bool {
	st, err := statDir(r.h.homeFD)
	if err != nil || st != r.state {
		return true
	}
	return r.listedAt.Sub(time.Unix(0, st.mtime)) < tickSlack
}

// refresh reads the home again, keeping the routes of channels it already
// knew and testing the owners of new ones.
func (r *router) refresh() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stale() {
		return // another publisher refreshed it meanwhile
	}
	r.dirty.Store(false)
	listedAt := time.Now()
	st, err := statDir(r.h.homeFD)
	if err != nil {
		r.dirty.Store(true)
		return
	}
	names, err := fsys.ReadDirNames(r.h.homeFD)
	if err != nil {
		r.dirty.Store(true)
		return
	}
	seen := make(map[string]bool, len(names))
	var dead []string
	for _, name := range names {
		if old, ok := r.byName[name]; ok && !old.broken.Load() {
			seen[name] = true
			continue
		}
		rt, alive := r.h.openRoute(name)
		if rt == nil {
			switch alive {
			case deadOwner:
				dead = append(dead, name)
			case unknown:
				// Out of descriptors or memory: look again next time
				// rather than take a live channel for junk.
				r.dirty.Store(true)
				if old, ok := r.byName[name]; ok {
					seen[name] = !old.broken.Load()
				}
			}
			continue
		}
		if old, ok := r.byName[name]; ok {
			old.close()
		}
		r.byName[name] = rt
		seen[name] = true
	}
	for name, rt := range r.byName {
		if !seen[name] {
			rt.close()
			delete(r.byName, name)
		}
	}
	r.state, r.listedAt = st, listedAt
	r.memoMu.Lock()
	clear(r.memo)
	r.memoMu.Unlock()
	for _, name := range dead {
		_ = r.h.reclaim(name)
	}
}

func (r *router) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, rt := range r.byName {
		rt.close()
		delete(r.byName, name)
	}
}

// openRoute turns a home entry into a route, or says why not.
func (h *Home) openRoute(name string) (*route, liveness) {
	pattern, pid, ok := ParseChannelName(name)
	if !ok {
		return nil, notChannel
	}
	dirFD, err := fsys.OpenDirAt(h.homeFD, name)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fsys.ErrLoop), errors.Is(err, fsys.ErrNotDir), errors.Is(err, fsys.ErrAccess):
		return nil, notChannel // gone, a symlink, a file, or not ours to read
	case err != nil:
		return nil, unknown
	}
	if st, err := fsys.Fstat(dirFD); err != nil || !h.access.trusts(&st) {
		// Planted by someone this home is not shared with.
		fsys.Close(dirFD)
		return nil, notChannel
	}
	goChan, alive := channelOwner(dirFD, pid)
	if !alive {
		fsys.Close(dirFD)
		return nil, deadOwner
	}
	p, err := topic.Compile(pattern)
	if err != nil {
		// A formix-pubsub channel whose topic is not whole words (e.g.
		// "news.=x"): nothing we publish can match it by word semantics.
		fsys.Close(dirFD)
		return nil, notChannel
	}
	rt := &route{name: name, pattern: p, pid: pid, goChan: goChan, dirFD: dirFD, fifoFD: -1}
	if goChan {
		text, err := fsys.ReadSmall(dirFD, LockName, lockMax)
		if fsys.OutOfResources(err) {
			// The lock file was open a moment ago: a passing failure.
			// Look again next time rather than miss what it refuses.
			fsys.Close(dirFD)
			return nil, unknown
		}
		rt.inline, rt.without = ParseLock(text)
	}
	return rt, liveOwner
}

// refuses reports whether the channel takes no message with headers h.
func (rt *route) refuses(h map[string]any) bool {
	for _, name := range rt.without {
		if _, ok := h[name]; ok {
			return true
		}
	}
	return false
}

// writer returns the route's FIFO write end, opening it on first use.
func (rt *route) writer() (int, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.fifoFD >= 0 {
		return rt.fifoFD, nil
	}
	fd, err := fsys.OpenFIFOWriter(rt.dirFD, QueueName)
	if err != nil {
		return -1, err
	}
	rt.fifoFD = fd
	return fd, nil
}

// close releases the route's descriptors; only with the router write-held,
// so no publisher is using them.
func (rt *route) close() {
	fsys.Close(rt.fifoFD)
	fsys.Close(rt.dirFD)
	rt.fifoFD, rt.dirFD = -1, -1
}

// fifoWait bounds how long a publisher waits for room in a Go channel's
// full FIFO before it goes the file path: a subscriber that is reading
// frees room within microseconds, and a message kept whole costs it a
// fraction of a file's price.
const fifoWait = time.Millisecond

// write writes rec (ids or frames, up to PIPE_BUF) whole into the Go
// channel's FIFO on fd, waiting up to fifoWait for room. Called with rt.mu
// held.
//
// A stalled subscriber costs a wait per message only while ids still fit
// in the FIFO's last page (at most 512 messages): once an id does not,
// it is queued and later messages spill without waiting until the FIFO
// drains. Skipping waits sooner was tried, and it cut eight publishers
// into one subscriber from about 280,000 to 48,000 messages/s: a
// subscriber busy with files looks stalled for milliseconds at a time.
func (rt *route) write(fd int, rec []byte) error {
	err := fsys.WriteRecord(fd, rec)
	if err != fsys.ErrWouldBlock {
		return err
	}
	// Other publishers may take the room first: wait again until the
	// deadline, not just once.
	deadline := time.Now().Add(fifoWait)
	for left := fifoWait; left > 0; left = time.Until(deadline) {
		if fsys.WaitWritable(fd, left) {
			if err = fsys.WriteRecord(fd, rec); err != fsys.ErrWouldBlock {
				return err
			}
		}
	}
	return err
}

// sendInline writes buf, whole frames, into the Go channel's FIFO after
// the ids still waiting to be announced. ErrWouldBlock means the FIFO is
// full or older messages still wait: the frames go the file path instead.
func (rt *route) sendInline(buf []byte) error {
	fd, err := rt.writer()
	if err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.flushUnannounced(fd); err != nil {
		return err
	}
	if len(rt.unannounced) > 0 {
		return fsys.ErrWouldBlock // go after them
	}
	return rt.write(fd, buf)
}

// announce writes id, a message file linked into the channel, into its
// FIFO. For a Go channel whose FIFO is full, the id waits in the
// publisher to be announced later (the file is in the channel, and the
// subscriber finds it meanwhile). The error is the raw write error.
func (rt *route) announce(id uint64) error {
	var rec [8]byte
	binary.BigEndian.PutUint64(rec[:], id)
	fd, err := rt.writer()
	if err != nil {
		return err
	}
	if !rt.goChan {
		return fsys.WriteRecord(fd, rec[:])
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	err = rt.flushUnannounced(fd)
	if err == nil && len(rt.unannounced) == 0 {
		err = rt.write(fd, rec[:])
	} else if err == nil {
		err = fsys.ErrWouldBlock
	}
	if err == fsys.ErrWouldBlock {
		// The file is in the channel; its id follows the older ones.
		rt.queueUnannounced(id)
		err = nil
	}
	return err
}

// flushUnannounced writes the ids of files linked while the FIFO was full,
// oldest first, until the FIFO is full again. Called with rt.mu held.
func (rt *route) flushUnannounced(fd int) error {
	var rec [8]byte
	for len(rt.unannounced) > 0 {
		binary.BigEndian.PutUint64(rec[:], rt.unannounced[0])
		if err := fsys.WriteRecord(fd, rec[:]); err != nil {
			if err == fsys.ErrWouldBlock {
				return nil
			}
			return err
		}
		rt.unannounced = rt.unannounced[1:]
	}
	rt.unannounced = nil
	return nil
}

// queueUnannounced keeps id to announce once the FIFO has room. Called
// with rt.mu held. The queue is not bounded: dropping an id would let a
// newer one overtake its message, and each id costs 8 bytes here against
// a page of tmpfs for its file, which runs out long before.
func (rt *route) queueUnannounced(id uint64) {
	rt.unannounced = append(rt.unannounced, id)
}
