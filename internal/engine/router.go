package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
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
	queuesFD int      // HOME/queues, once it exists; -1 before
	qstate   dirState // its state when listed
	listedAt time.Time
	byName   map[string]*route
	dirty    atomic.Bool

	memoMu sync.Mutex
	memo   map[string][]*route // publish topic -> matching routes

	open openSet
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

// route is one channel as a publisher sees it. What its name says is read
// when the home is listed; what its directory says (who owns it, whether
// it is alive, what its lock file says) only when a publish first matches
// it (probe). Its descriptors are held only while it is among the routes
// in use (openSet), so a publisher's descriptors grow with what it
// publishes to, not with the home.
type route struct {
	name    string // the channel directory's name; queues/NAME for a queue
	pattern topic.Pattern
	pid     int
	queue   string // the queue's name; "" for a channel

	// state is unprobed, usable or skipped; set with mu held. Once usable,
	// goChan, inline and without no longer change.
	state   atomic.Int32
	goChan  bool     // has a lock file: liveness by flock, not by pid
	inline  bool     // its reader takes small messages whole in the FIFO
	without []string // headers of the messages it refuses

	used   atomic.Bool // used since the open set last looked at it
	broken atomic.Bool // its reader is gone: list the home again

	// mu guards what follows, and every use of the descriptors, which
	// the open set may close (and the kernel reuse) when mu is free.
	mu     sync.Mutex
	dirFD  int       // the channel directory; -1 when not held
	fifoFD int       // write end, opened on first delivery; -1 until then
	q      *queueDir // a queue's directories, once probed
	nt     *notifier // a queue's records, to its workers
	// unannounced are ids of message files linked into a Go channel while
	// its FIFO was full, oldest first. They are announced, in order,
	// before anything newer goes into the FIFO, so newer messages do not
	// pass them, and the subscriber is woken for them.
	unannounced []lateID
}

// lateID is a message file waiting to be announced: its id, and its inode
// number for the reader to tell it from a newer file with the same id.
type lateID struct{ id, ino uint64 }

const (
	unprobed int32 = iota
	usable
	skipped // not a channel for us: gone, dead, planted by a stranger
)

func (r *router) init(h *Home) {
	r.h = h
	r.byName = map[string]*route{}
	r.memo = map[string][]*route{}
	r.dirty.Store(true)
	r.queuesFD = -1
	r.open.max = maxOpenRoutes(fsys.MaxFiles())
}

// match returns the channels whose topic matches t, with the table
// read-locked: the caller calls release once done with the routes, also
// after an error. The error says the home could not be listed: a
// publisher must not take that for a home without channels.
func (r *router) match(t string) (routes []*route, err error) {
	r.mu.RLock()
	if r.stale() {
		r.mu.RUnlock()
		err = r.refresh()
		r.mu.RLock()
		if err != nil {
			return nil, err
		}
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
	return routes, nil
}

// release ends the use of what match returned.
func (r *router) release() { r.mu.RUnlock() }

// stale reports whether the table may miss a change to the home. Called
// with mu read-held.
func (r *router) stale() bool {
	return r.dirty.Load() || r.changed()
}

// changed reports whether the home, or its queues, may have changed
// since they were listed.
func (r *router) changed() bool {
	st, err := statDir(r.h.homeFD)
	if err != nil || st != r.state || r.listedAt.Sub(time.Unix(0, st.mtime)) < tickSlack {
		return true
	}
	if r.queuesFD < 0 {
		return false // HOME/queues would change the home when made
	}
	qs, err := statDir(r.queuesFD)
	return err != nil || qs != r.qstate || r.listedAt.Sub(time.Unix(0, qs.mtime)) < tickSlack
}

// refresh reads the home again, keeping the routes of channels it already
// knew. A new entry is looked at once (look), and holds no descriptor
// until a publish matches it.
func (r *router) refresh() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stale() {
		return nil // another publisher refreshed it meanwhile
	}
	listedAt := time.Now()
	st, err := statDir(r.h.homeFD)
	if err != nil {
		return err
	}
	names, err := fsys.ReadDirNames(r.h.homeFD)
	if err != nil {
		return err
	}
	queues, qs, err := r.listQueues()
	if err != nil {
		return err
	}
	r.dirty.Store(false)
	var dead []string
	seen := make(map[string]bool, len(names)+len(queues))
	for _, q := range queues {
		if old, known := r.byName[q.name]; known && !old.broken.Load() && old.pattern.String() == q.pattern.String() {
			seen[q.name] = true
			continue
		} else if known {
			r.closeRoute(old)
		}
		r.byName[q.name] = q
		seen[q.name] = true
	}
	for _, name := range names {
		old, known := r.byName[name]
		if known && !old.broken.Load() {
			seen[name] = true
			continue
		}
		pattern, pid, ok := ParseChannelName(name)
		if !ok {
			continue
		}
		if _, _, intake := parseIntakeName(name); intake {
			continue // a queue's, for formix-pubsub: Go publishers link into the queue
		}
		p, err := topic.Compile(pattern)
		if err != nil {
			// A formix-pubsub channel whose topic is not whole words (e.g.
			// "news.=x"): nothing we publish can match it by word semantics.
			continue
		}
		switch r.h.look(name, pid) {
		case notChannel:
			continue
		case deadOwner:
			dead = append(dead, name)
			continue
		}
		if known {
			r.closeRoute(old)
		}
		r.byName[name] = &route{name: name, pattern: p, pid: pid, dirFD: -1, fifoFD: -1}
		seen[name] = true
	}
	for name, rt := range r.byName {
		if !seen[name] {
			r.closeRoute(rt)
			delete(r.byName, name)
		}
	}
	r.state, r.qstate, r.listedAt = st, qs, listedAt
	r.memoMu.Lock()
	clear(r.memo)
	r.memoMu.Unlock()
	for _, name := range dead {
		_ = r.h.reclaim(name)
	}
	return nil
}

