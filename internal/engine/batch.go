package engine

import (
	"fmt"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// batchWrite is the most a batch writes to a FIFO at once: PIPE_BUF, so
// the kernel writes it whole or not at all and frames are never torn.
const batchWrite = fsys.PipeBuf

// PublishBatch publishes every content in turn on topicName with the same
// headers, and returns the deliveries made and, for each message that
// missed a channel, the channels it missed. err stops the batch: see the
// root package's PublishBatch for what was sent by then.
func (h *Home) PublishBatch(topicName string, contents [][]byte, headers map[string]any) (int, []Missed, error) {
	h.waitAsync() // keep the place after what PublishAsync queued
	if err := h.use(); err != nil {
		return 0, nil, err
	}
	defer h.done()
	if err := topic.ValidateTopic(topicName); err != nil {
		return 0, nil, err
	}
	// One set of headers for all: encoded once here, a bad one fails the
	// call before anything is sent.
	if _, err := encodePrefix(&wire.Message{Topic: topicName, Headers: headers}, 0); err != nil {
		return 0, nil, err
	}
	msgs := make([]batched, len(contents))
	for i, content := range contents {
		if uint64(len(content)) > wire.MaxLen {
			return 0, nil, fmt.Errorf("pubsub: content %d of %d bytes is over the format's limit of %d", i, len(content), uint64(wire.MaxLen))
		}
		msgs[i].content = content
		msgs[i].msg = wire.Message{Topic: topicName, Headers: headers}
	}
	reached, err := h.sendBatch(topicName, msgs)
	return reached, missedOf(msgs), err
}

// PublishCarriedBatch publishes messages carried from elsewhere, in order,
// each keeping its id and timestamp; consecutive messages on one topic go
// together as PublishBatch sends them. Every message is checked before
// any is sent.
func (h *Home) PublishCarriedBatch(ms []*wire.Message) (int, []Missed, error) {
	h.waitAsync() // keep the place after what PublishAsync queued
	if err := h.use(); err != nil {
		return 0, nil, err
	}
	defer h.done()
	var err error
	var arena []byte // the prefixes, many to an allocation
	msgs := make([]batched, len(ms))
	for i, m := range ms {
		b := &msgs[i]
		if b.msg, err = carried(m); err != nil {
			return 0, nil, fmt.Errorf("message %d: %w", i, err)
		}
		b.content = m.Content
		if i > 0 && sameTopicAndHeaders(&b.msg, &msgs[i-1].msg) {
			// Most often a stream repeats the headers (a bridge's
			// origin): copy the prefix, without encoding them again.
			arena, b.prefix, err = appendRestamped(arena, msgs[i-1].prefix, &b.msg, len(b.content))
		} else {
			arena, b.prefix, err = appendPrefix(arena, &b.msg, len(b.content))
		}
		if err != nil {
			return 0, nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	reached := 0
	all := msgs
	for len(msgs) > 0 {
		run := 1
		for run < len(msgs) && msgs[run].msg.Topic == msgs[0].msg.Topic {
			run++
		}
		n, err := h.sendBatch(msgs[0].msg.Topic, msgs[:run])
		reached += n
		if err != nil {
			return reached, missedOf(all), err // not only missed channels: stop
		}
		msgs = msgs[run:]
	}
	return reached, missedOf(all), nil
}

// missedOf lists the messages of a batch that missed channels, in order.
func missedOf(msgs []batched) []Missed {
	var out []Missed
	for i := range msgs {
		if len(msgs[i].missed) > 0 {
			out = append(out, Missed{ID: msgs[i].msg.ID, Topic: msgs[i].msg.Topic, Missed: msgs[i].missed})
		}
	}
	return out
}

// sendBatch delivers msgs, all on topicName, to the matching channels,
// noting in each message the channels it missed. A message with no prefix
// yet gets its id, timestamp and encoding as its turn comes.
func (h *Home) sendBatch(topicName string, msgs []batched) (int, error) {
	routes, err := h.routes.match(topicName)
	defer h.routes.release()
	if err != nil {
		return 0, h.listError(err)
	}
	if len(routes) == 0 {
		return 0, h.noRoutes()
	}
	routes, unusable := h.usable(routes)

	b := batch{h: h, msgs: msgs, pending: make([]pendingFrames, len(routes))}
	var files []*route
	anyInline := false
	for i, rt := range routes {
		if h.inline && rt.inline {
			b.pending[i].rt = rt
			anyInline = true
		} else {
			files = append(files, rt)
		}
	}
	var arena []byte // the prefixes drawn here
	for i := range msgs {
		m := &msgs[i]
		if m.prefix == nil {
			// Ids are drawn in turn, as the messages go: one a collision
			// moved up stays below the next (see jumpID), so ids keep
			// publishing order.
			now := time.Now().UnixMicro()
			m.msg.ID, m.msg.Timestamp = newIDAt(now), now
			if arena, m.prefix, err = appendPrefix(arena, &m.msg, len(m.content)); err != nil {
				b.fatal = err
				break
			}
		}
		m.missed = append(m.missed, unusable...)
		size, inline := frameSize(m.prefix, m.content)
		inline = inline && anyInline
		targets, above := files, uint64(0)
		if !inline {
			// Too large to go inline: the frames before it go first, then
			// it goes to every channel as Publish sends it, above what
			// they got as files.
			b.flushAll()
			targets, above = routes, b.lastSpilled()
		}
		for j := range b.pending {
			if p := &b.pending[j]; p.rt != nil && inline && !p.rt.refuses(m.msg.Headers) {
				if len(p.buf)+size > batchWrite {
					b.flush(p)
				}
				p.buf = appendFrame(p.buf, m.prefix, m.content)
				p.idx = append(p.idx, i)
			}
		}
		if b.fatal != nil {
			// A flush could not stage what a full FIFO refused: the batch
			// stops, and this message must not follow the others out.
			b.unqueue(i, size)
			break
		}
		if len(targets) == 0 {
			continue
		}
		n, missed, err := h.publishTo(targets, &m.msg, m.prefix, m.content, above)
		b.reached += n
		m.missed = append(m.missed, missed...)
		if err != nil {
			b.fatal = err
			// The failed message must not follow the others out.
			b.unqueue(i, size)
			break
		}
	}
	b.flushAll()
	return b.reached, b.fatal
}

// batched is one message of a batch.
type batched struct {
	msg     wire.Message
	prefix  []byte
	content []byte
	missed  []Miss
}

// batch is a PublishBatch call in progress.
type batch struct {
	h       *Home
	msgs    []batched
	pending []pendingFrames // one per route; rt is nil for file routes
	reached int
	fatal   error // stops the batch
}

// pendingFrames are frames for one Go channel not written yet.
type pendingFrames struct {
	rt   *route
	buf  []byte
	idx  []int  // the messages in buf
	last uint64 // the id of the last message the channel got as a file
}

// lastSpilled returns the highest id a channel got as a file in a flush:
// a message drawn before it must go above it (see spill).
func (b *batch) lastSpilled() uint64 {
	var last uint64
	for j := range b.pending {
		last = max(last, b.pending[j].last)
	}
	return last
}

// unqueue takes message i, whose frame is size bytes, out of the frames
// waiting to be written.
func (b *batch) unqueue(i, size int) {
	for j := range b.pending {
		if p := &b.pending[j]; p.rt != nil && len(p.idx) > 0 && p.idx[len(p.idx)-1] == i {
			p.idx = p.idx[:len(p.idx)-1]
			p.buf = p.buf[:len(p.buf)-size]
		}
	}
}

func (b *batch) flushAll() {
	for j := range b.pending {
		if p := &b.pending[j]; p.rt != nil {
			b.flush(p)
		}
	}
}

// flush writes p's frames to its FIFO in one write. When the FIFO stays
// full, or older files still wait for their ids to be announced, the
// messages go the file path one by one, in order.
func (b *batch) flush(p *pendingFrames) {
	if len(p.idx) == 0 {
		return
	}
	defer func() { p.buf, p.idx = p.buf[:0], p.idx[:0] }()
	rt := p.rt
	ok, err, spill := b.h.sendFrame(rt, p.buf)
	switch {
	case spill:
		for _, i := range p.idx {
			if p.last, err = b.spill(rt, i, p.last); err != nil {
				// Staging failed (the file system is full): stop.
				b.fatal = err
				return
			}
		}
	case ok:
		b.reached += len(p.idx)
	case err != nil:
		for _, i := range p.idx {
			b.msgs[i].missed = append(b.msgs[i].missed, Miss{Channel: b.h.channelPath(rt.name), Err: err})
		}
	}
}

// spill delivers message i to rt as a file, under an id above last, the
// id of the message spilled before it: the batch drew its ids before a
// collision may have moved one up, and a listing of the channel orders
// files by id. It returns the id used, and only a failure to stage the
// file; a failure to deliver it is noted as a miss.
func (b *batch) spill(rt *route, i int, last uint64) (uint64, error) {
	m := &b.msgs[i]
	s, err := b.h.stagePrefix(m.prefix, m.content, m.msg.ID, false)
	if err != nil {
		return last, err
	}
	defer s.discard()
	id, ok, err := b.h.deliver(rt, s, &m.msg, m.content, last)
	switch {
	case ok:
		b.reached++
		last = id
	case err != nil:
		m.missed = append(m.missed, Miss{Channel: b.h.channelPath(rt.name), Err: err})
	}
	return last, nil
}
