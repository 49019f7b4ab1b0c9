package pubsub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// maxIDRetries bounds the fresh ids drawn for one channel whose directory
// already holds a pending message with the id drawn.
const maxIDRetries = 16

// Publish writes a message on topic to every live channel whose topic
// matches, and returns how many channels it reached. A channel that
// refuses one of the message's headers ([WithoutHeader]) is left out and
// not counted.
//
// The topic is concrete: words of [A-Za-z0-9-] separated by '.', without
// wildcards; anything else is a *[TopicError]. A header that is not a JSON
// scalar is a *[HeaderError]. Content may be empty, and up to 4 GiB - 1
// bytes.
//
// A channel is reached once the message file is in its directory and its
// id in its FIFO (or, for a Go channel whose FIFO is full, once the file is
// there: Go subscribers find such files themselves). Every matching
// channel that could not be reached is listed in a *[DeliveryError], with
// the message taken back out of it; the count still says how many were
// reached. Channels whose owner is dead are not counted, and are removed.
//
// Publishing with no matching channel returns 0 and no error: as in
// formix-pubsub, a message nobody listens to is not kept.
func (h *Home) Publish(topicName string, content []byte, headers Headers) (int, error) {
	_, n, err := h.PublishID(topicName, content, headers)
	return n, err
}

// PublishID is [Home.Publish] that also returns the id the message was
// given (a channel that met an id collision receives it under a fresh id;
// see the README). The id is 0 when the call failed before one was drawn:
// an invalid topic or header, or a closed Home.
func (h *Home) PublishID(topicName string, content []byte, headers Headers) (id uint64, n int, err error) {
	if err := h.use(); err != nil {
		return 0, 0, err
	}
	defer h.done()
	if err := topic.ValidateTopic(topicName); err != nil {
		return 0, 0, err
	}
	if uint64(len(content)) > wire.MaxLen {
		return 0, 0, fmt.Errorf("pubsub: content of %d bytes is over the format's limit of %d", len(content), uint64(wire.MaxLen))
	}
	msg := wire.Message{ID: h.newID(), Timestamp: time.Now().UnixMicro(), Topic: topicName, Headers: headers}
	// Encode everything but the content, before any channel sees the
	// message, so a bad header fails the call with nothing delivered.
	prefix, err := encodePrefix(&msg, len(content))
	if err != nil {
		return 0, 0, err
	}
	n, err = h.publish(&msg, prefix, content)
	return msg.ID, n, err
}

// PublishMessage publishes m as it stands, keeping its id and timestamp,
// for a program that carries messages from elsewhere (a bridge) and must
// not renumber them. A zero ID or Timestamp is drawn as Publish draws it.
// Its headers may hold whatever a received message's can: besides the
// scalars Publish takes, NaN and ±Inf, and json.RawMessage for nested
// values, written back as Python wrote them.
// A channel already holding a pending message with m's id receives it
// under a fresh id, as with any collision; m.ID is left as it was. An id
// whose top byte is 0xFF is refused. The order guarantee holds for these
// messages as the ids allow: where a subscriber finds files by listing
// its directory (after a FIFO overflow), it takes them in id order.
func (h *Home) PublishMessage(m *Message) (int, error) {
	if err := h.use(); err != nil {
		return 0, err
	}
	defer h.done()
	msg, err := h.carried(m)
	if err != nil {
		return 0, err
	}
	prefix, err := encodePrefix(&msg, len(m.Content))
	if err != nil {
		return 0, err
	}
	return h.publish(&msg, prefix, m.Content)
}

// carried checks a message carried from elsewhere and returns it ready to
// encode, with the id and timestamp drawn that it lacks.
func (h *Home) carried(m *Message) (wire.Message, error) {
	if err := topic.ValidateTopic(m.Topic); err != nil {
		return wire.Message{}, err
	}
	if uint64(len(m.Content)) > wire.MaxLen {
		return wire.Message{}, fmt.Errorf("pubsub: content of %d bytes is over the format's limit of %d", len(m.Content), uint64(wire.MaxLen))
	}
	if m.ID>>56 == 0xFF {
		// A Go channel's FIFO carries inline frames whose header starts
		// with 0xFF; an id announced there must never look like one.
		return wire.Message{}, fmt.Errorf("%w %#x: ids are below 0xff00000000000000 (formix-pubsub and this package draw them from the clock in microseconds, shifted 16 bits)", ErrInvalidID, m.ID)
	}
	msg := wire.Message{ID: m.ID, Timestamp: m.Timestamp, Topic: m.Topic, Headers: m.Headers, Carried: true}
	if msg.ID == 0 {
		msg.ID = h.newID()
	}
	if msg.Timestamp == 0 {
		msg.Timestamp = time.Now().UnixMicro()
	}
	return msg, nil
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
func (h *Home) publish(msg *wire.Message, prefix, content []byte) (reached int, err error) {
	routes := h.routes.match(msg.Topic)
	defer h.routes.release()
	if len(routes) == 0 {
		return 0, h.noRoutes()
	}
	return h.publishTo(routes, msg, prefix, content)
}

// publishTo delivers an encoded message to routes.
func (h *Home) publishTo(routes []*route, msg *wire.Message, prefix, content []byte) (reached int, err error) {
	topicName := msg.Topic
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
	var missed []Miss
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
					return reached, err
				}
			}
			ok, err = h.deliver(rt, stage, msg, content)
		}
		switch {
		case ok:
			reached++
		case err != nil:
			missed = append(missed, Miss{Channel: h.channelPath(rt.name), Err: err})
		}
	}
	if len(missed) > 0 {
		return reached, &DeliveryError{ID: msg.ID, Topic: topicName, Missed: missed}
	}
	return reached, nil
}

