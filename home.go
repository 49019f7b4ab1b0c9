package pubsub

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/pubsub-go/pubsub/internal/engine"
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
	eng *engine.Home

	inboxMu sync.Mutex
	in      *inbox // the replies to this Home's requests; nil until the first
	closed  bool   // guarded by inboxMu: no inbox is made after Close
}

// Open opens the home directory dir, creating it and its tmp/ staging
// directory if need be. A home it creates is private (mode 0700). It
// refuses a home that is a symbolic link, that another user owns without
// sharing it with a group of this process, or that every user may write
// without the sticky bit (see docs/SECURITY.md); the error says what is
// wrong and how to fix it. Where the bus cannot run (Windows: no FIFOs),
// it returns [ErrUnsupported].
func Open(dir string, opts ...Option) (*Home, error) {
	cfg := newConfig(opts)
	eng, err := engine.Open(dir, engine.Config{Logger: cfg.logger, FilesOnly: cfg.filesOnly})
	if err != nil {
		return nil, err
	}
	return &Home{eng: eng}, nil
}

// Dir returns the home's directory, made absolute.
func (h *Home) Dir() string { return h.eng.Dir() }

// Close writes what [Home.PublishAsync] queued and returns what Flush
// would, releases the home's descriptors, and removes the channel of its
// requests' replies, which ends any [Home.Request] in flight with
// [ErrClosed]. Channels opened on it stay usable until closed themselves;
// every other method returns [ErrClosed]. Close is safe to call more than
// once.
func (h *Home) Close() error {
	flushed := joinMissed(h.eng.StopAsync())
	h.inboxMu.Lock()
	h.closed = true
	if h.in != nil {
		h.in.close()
		h.in = nil
	}
	h.inboxMu.Unlock()
	return errors.Join(flushed, h.eng.Close())
}

// NewChannel creates a channel for topic, in which '=' stands for exactly
// one word and '+' for one or more words. formix-pubsub reads them
// otherwise ('=' one character, '+' zero or more characters, dots
// included), and its publishers decide by their own reading which
// channels they reach: a Python publisher reaches this channel only with
// topics both readings accept, and a topic only its reading accepts
// ("axb" for "a.b") is dropped by the channel with a log record, though
// the publisher counted it (docs/INTEROP.md#differences). The channel
// reads from its creation on:
// every message published after NewChannel returns reaches it. Call
// [Channel.Close] when done, which deletes the channel and its unread
// messages; a Channel garbage collected without Close is removed too, with
// a warning logged.
//
// An invalid topic is a *[TopicError]; a topic longer than 226 bytes is
// refused too, as the channel's directory name must hold it.
func (h *Home) NewChannel(topicPattern string, opts ...ChannelOption) (*Channel, error) {
	cfg, err := newChannelConfig(opts)
	if err != nil {
		return nil, err
	}
	c, err := h.eng.NewChannel(topicPattern, cfg.without)
	if err != nil {
		return nil, err
	}
	return &Channel{eng: c}, nil
}

// Channels lists the channel directories of the home, live and dead,
// sorted by name. Entries that are not channels (stray files, symbolic
// links, directories without the pid suffix) are left out.
func (h *Home) Channels() ([]ChannelInfo, error) {
	infos, err := h.eng.Channels()
	if err != nil {
		return nil, err
	}
	out := make([]ChannelInfo, len(infos))
	for i, e := range infos {
		out[i] = channelInfo(e)
	}
	return out, nil
}

// Cleanup removes what dead processes left in the home: channels whose
// owner is gone (with their unread messages), channels half created or
// half removed in tmp/, and staging files of publishers that died. It
// returns the paths it removed. A Go channel is dead when nobody holds its
// lock; any other channel when its pid does not exist (a pid that belongs
// to another user's process counts as alive).
func (h *Home) Cleanup() ([]string, error) { return h.eng.Cleanup(false) }

// CleanupDryRun returns what Cleanup would remove, removing nothing.
func (h *Home) CleanupDryRun() ([]string, error) { return h.eng.Cleanup(true) }

// NewChannel opens a channel on the [Default] home. See [Home.NewChannel].
func NewChannel(topic string, opts ...ChannelOption) (*Channel, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.NewChannel(topic, opts...)
}

// Channels lists the channels of the [Default] home. See [Home.Channels].
func Channels() ([]ChannelInfo, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.Channels()
}

// Cleanup cleans the [Default] home. See [Home.Cleanup].
func Cleanup() ([]string, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.Cleanup()
}
