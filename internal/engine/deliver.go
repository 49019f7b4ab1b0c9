package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// maxIDRetries bounds the fresh ids drawn for one channel whose directory
// already holds a pending message with the id drawn.
const maxIDRetries = 16

// MaxInline is the largest encoded message that goes whole into a Go
// channel's FIFO, in one write the kernel keeps whole: its frame must fit
// PIPE_BUF (4,088 bytes on Linux, 504 on macOS and the BSDs).
const MaxInline = min(wire.MaxInline, fsys.PipeBuf-wire.FrameHeaderSize)

// Publish delivers a new message on topicName to every matching channel.
// It returns the id drawn (0 when the call failed before one was), how
// many channels were reached, and the channels that matched but could not
// be reached. err is a failure of the whole call: an invalid topic or
// header, content too large, the file system full.
func (h *Home) Publish(topicName string, content []byte, headers map[string]any) (id uint64, reached int, missed []Miss, err error) {
	h.waitAsync() // keep the place after what PublishAsync queued
	if err := h.use(); err != nil {
		return 0, 0, nil, err
	}
	defer h.done()
	if err := topic.ValidateTopic(topicName); err != nil {
		return 0, 0, nil, err
	}
	if err := checkContent(len(content)); err != nil {
		return 0, 0, nil, err
	}
	now := time.Now().UnixMicro()
	msg := wire.Message{ID: newIDAt(now), Timestamp: now, Topic: topicName, Headers: headers}
	// Encode everything but the content, before any channel sees the
	// message, so a bad header fails the call with nothing delivered.
	prefix, err := encodePrefix(&msg, len(content))
	if err != nil {
		return 0, 0, nil, err
	}
	reached, missed, err = h.publish(&msg, prefix, content)
	return msg.ID, reached, missed, err
}

// PublishCarried delivers m, a message carried from elsewhere, keeping its
// id and timestamp (drawn when zero), and returns the id it went with.
func (h *Home) PublishCarried(m *wire.Message) (id uint64, reached int, missed []Miss, err error) {
	h.waitAsync() // keep the place after what PublishAsync queued
	if err := h.use(); err != nil {
		return 0, 0, nil, err
	}
	defer h.done()
	msg, err := carried(m)
	if err != nil {
		return 0, 0, nil, err
	}
	prefix, err := encodePrefix(&msg, len(m.Content))
	if err != nil {
		return 0, 0, nil, err
	}
	reached, missed, err = h.publish(&msg, prefix, m.Content)
	return msg.ID, reached, missed, err
}

func checkContent(n int) error {
	if uint64(n) > wire.MaxLen {
		return fmt.Errorf("pubsub: content of %d bytes is over the format's limit of %d", n, uint64(wire.MaxLen))
	}
	return nil
}

// carried checks a message carried from elsewhere and returns it ready to
// encode, without its content, with the id and timestamp drawn that it
// lacks.
func carried(m *wire.Message) (wire.Message, error) {
	if err := topic.ValidateTopic(m.Topic); err != nil {
		return wire.Message{}, err
	}
	if err := checkContent(len(m.Content)); err != nil {
		return wire.Message{}, err
	}
	if m.ID>>56 == wire.FrameMark {
		// A Go channel's FIFO carries inline frames whose header starts
		// with 0xFF; an id announced there must never look like one.
		return wire.Message{}, fmt.Errorf("%w %#x: ids are below 0xff00000000000000 (formix-pubsub and this package draw them from the clock in microseconds, shifted 16 bits)", ErrInvalidID, m.ID)
	}
	msg := wire.Message{ID: m.ID, Timestamp: m.Timestamp, Topic: m.Topic, Headers: m.Headers, Carried: true}
	if msg.ID == 0 {
		msg.ID = newID()
	}
	if msg.Timestamp == 0 {
		msg.Timestamp = time.Now().UnixMicro()
	}
	return msg, nil
}

// encodePrefix encodes a message without its content, which follows the
// prefix: the content is written from the caller's slice, never copied.
func encodePrefix(msg *wire.Message, contentLen int) ([]byte, error) {
	_, prefix, err := appendPrefix(make([]byte, 0, 256), msg, contentLen)
	return prefix, err
}

// appendPrefix encodes msg's prefix as encodePrefix does, at the end of
// arena, and returns arena with it and the prefix, which is not changed
// by later appends: a batch encodes its prefixes into one allocation.
func appendPrefix(arena []byte, msg *wire.Message, contentLen int) (_, prefix []byte, err error) {
	if cap(arena)-len(arena) < 256 {
		arena = make([]byte, 0, 16<<10)
	}
	start := len(arena)
	arena, err = wire.AppendEncode(arena, msg)
	if err != nil {
		return arena[:start], nil, err
	}
	prefix = arena[start:len(arena):len(arena)]
	// msg carries no content: the last field is the content length.
	binary.BigEndian.PutUint32(prefix[len(prefix)-4:], uint32(contentLen))
	return arena, prefix, nil
}

