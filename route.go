package pubsub

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
)

// lockName is the file a Go channel keeps locked while its owner lives.
// formix-pubsub ignores it, and removes it with the directory. Its one
// line of words says what the channel's reader understands beyond the
// formix-pubsub protocol: "inline" means wire frames in its FIFO, and
// "without=NAME" that it takes no message with the header NAME
// ([WithoutHeader]).
const (
	lockName  = "lock"
	lockWords = "pubsub-go 1 inline"
	lockMax   = 2048 // read at most this much of a lock file
)

// lockLine returns the text of a Go channel's lock file.
func lockLine(without []string) string {
	var b strings.Builder
	b.WriteString(lockWords)
	for _, name := range without {
		b.WriteString(" without=")
		b.WriteString(name)
	}
	b.WriteByte('\n')
	return b.String()
}

// parseLock reads a lock file's text, which another process wrote and may
// be anything: whether the channel takes inline frames, and the headers
// of the messages it refuses.
func parseLock(text []byte) (inline bool, without []string) {
	line, _, whole := bytes.Cut(text, []byte{'\n'})
	words := strings.Fields(string(line))
	if len(words) < 2 || words[0] != "pubsub-go" || words[1] != "1" {
		return false, nil // not a lock file this version wrote
	}
	for _, w := range words[2:] {
		name, ok := strings.CutPrefix(w, "without=")
		if ok && !whole {
			continue // no end of line: the read may have cut this name short
		}
		switch {
		case w == "inline":
			inline = true
		case ok && validExcludedHeader(name):
			without = append(without, name)
		}
	}
	return inline, without
}

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
	state    fsys.DirState
	listedAt time.Time
	byName   map[string]*route
	dirty    atomic.Bool

	memoMu sync.Mutex
	memo   map[string][]*route // publish topic -> matching routes
}

// route is one channel as a publisher sees it.
type route struct {
	name    string
	pattern topic.Pattern
	pid     int
	goChan  bool     // has a lock file: liveness by flock, not by pid
	inline  bool     // its reader takes small messages whole in the FIFO
	without []string // headers of the messages it refuses
	dirFD   int      // O_PATH-like handle on the channel directory

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

// parseChannelName splits HOME/{topic}_{random}_{pid} as formix-pubsub
// does (first and last of the '_'-separated parts). ok is false for names
// that are not channels.
func parseChannelName(name string) (pattern string, pid int, ok bool) {
	first := strings.IndexByte(name, '_')
	last := strings.LastIndexByte(name, '_')
	if first <= 0 || first == last {
		return "", 0, false
	}
	pid, err := strconv.Atoi(name[last+1:])
	if err != nil || pid <= 0 || name[last+1] == '+' {
		return "", 0, false
	}
	return name[:first], pid, true
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
	st, err := fsys.StatDir(r.h.homeFD)
	if err != nil || st != r.state {
		return true
	}
	mtime := time.Unix(st.Mtime.Unix())
	return r.listedAt.Sub(mtime) < tickSlack
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
	st, err := fsys.StatDir(r.h.homeFD)
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
		r.h.reclaim(name)
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

type liveness int

const (
	notChannel liveness = iota
	liveOwner
	deadOwner
	unknown // could not tell this time
)

// openRoute turns a home entry into a route, or says why not.
func (h *Home) openRoute(name string) (*route, liveness) {
	pattern, pid, ok := parseChannelName(name)
	if !ok {
		return nil, notChannel
	}
	dirFD, err := fsys.OpenDirAt(h.homeFD, name)
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EACCES):
		return nil, notChannel // gone, a symlink, a file, or not ours to read
	case err != nil:
		return nil, unknown
	}
	var st unix.Stat_t
	if unix.Fstat(dirFD, &st) != nil || !h.access.trusts(&st) {
		// Planted by someone this home is not shared with.
		fsys.Close(dirFD)
		return nil, notChannel
	}
	goChan, alive := ownerAlive(dirFD, pid)
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
		text, err := fsys.ReadSmall(dirFD, lockName, lockMax)
		if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOMEM) {
			// The lock file was open a moment ago: a passing failure.
			// Look again next time rather than miss what it refuses.
			fsys.Close(dirFD)
			return nil, unknown
		}
		rt.inline, rt.without = parseLock(text)
	}
	return rt, liveOwner
}

// ownerAlive judges a channel directory: a Go channel by the flock its
// owner holds (a reused pid cannot fake it), anything else by its pid.
func ownerAlive(dirFD, pid int) (goChan, alive bool) {
	if held, ok := fsys.LockHeld(dirFD, lockName); ok {
		return true, held
	}
	return false, fsys.ProcessAlive(pid)
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
	fd, err := fsys.OpenFIFOWriter(rt.dirFD, "queue")
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
