package pubsub

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"golang.org/x/sys/unix"
)

// DefaultDir returns the home directory that formix-pubsub would use:
// $PUBSUB_HOME if set, else /dev/shm/pubsub when /dev/shm is a directory,
// else pubsub in os.TempDir(). It reads the environment on every call;
// [Default] reads it once.
func DefaultDir() string {
	if d := os.Getenv("PUBSUB_HOME"); d != "" {
		return d
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm/pubsub"
	}
	return filepath.Join(os.TempDir(), "pubsub")
}

// Default returns the process's default home, opened in [DefaultDir] on
// first use. The package-level functions act on it.
var Default = sync.OnceValues(func() (*Home, error) { return Open(DefaultDir()) })

// Home is one home directory: the place where publishers and subscribers
// of one bus meet. Every method is safe for concurrent use. A Home must not
// be copied.
type Home struct {
	dir    string
	homeFD int // the home directory, for *at calls
	tmpFD  int // HOME/tmp, where staging happens
	log    *slog.Logger
	// inline: send small messages to Go channels whole, in their FIFO.
	inline bool
	access access

	routes router

	// life is read-held by every call that uses the descriptors, and
	// write-held by Close, so none is closed (and its number reused by
	// the kernel) under a call in flight.
	life   sync.RWMutex
	closed bool
}

// Open opens the home directory dir, creating it and its tmp/ staging
// directory if need be. A home it creates is private (mode 0700). It
// refuses a home that is a symbolic link, that another user owns without
// sharing it with a group of this process, or that every user may write
// without the sticky bit; see the README's security model.
func Open(dir string, opts ...Option) (*Home, error) {
	if !fsys.Supported {
		return nil, ErrUnsupported
	}
	if dir == "" {
		return nil, errors.New("pubsub: empty home directory name")
	}
	cfg := newConfig(opts)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pubsub: home %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, explainHome(abs, fmt.Errorf("pubsub: create home: %w", err))
	}
	homeFD, err := fsys.OpenDir(abs)
	if err != nil {
		return nil, explainHome(abs, fmt.Errorf("pubsub: open home: %w", err))
	}
	// Check what was opened, not the name, which may change under us.
	var st unix.Stat_t
	if err := unix.Fstat(homeFD, &st); err != nil {
		fsys.Close(homeFD)
		return nil, fmt.Errorf("pubsub: open home: %w", &fs.PathError{Op: "fstat", Path: abs, Err: err})
	}
	acc, err := checkHome(abs, &st)
	if err != nil {
		fsys.Close(homeFD)
		return nil, err
	}
	tmpFD, err := openStaging(homeFD, abs, acc)
	if err != nil {
		fsys.Close(homeFD)
		return nil, err
	}
	fsys.ProbeLinkFD(tmpFD)
	h := &Home{dir: abs, homeFD: homeFD, tmpFD: tmpFD, log: cfg.logger, inline: !cfg.filesOnly, access: acc}
	h.routes.init(h)
	return h, nil
}

// openStaging opens HOME/tmp, creating it with the home's access.
func openStaging(homeFD int, home string, acc access) (int, error) {
	path := filepath.Join(home, "tmp")
	err := unix.Mkdirat(homeFD, "tmp", acc.dirMode)
	if err != nil && err != unix.EEXIST {
		return -1, fmt.Errorf("pubsub: create staging directory: %w", &fs.PathError{Op: "mkdir", Path: path, Err: err})
	}
	tmpFD, err := fsys.OpenDirAt(homeFD, "tmp")
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return -1, fmt.Errorf("pubsub: %s is not a directory (a symbolic link or a file), and pubsub stages messages there; remove it", path)
	}
	if errors.Is(err, unix.EACCES) {
		return -1, fmt.Errorf("pubsub: open staging directory %s: permission denied; in a home shared with a group it must be the group's too: chgrp GROUP %s; chmod 2770 %s", path, path, path)
	}
	if err != nil {
		return -1, fmt.Errorf("pubsub: open staging directory: %w", err)
	}
	if err := checkStaging(tmpFD, path, acc); err != nil {
		fsys.Close(tmpFD)
		return -1, err
	}
	return tmpFD, nil
}

// Dir returns the home's directory, made absolute.
func (h *Home) Dir() string { return h.dir }

// Close releases the home's descriptors. Channels opened on it stay usable
// until closed themselves. Close is safe to call more than once.
func (h *Home) Close() error {
	h.life.Lock()
	defer h.life.Unlock()
	if !h.closed {
		h.closed = true
		h.routes.close()
		fsys.Close(h.tmpFD)
		fsys.Close(h.homeFD)
	}
	return nil
}

// use read-locks the home for one call, which calls done when it ends.
// It fails with ErrClosed after Close. (Not a returned func: a method
// value costs an allocation per call.)
func (h *Home) use() error {
	h.life.RLock()
	if h.closed {
		h.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// done ends a call that use let in.
func (h *Home) done() { h.life.RUnlock() }

// Ids are drawn per process, not per Home, so that two homes on one
// directory in one process never repeat one.
var (
	lastID atomic.Uint64
	idSalt = func() uint64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return binary.LittleEndian.Uint64(b[:])
	}()
)

// newID returns a message id in formix-pubsub's layout: the clock in
// microseconds with its low 16 bits replaced. Python fills those bits at
// random, so two publishers collide once in 65,536 messages within the
// same 65 ms; here they start at a random point and count up, so one
// process never repeats an id and its ids sort in publishing order.
// Collisions with other processes are caught when linking (EEXIST).
func (h *Home) newID() uint64 {
	now := uint64(time.Now().UnixMicro())
	floor := now>>16<<16 | idSalt&0xffff
	for {
		last := lastID.Load()
		id := max(last+1, floor)
		if lastID.CompareAndSwap(last, id) {
			return id
		}
	}
}

// jumpID draws an id after a collision. The other publisher is counting
// up through the same ids, so the next one is likely taken too: step past
// it by a random stride instead. Ids stay increasing in this process.
func jumpID() uint64 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return lastID.Add(1024 + uint64(binary.LittleEndian.Uint16(b[:]))%7168)
}

// Publish publishes on the [Default] home. See [Home.Publish].
func Publish(topic string, content []byte, headers Headers) (int, error) {
	h, err := Default()
	if err != nil {
		return 0, err
	}
	return h.Publish(topic, content, headers)
}

// NewChannel opens a channel on the [Default] home. See [Home.NewChannel].
func NewChannel(topic string, opts ...ChannelOption) (*Channel, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.NewChannel(topic, opts...)
}