// appendRestamped is appendPrefix for a message that differs from the
// one prev encodes only in its id, timestamp and content length.
func appendRestamped(arena, prev []byte, msg *wire.Message, contentLen int) (_, prefix []byte, err error) {
	if cap(arena)-len(arena) < len(prev) {
		arena = make([]byte, 0, max(16<<10, len(prev)))
	}
	start := len(arena)
	arena = append(arena, prev...)
	prefix = arena[start:len(arena):len(arena)]
	if err := wire.Restamp(prefix, msg.ID, msg.Timestamp); err != nil {
		return arena[:start], nil, err
	}
	binary.BigEndian.PutUint32(prefix[len(prefix)-4:], uint32(contentLen))
	return arena, prefix, nil
}

// sameTopicAndHeaders reports whether a and b have one topic and one
// headers map (the same map, not an equal one), so that they encode alike
// but for their id, timestamp and content.
func sameTopicAndHeaders(a, b *wire.Message) bool {
	return a.Topic == b.Topic && a.Carried == b.Carried &&
		reflect.ValueOf(a.Headers).UnsafePointer() == reflect.ValueOf(b.Headers).UnsafePointer()
}

// noRoutes is the result of a publish that matched no channel: nothing,
// unless the home itself is gone.
func (h *Home) noRoutes() error {
	if isGone(h.homeFD) {
		return fmt.Errorf("pubsub: home %s was removed: open it again", h.dir)
	}
	return nil
}

// publish delivers a validated, encoded message to every matching
// channel.
func (h *Home) publish(msg *wire.Message, prefix, content []byte) (reached int, missed []Miss, err error) {
	routes, err := h.routes.match(msg.Topic)
	defer h.routes.release()
	if err != nil {
		return 0, nil, h.listError(err)
	}
	if len(routes) == 0 {
		return 0, nil, h.noRoutes()
	}
	return h.publishTo(routes, msg, prefix, content, 0)
}

// listError says that the home could not be listed, so the channels a
// message should reach are not known.
func (h *Home) listError(err error) error {
	if gone := h.noRoutes(); gone != nil {
		return gone
	}
	return fmt.Errorf("pubsub: list home %s to find the channels: %w", h.dir, err)
}

// publishTo delivers an encoded message to routes: whole in the FIFO of
// each Go channel that takes frames when it is small enough, else as a
// file staged once and linked into each channel, under an id above above
// (see deliver).
func (h *Home) publishTo(routes []*route, msg *wire.Message, prefix, content []byte, above uint64) (reached int, missed []Miss, err error) {
	routes, missed = h.usable(routes)
	var frame []byte
	if h.inline {
		frame = inlineFrame(routes, prefix, content)
	}
	var stage *staged
	defer func() {
		if stage != nil {
			stage.discard()
		}
	}()
	for _, rt := range routes {
		if rt.refuses(msg.Headers) {
			continue
		}
		var ok bool
		var err error
		spill := !rt.inline || frame == nil
		if !spill {
			ok, err, spill = h.sendFrame(rt, frame)
		}
		if spill {
			if stage == nil {
				if stage, err = h.stagePrefix(prefix, content, msg.ID, len(routes) > 1); err != nil {
					return reached, missed, err
				}
			}
			_, ok, err = h.deliver(rt, stage, msg, content, above)
		}
		switch {
		case ok:
			reached++
		case err != nil:
			missed = append(missed, Miss{Channel: h.channelPath(rt.name), Err: err})
		}
	}
	return reached, missed, nil
}

// inlineFrame returns the message as a FIFO frame (see wire.NextRecord)
// when it is small enough and some matching channel takes frames, else nil.
func inlineFrame(routes []*route, prefix, content []byte) []byte {
	if !slices.ContainsFunc(routes, func(rt *route) bool { return rt.inline }) {
		return nil
	}
	return frameOf(prefix, content)
}

// frameOf returns the message as a FIFO frame, or nil when it is too
// large to go inline.
func frameOf(prefix, content []byte) []byte {
	size, fits := frameSize(prefix, content)
	if !fits {
		return nil
	}
	return appendFrame(make([]byte, 0, size), prefix, content)
}

// frameSize returns the size of the message's FIFO frame, and false when
// it is too large to go inline.
func frameSize(prefix, content []byte) (int, bool) {
	n := len(prefix) + len(content)
	return wire.FrameSize(n), n <= MaxInline
}

// appendFrame appends the message as a FIFO frame to dst.
func appendFrame(dst, prefix, content []byte) []byte {
	n := len(prefix) + len(content)
	dst = wire.AppendFrame(dst, n)
	dst = append(append(dst, prefix...), content...)
	return wire.AppendPadding(dst, n)
}