// look takes a first look at a new home entry, and lets the directory go
// again: a channel whose owner is dead is removed as the publisher meets
// it, whatever its topic, as formix-pubsub's cleanup_inactive would. What
// cannot be looked at now (out of descriptors) is unknown, and looked at
// again when a publish matches it.
func (h *Home) look(name string, pid int) liveness {
	dirFD, err := fsys.OpenDirAt(h.homeFD, name)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fsys.ErrLoop), errors.Is(err, fsys.ErrNotDir), errors.Is(err, fsys.ErrAccess):
		return notChannel // gone, a symlink, a file, or not ours to read
	case err != nil:
		return unknown
	}
	defer fsys.Close(dirFD)
	st, err := fsys.Fstat(dirFD)
	switch {
	case err != nil:
		return unknown
	case !h.access.trusts(&st):
		return notChannel // planted by someone this home is not shared with
	}
	_, alive, err := channelOwner(dirFD, pid)
	switch {
	case err != nil:
		return unknown
	case !alive:
		return deadOwner
	}
	return liveOwner
}

func (r *router) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, rt := range r.byName {
		r.closeRoute(rt)
		delete(r.byName, name)
	}
	fsys.Close(r.queuesFD)
	r.queuesFD = -1
}

// listQueues lists HOME/queues, reading the pattern of each queue: a
// route per queue, not probed yet. Called with mu write-held.
func (r *router) listQueues() ([]*route, dirState, error) {
	fsys.Close(r.queuesFD)
	r.queuesFD = -1
	fd, err := fsys.OpenDirAt(r.h.homeFD, QueuesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, dirState{}, nil
	}
	if err != nil {
		return nil, dirState{}, err
	}
	st, err := statDir(fd)
	if err != nil {
		fsys.Close(fd)
		return nil, dirState{}, err
	}
	names, err := fsys.ReadDirNames(fd)
	if err != nil {
		fsys.Close(fd)
		return nil, dirState{}, err
	}
	r.queuesFD = fd
	var routes []*route
	for _, name := range names {
		if !ValidQueueName(name) {
			continue
		}
		text, err := fsys.ReadSmall(fd, name+"/"+queueConfig, maxConfig)
		if fsys.OutOfResources(err) {
			return nil, dirState{}, err
		}
		cfg, err := parseQueueLine(text)
		if err != nil {
			continue // being made, being removed, or not a queue this version made
		}
		p, err := topic.Compile(cfg.Pattern)
		if err != nil {
			continue
		}
		routes = append(routes, &route{name: QueuesDir + "/" + name, queue: name, pattern: p, dirFD: -1, fifoFD: -1})
	}
	return routes, st, nil
}