// staged is a complete message file that no channel can see yet.
type staged struct {
	h    *Home
	fd   int
	name string // set only when the file system has no O_TMPFILE
	id   uint64
}

// stage writes the message into a file no channel can see yet. For one
// channel it has no name at all (O_TMPFILE), so a crash leaves nothing
// behind. For several it is named in HOME/tmp, with a name formix-pubsub
// never uses: a file with no name can only be linked while it never had
// one, and the first channel's subscriber may unlink its copy before the
// last channel is linked.
func (h *Home) stage(msg *wire.Message, content []byte, named bool) (*staged, error) {
	prefix, err := encodePrefix(msg, len(content))
	if err != nil {
		return nil, err
	}
	return h.stagePrefix(prefix, content, msg.ID, named)
}

// encodePrefix encodes a message without its content, which follows the
// prefix: the content is written from the caller's slice, never copied.
func encodePrefix(msg *wire.Message, contentLen int) ([]byte, error) {
	prefix, err := wire.AppendEncode(make([]byte, 0, 256), msg)
	if err != nil {
		return nil, err
	}
	// msg carries no content: the last field is the content length.
	binary.BigEndian.PutUint32(prefix[len(prefix)-4:], uint32(contentLen))
	return prefix, nil
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
	return wire.FrameSize(n), n <= wire.MaxInline
}

// appendFrame appends the message as a FIFO frame to dst.
func appendFrame(dst, prefix, content []byte) []byte {
	n := len(prefix) + len(content)
	dst = wire.AppendFrame(dst, n)
	dst = append(append(dst, prefix...), content...)
	return wire.AppendPadding(dst, n)
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
	err := fsys.WriteID(fd, rec)
	if err != unix.EAGAIN {
		return err
	}
	// Other publishers may take the room first: wait again until the
	// deadline, not just once.
	deadline := time.Now().Add(fifoWait)
	for left := fifoWait; left > 0; left = time.Until(deadline) {
		if fsys.WaitWritable(fd, left) {
			if err = fsys.WriteID(fd, rec); err != unix.EAGAIN {
				return err
			}
		}
	}
	return err
}

// sendInline writes buf, whole frames, into the Go channel's FIFO after
// the ids still waiting to be announced. EAGAIN means the FIFO is full or
// older messages still wait: the frames go the file path instead.
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
		return unix.EAGAIN // go after them
	}
	return rt.write(fd, buf)
}

// sendFrame hands a whole message to a Go channel in one write to its FIFO,
// which the kernel keeps whole. spill means the FIFO is full: deliver it
// as a file instead.
func (h *Home) sendFrame(rt *route, frame []byte) (ok bool, err error, spill bool) {
	err = rt.sendInline(frame)
	if errors.Is(err, unix.EAGAIN) {
		return false, nil, true
	}
	if err == nil {
		return true, nil, false
	}
	ok, err = h.writeFailed(rt, "", err)
	return ok, err, false
}

func (h *Home) stagePrefix(prefix, content []byte, id uint64, named bool) (*staged, error) {
	s := &staged{h: h, fd: -1, id: id}
	fd := -1
	var err error
	if !named {
		fd, err = fsys.CreateUnnamed(h.tmpFD, h.access.fileMode)
		named = fsys.NoTmpfile(err)
	}
	if named {
		s.name = stagingName(id)
		fd, err = unix.Openat(h.tmpFD, s.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, h.access.fileMode)
		if err != nil {
			err = &fs.PathError{Op: "create", Path: s.name, Err: err}
		}
	}
	if err != nil {
		return nil, h.stageError(len(prefix)+len(content), err)
	}
	s.fd = fd
	if h.access.shared {
		// The umask may have taken the group's bits away.
		if err := unix.Fchmod(fd, h.access.fileMode); err != nil {
			s.discard()
			return nil, h.stageError(len(prefix)+len(content), err)
		}
	}
	if err := fsys.WriteAll(fd, prefix, content); err != nil {
		s.discard()
		return nil, h.stageError(len(prefix)+len(content), err)
	}
	return s, nil
}

// stageError says where staging a message of size bytes failed, and what
// to do when the file system is full (ENOSPC on create or on write).
func (h *Home) stageError(size int, err error) error {
	dir := filepath.Join(h.dir, "tmp")
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("pubsub: stage a message of %d bytes in %s: %w (the home's file system is full: subscribers must take their messages, or the file system needs more room)", size, dir, err)
	}
	return fmt.Errorf("pubsub: stage message in %s: %w", dir, err)
}