// sendFrame hands frames (a whole message, or several) to a Go channel in
// one write to its FIFO, which the kernel keeps whole. spill means the
// FIFO is full: deliver them as files instead.
func (h *Home) sendFrame(rt *route, frame []byte) (ok bool, err error, spill bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := h.acquire(rt); err != nil {
		return false, h.acquireFailed(rt, err), false
	}
	err = rt.sendInline(frame)
	if err == fsys.ErrWouldBlock {
		return false, nil, true
	}
	if err == nil {
		return true, nil, false
	}
	ok, err = h.writeFailed(rt, "", err)
	return ok, err, false
}

// acquireFailed turns a failure to open a route's directory into what a
// delivery reports: nothing for a channel gone or not ours, else a miss.
func (h *Home) acquireFailed(rt *route, err error) error {
	switch err {
	case errChannelGone:
		return nil
	case errNotOurs:
		rt.state.Store(skipped)
		return nil
	}
	return fmt.Errorf("open channel: %w", err)
}

// deliver links the staged file into one channel and announces its id,
// which must be above the one given: a file's id orders it in a listing of
// the channel, and a batch drew its ids before a collision may have moved
// one of them up (deliverFresh). It returns the id the channel got; ok
// reports the channel reached; err, when not ok, why it was missed.
// Neither means the channel is gone and does not count.
func (h *Home) deliver(rt *route, s *staged, msg *wire.Message, content []byte, above uint64) (id uint64, ok bool, err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := h.acquire(rt); err != nil {
		return 0, false, h.acquireFailed(rt, err)
	}
	if rt.q != nil {
		ok, err := h.enqueue(rt, s)
		return s.id, ok, err
	}
	if s.id <= above {
		return h.deliverFresh(rt, msg, content)
	}
	name := messageName(s.id)
	err = s.link(rt.dirFD, name)
	if errors.Is(err, fsys.ErrExist) {
		// Another publisher's pending message has this id. Give this
		// channel its own copy under an id it does not hold yet.
		return h.deliverFresh(rt, msg, content)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			h.routes.dirty.Store(true) // the channel closed under us
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("link message: %w", err)
	}
	ok, err = h.announce(rt, name, s)
	return s.id, ok, err
}

// deliverFresh delivers msg to rt under a fresh id, above every id this
// process drew before. Called with rt.mu held.
func (h *Home) deliverFresh(rt *route, msg *wire.Message, content []byte) (uint64, bool, error) {
	for range maxIDRetries {
		fresh := *msg
		fresh.ID = jumpID()
		prefix, err := encodePrefix(&fresh, len(content))
		if err != nil {
			return 0, false, err
		}
		s, err := h.stagePrefix(prefix, content, fresh.ID, false)
		if err != nil {
			return 0, false, err
		}
		name := messageName(fresh.ID)
		err = s.link(rt.dirFD, name)
		if errors.Is(err, fsys.ErrExist) {
			s.discard()
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			s.discard()
			h.routes.dirty.Store(true)
			return 0, false, nil
		}
		if err != nil {
			s.discard()
			return 0, false, fmt.Errorf("link message: %w", err)
		}
		ok, err := h.announce(rt, name, s)
		s.discard()
		return fresh.ID, ok, err
	}
	return 0, false, fmt.Errorf("link message: %d ids in a row already pending", maxIDRetries)
}

// announce writes the id of a linked message into the channel's FIFO.
// Called with rt.mu held.
func (h *Home) announce(rt *route, name string, s *staged) (bool, error) {
	if err := rt.announce(s.id, s); err != nil {
		return h.writeFailed(rt, name, err)
	}
	return true, nil
}

// writeFailed handles a failed write to a channel's FIFO. name is the
// message file linked into the channel, taken back unless the channel
// will find it; "" when the message went inline. Called with rt.mu held.
func (h *Home) writeFailed(rt *route, name string, err error) (bool, error) {
	unlink := func() {
		if name != "" {
			_ = fsys.Unlinkat(rt.dirFD, name)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fsys.ErrNotFIFO):
		// No queue FIFO: not a channel, or a formix-pubsub channel between
		// its mkdir and its mkfifo, which is not reading yet either.
		unlink()
		h.log.Debug("pubsub: skipped a channel directory without a queue FIFO", "dir", h.channelPath(rt.name))
		return false, nil
	case errors.Is(err, fsys.ErrWouldBlock):
		unlink()
		return false, ErrFIFOFull
	case errors.Is(err, fsys.ErrNoReader), errors.Is(err, fsys.ErrBrokenPipe):
		// No reader: the owner closed the channel, died, or (formix-pubsub)
		// has not opened it yet.
		unlink()
		rt.broken.Store(true)
		h.routes.dirty.Store(true)
		if isGone(rt.dirFD) {
			return false, nil
		}
		if _, alive, err := channelOwner(rt.dirFD, rt.pid); err == nil && !alive {
			_ = h.reclaim(rt.name)
			return false, nil
		}
		if rt.goChan {
			return false, nil // closing: its owner is removing it
		}
		return false, ErrNotReading
	default:
		unlink()
		return false, fmt.Errorf("announce message: %w", err)
	}
}