// closeRoute releases a route leaving the table; only with the router
// write-held, so no publisher is using it.
func (r *router) closeRoute(rt *route) {
	r.open.drop(rt)
	rt.mu.Lock()
	rt.closeFDs()
	if rt.q != nil {
		rt.nt.close()
		rt.q.close()
		rt.q, rt.nt = nil, nil
	}
	rt.mu.Unlock()
}

// usable returns the routes a message can be delivered to: each is
// probed on first use. A route that could not be looked at for a passing
// reason (out of descriptors) is a miss, never taken for no channel.
// Once every route is probed, as in the steady state, this allocates
// nothing and returns routes itself.
func (h *Home) usable(routes []*route) ([]*route, []Miss) {
	all := true
	for _, rt := range routes {
		if rt.state.Load() != usable {
			all = false
			break
		}
	}
	if all {
		return routes, nil
	}
	var ok []*route
	var missed []Miss
	for _, rt := range routes {
		if err := h.probe(rt); err != nil {
			missed = append(missed, Miss{Channel: h.channelPath(rt.name), Err: err})
		} else if rt.state.Load() == usable {
			ok = append(ok, rt)
		}
	}
	return ok, missed
}

// probe looks at a route's directory once: whose it is, whether its owner
// lives, what its lock file says. It returns only a passing failure; the
// route is then looked at again next time.
func (h *Home) probe(rt *route) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.state.Load() != unprobed {
		return nil
	}
	if rt.queue != "" {
		return h.probeQueue(rt)
	}
	err := h.acquire(rt)
	switch {
	case err == errChannelGone, err == errNotOurs:
		rt.state.Store(skipped)
		return nil
	case err != nil:
		return fmt.Errorf("open channel: %w", err)
	}
	goChan, alive, err := channelOwner(rt.dirFD, rt.pid)
	if err != nil {
		return fmt.Errorf("look at channel: %w", err)
	}
	if !alive {
		rt.state.Store(skipped)
		_ = h.reclaim(rt.name)
		return nil
	}
	if goChan {
		text, err := fsys.ReadSmall(rt.dirFD, LockName, lockMax)
		if fsys.OutOfResources(err) {
			// The lock file was open a moment ago: a passing failure.
			// Look again next time rather than miss what it refuses.
			return fmt.Errorf("read lock file: %w", err)
		}
		rt.inline, rt.without = ParseLock(text)
	}
	rt.goChan = goChan
	rt.state.Store(usable)
	return nil
}

var (
	// errChannelGone: the channel directory is no longer in the home.
	errChannelGone = errors.New("channel gone")
	// errNotOurs: the name is not a channel directory this home trusts.
	errNotOurs = errors.New("not a channel of this home")
)

