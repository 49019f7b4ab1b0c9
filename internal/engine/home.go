package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// Config is what the root package's options set.
type Config struct {
	Logger    *slog.Logger // nil: discard
	FilesOnly bool         // never send a message inline in a FIFO
}

// Home is one home directory, open. Every method is safe for concurrent
// use.
type Home struct {
	dir    string
	homeFD int // the home directory, for *at calls
	tmpFD  int // HOME/tmp, where staging happens
	log    *slog.Logger
	// inline: send small messages to Go channels whole, in their FIFO.
	inline bool
	access access

	routes router
	async  asyncQueue

	// life is read-held by every call that uses the descriptors, and
	// write-held by Close, so none is closed (and its number reused by
	// the kernel) under a call in flight.
	life   sync.RWMutex
	closed bool
}

// Open opens the home directory dir, creating it and its tmp/ staging
// directory if need be, and checks that this process may use it (see
// access.go).
func Open(dir string, cfg Config) (*Home, error) {
	if !fsys.Supported {
		return nil, ErrUnsupported
	}
	if dir == "" {
		return nil, errors.New("pubsub: empty home directory name")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
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
	st, err := fsys.Fstat(homeFD)
	if err != nil {
		fsys.Close(homeFD)
		return nil, fmt.Errorf("pubsub: open home %s: %w", abs, err)
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
	fsys.ProbeLinkFD(tmpFD, probeName())
	h := &Home{dir: abs, homeFD: homeFD, tmpFD: tmpFD, log: cfg.Logger, inline: !cfg.FilesOnly, access: acc}
	h.routes.init(h)
	return h, nil
}

// openStaging opens HOME/tmp, creating it with the home's access.
func openStaging(homeFD int, home string, acc access) (int, error) {
	path := filepath.Join(home, TmpDir)
	err := fsys.Mkdirat(homeFD, TmpDir, acc.dirMode)
	if err != nil && !errors.Is(err, fsys.ErrExist) {
		return -1, fmt.Errorf("pubsub: create staging directory: %w", withPath(err, path))
	}
	tmpFD, err := fsys.OpenDirAt(homeFD, TmpDir)
	if errors.Is(err, fsys.ErrLoop) || errors.Is(err, fsys.ErrNotDir) {
		return -1, fmt.Errorf("pubsub: %s is not a directory (a symbolic link or a file), and pubsub stages messages there; remove it", path)
	}
	if errors.Is(err, fsys.ErrAccess) {
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

// Logger returns the logger the home was opened with.
func (h *Home) Logger() *slog.Logger { return h.log }

// Close releases the home's descriptors. Channels opened on it stay usable
// until closed themselves. Close is safe to call more than once.
// It first writes what PublishAsync queued (see StopAsync).
func (h *Home) Close() error {
	_, _ = h.StopAsync()
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

// channelPath returns the path of the home entry name.
func (h *Home) channelPath(name string) string { return filepath.Join(h.dir, name) }

// withPath gives a *fs.PathError from an *at call the whole path, for
// messages.
func withPath(err error, path string) error {
	if pe, ok := err.(*fs.PathError); ok {
		return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	}
	return err
}

// tmpPath returns the path of the tmp/ entry name.
func (h *Home) tmpPath(name string) string { return filepath.Join(h.dir, TmpDir, name) }