// stagingName names a staging file in HOME/tmp: .{pid}.{id}.part, so
// Cleanup can tell when its publisher is gone.
func stagingName(id uint64) string {
	return "." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(id, 10) + ".part"
}

func (s *staged) link(dirFD int, name string) error {
	if s.name != "" {
		return unix.Linkat(s.h.tmpFD, s.name, dirFD, name, 0)
	}
	return fsys.LinkFD(s.fd, dirFD, name)
}

func (s *staged) discard() {
	if s.name != "" {
		_ = unix.Unlinkat(s.h.tmpFD, s.name, 0)
	}
	fsys.Close(s.fd)
}

// deliver links the staged file into one channel and announces its id. ok
// reports the channel reached; err, when not ok, why it was missed. Neither
// means the channel is gone and does not count.
func (h *Home) deliver(rt *route, s *staged, msg *wire.Message, content []byte) (ok bool, err error) {
	id := s.id
	name := strconv.FormatUint(id, 10)
	err = s.link(rt.dirFD, name)
	if errors.Is(err, unix.EEXIST) {
		// Another publisher's pending message has this id. Give this
		// channel its own copy under an id it does not hold yet.
		return h.deliverFresh(rt, msg, content)
	}
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			h.routes.dirty.Store(true) // the channel closed under us
			return false, nil
		}
		return false, fmt.Errorf("link message: %w", err)
	}
	return h.announce(rt, name, id)
}

func (h *Home) deliverFresh(rt *route, msg *wire.Message, content []byte) (bool, error) {
	for range maxIDRetries {
		fresh := *msg
		fresh.ID = jumpID()
		s, err := h.stage(&fresh, content, false)
		if err != nil {
			return false, err
		}
		name := strconv.FormatUint(fresh.ID, 10)
		err = s.link(rt.dirFD, name)
		s.discard()
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if errors.Is(err, unix.ENOENT) {
			h.routes.dirty.Store(true)
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("link message: %w", err)
		}
		return h.announce(rt, name, fresh.ID)
	}
	return false, fmt.Errorf("link message: %d ids in a row already pending", maxIDRetries)
}

// announce writes the id of a linked message into the channel's FIFO.
func (h *Home) announce(rt *route, name string, id uint64) (bool, error) {
	var rec [8]byte
	binary.BigEndian.PutUint64(rec[:], id)
	fd, err := rt.writer()
	if err == nil && rt.goChan {
		rt.mu.Lock()
		err = rt.flushUnannounced(fd)
		if err == nil && len(rt.unannounced) == 0 {
			err = rt.write(fd, rec[:])
		} else if err == nil {
			err = unix.EAGAIN
		}
		if errors.Is(err, unix.EAGAIN) {
			// The file is in the channel; its id follows the older ones.
			rt.queueUnannounced(id)
			err = nil
		}
		rt.mu.Unlock()
	} else if err == nil {
		err = fsys.WriteID(fd, rec[:])
	}
	if err == nil {
		return true, nil
	}
	return h.writeFailed(rt, name, err)
}

// flushUnannounced writes the ids of files linked while the FIFO was full,
// oldest first, until the FIFO is full again. Called with rt.mu held.
func (rt *route) flushUnannounced(fd int) error {
	var rec [8]byte
	for len(rt.unannounced) > 0 {
		binary.BigEndian.PutUint64(rec[:], rt.unannounced[0])
		if err := fsys.WriteID(fd, rec[:]); err != nil {
			if errors.Is(err, unix.EAGAIN) {
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

// writeFailed handles a failed write to a channel's FIFO. name is the
// message file linked into the channel, taken back unless the channel
// will find it; "" when the message went inline.
func (h *Home) writeFailed(rt *route, name string, err error) (bool, error) {
	unlink := func() {
		if name != "" {
			_ = unix.Unlinkat(rt.dirFD, name, 0)
		}
	}
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, fsys.ErrNotFIFO):
		// No queue FIFO: not a channel, or a formix-pubsub channel between
		// its mkdir and its mkfifo, which is not reading yet either.
		unlink()
		h.log.Debug("pubsub: skipped a channel directory without a queue FIFO", "dir", h.channelPath(rt.name))
		return false, nil
	case errors.Is(err, unix.EAGAIN):
		unlink()
		return false, ErrFIFOFull
	case errors.Is(err, unix.ENXIO), errors.Is(err, unix.EPIPE):
		// No reader: the owner closed the channel, died, or (formix-pubsub)
		// has not opened it yet.
		unlink()
		rt.broken.Store(true)
		h.routes.dirty.Store(true)
		if isGone(rt.dirFD) {
			return false, nil
		}
		if _, alive := ownerAlive(rt.dirFD, rt.pid); !alive {
			h.reclaim(rt.name)
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

// isGone reports whether a directory was removed (its link count is 0).
func isGone(dirFD int) bool {
	var st unix.Stat_t
	return unix.Fstat(dirFD, &st) != nil || st.Nlink == 0
}