// acquire makes sure the route holds its directory open, and marks it
// used. Called with rt.mu held. The directory is checked on every open:
// a name another user swapped in is not trusted.
func (h *Home) acquire(rt *route) error {
	rt.used.Store(true)
	if rt.dirFD >= 0 || rt.q != nil {
		return nil // a queue keeps its descriptors: queues are few
	}
	dirFD, err := fsys.OpenDirAt(h.homeFD, rt.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		h.routes.dirty.Store(true)
		return errChannelGone
	case errors.Is(err, fsys.ErrLoop), errors.Is(err, fsys.ErrNotDir), errors.Is(err, fsys.ErrAccess):
		return errNotOurs // a symlink, a file, or not ours to read
	case err != nil:
		return err
	}
	if st, err := fsys.Fstat(dirFD); err != nil || !h.access.trusts(&st) {
		// Planted by someone this home is not shared with.
		fsys.Close(dirFD)
		if err != nil {
			return err
		}
		return errNotOurs
	}
	rt.dirFD = dirFD
	h.routes.open.admit(rt)
	return nil
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
// Called with rt.mu held, after acquire.
func (rt *route) writer() (int, error) {
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

// closeFDs releases the route's descriptors. Called with rt.mu held.
func (rt *route) closeFDs() {
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
// in the FIFO's last page (on Linux, at most 512 messages): once an id does not,
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
// Called with rt.mu held, after acquire.
func (rt *route) sendInline(buf []byte) error {
	fd, err := rt.writer()
	if err != nil {
		return err
	}
	if err := rt.flushUnannounced(fd); err != nil {
		return err
	}
	if len(rt.unannounced) > 0 {
		return fsys.ErrWouldBlock // go after them
	}
	return rt.write(fd, buf)
}

// announce writes id, a message file linked into the channel, into its
// FIFO. A Go channel gets it with the file's inode (wire.AppendLate), so
// that its reader, which may have taken the file by listing and freed the
// id for another publisher's newer file, takes only the file announced.
// For a Go channel whose FIFO is full, the id waits in the publisher to
// be announced later (the file is in the channel, and the subscriber finds
// it meanwhile). The error is the raw write error. Called with rt.mu held,
// after acquire.
func (rt *route) announce(id uint64, s *staged) error {
	fd, err := rt.writer()
	if err != nil {
		return err
	}
	if !rt.goChan {
		var rec [8]byte
		binary.BigEndian.PutUint64(rec[:], id)
		return fsys.WriteRecord(fd, rec[:])
	}
	l := lateID{id, s.inode()}
	err = rt.flushUnannounced(fd)
	if err == nil && len(rt.unannounced) == 0 {
		var rec [wire.LateSize]byte
		err = rt.write(fd, wire.AppendLate(rec[:0], l.id, l.ino))
	} else if err == nil {
		err = fsys.ErrWouldBlock
	}
	if err == fsys.ErrWouldBlock {
		// The file is in the channel; its id follows the older ones.
		rt.queueUnannounced(l)
		err = nil
	}
	return err
}

// flushUnannounced writes the ids of files linked while the FIFO was full,
// oldest first, as late announcements (the reader may have found the file
// meanwhile), until the FIFO is full again. Called with rt.mu held.
func (rt *route) flushUnannounced(fd int) error {
	var rec [wire.LateSize]byte
	for len(rt.unannounced) > 0 {
		late := rt.unannounced[0]
		if err := fsys.WriteRecord(fd, wire.AppendLate(rec[:0], late.id, late.ino)); err != nil {
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
func (rt *route) queueUnannounced(l lateID) {
	rt.unannounced = append(rt.unannounced, l)
}

// openSet bounds the routes that hold descriptors (two each: the
// directory and the FIFO), so that a publisher in a home of thousands of
// channels, or one that publishes to thousands, stays within its limit.
// When it is full, a route not used since the set last looked, and not in
// use now, gives its descriptors back (the clock algorithm: a second
// chance for every route used since); it opens them again when used.
type openSet struct {
	mu        sync.Mutex
	routes    []*route
	hand      int
	max       int
	evictions int // routes that gave their descriptors back
}

// maxOpenRoutes allows the routes a quarter of the process's descriptors.
func maxOpenRoutes(maxFiles int) int {
	if maxFiles <= 0 {
		return 256
	}
	return min(max(maxFiles/8, 4), 4096)
}

// admit adds rt, which has just opened its directory; called with rt.mu
// held. If the set is full, another route gives its descriptors back; if
// every other route is in use, the set grows past its bound until one
// is free.
func (s *openSet) admit(rt *route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 2 * len(s.routes) {
		if len(s.routes) < s.max {
			break
		}
		if s.hand >= len(s.routes) {
			s.hand = 0
		}
		v := s.routes[s.hand]
		// TryLock: rt.mu is held here, and the holder of v.mu may be
		// waiting for this set; never wait for a route while holding it.
		if v == rt || v.used.Swap(false) || !v.mu.TryLock() {
			s.hand++
			continue
		}
		v.closeFDs()
		v.mu.Unlock()
		s.removeAt(s.hand)
		s.evictions++
	}
	s.routes = append(s.routes, rt)
}

// drop takes rt out of the set, without closing its descriptors.
func (s *openSet) drop(rt *route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range s.routes {
		if v == rt {
			s.removeAt(i)
			return
		}
	}
}

func (s *openSet) removeAt(i int) {
	last := len(s.routes) - 1
	s.routes[i] = s.routes[last]
	s.routes[last] = nil
	s.routes = s.routes[:last]
}
