package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pubsub-go/pubsub"
)

// In JetStream mode the exporter sends what its channel holds at once as
// one atomic batch (NATS 2.12's atomic publish, ADR-50): the stream
// stores all of it or none, in order, for one round trip. A batch costs
// the server a staging store, a few milliseconds, where a single message
// costs one round trip (about 130 µs on loopback), so a handful of
// messages still go one at a time.
const (
	atomicMin      = 32      // fewer messages go one at a time
	atomicMax      = 512     // the server takes up to 1,000 by default
	atomicMaxBytes = 8 << 20 // of content, so a batch of large messages stays small
)

// The headers of an atomic batch, and the error codes the bridge tells
// apart.
const (
	headerBatchID     = "Nats-Batch-Id"
	headerBatchSeq    = "Nats-Batch-Sequence"
	headerBatchCommit = "Nats-Batch-Commit"

	errAtomicDisabled   jetstream.ErrorCode = 10174 // the stream lacks allow_atomic
	errAtomicIncomplete jetstream.ErrorCode = 10176 // a message of the batch went missing
	errAtomicInflight   jetstream.ErrorCode = 10210 // too many batches open at once
)

// gather appends to batch what else ch holds right now, within the
// batch limits, and what ended it: nil at a limit, else what Fetch
// said (ErrNoMessage when the channel ran dry).
func gather(ch *pubsub.Channel, batch []*pubsub.Message) ([]*pubsub.Message, error) {
	size := 0
	for _, m := range batch {
		size += len(m.Content)
	}
	for len(batch) < atomicMax && size < atomicMaxBytes {
		m, err := ch.Fetch()
		if err != nil {
			if _, bad := errors.AsType[*pubsub.MessageError](err); bad {
				continue // set aside and logged by the home
			}
			return batch, err
		}
		batch = append(batch, m)
		size += len(m.Content)
	}
	return batch, nil
}

// exportMany publishes ms, taken in order from export channel i, to the
// stream: as one atomic batch when there are enough of them and the
// stream allows it, else one at a time. It returns how many it handed on
// (sent, or never sendable), fewer than len(ms) only when ctx ended
// first.
func (b *Bridge) exportMany(ctx context.Context, enc *encoder, i int, ms []*pubsub.Message) int {
	out := make([]*pubsub.Message, 0, len(ms))
	for _, m := range ms {
		if b.exports(i, m) {
			out = append(out, m)
		}
	}
	if len(out) >= atomicMin && b.atomicOK.Load() && b.fitsAtomic(enc, out) {
		for attempt := 0; ; attempt++ {
			if err := b.gate.wait(ctx); err != nil {
				return 0
			}
			err := b.publishAtomic(ctx, enc, out)
			if err == nil {
				b.stats.exported.Add(uint64(len(out)))
				b.stats.batched.Add(uint64(len(out)))
				return len(ms)
			}
			if ctx.Err() != nil {
				return 0
			}
			if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && !b.retryAtomic(apiErr, attempt) {
				// Nothing of the batch was stored: one message at a time,
				// each dropped by the stream if it holds it already.
				if apiErr.ErrorCode == errAtomicDisabled && b.atomicOK.CompareAndSwap(true, false) {
					b.log.Warn("bridge: the stream does not allow atomic batches (allow_atomic); exporting one message at a time", "stream", b.stream)
				} else {
					b.log.Warn("bridge: atomic batch refused; exporting its messages one at a time", "messages", len(out), "err", err)
				}
				break
			}
			if attempt == 0 || attempt%10 == 0 {
				b.log.Warn("bridge: atomic batch failed; holding it and retrying with backoff",
					"messages", len(out), "attempt", attempt+1, "err", err)
			}
			if !sleep(ctx, backoff(attempt)) {
				return 0
			}
		}
	}
	for k, m := range ms {
		if !b.export1(ctx, enc, i, m) {
			return k
		}
	}
	return len(ms)
}

// retryAtomic reports whether a batch the stream refused with apiErr, on
// attempt (from 0), is worth sending again as a batch.
//
// An incomplete batch (a message of it lost on the way, or refused
// without a word: non-commit messages carry no reply) and too many open
// batches pass, so a few tries. A duplicate id does not mean the stream
// holds the whole batch: a drain after a stop sends what was in doubt
// together with newer messages, and the stream refuses the whole batch
// for one message it holds. Any other refusal is for good.
func (b *Bridge) retryAtomic(apiErr *jetstream.APIError, attempt int) bool {
	switch apiErr.ErrorCode {
	case errAtomicIncomplete, errAtomicInflight:
		return attempt < 2
	}
	return false
}

// fitsAtomic reports whether every message of ms can go in a batch: one
// over the server's max_payload or the stream's max_msg_size is for
// export1 to report, since the stream refuses a non-commit message
// without a word and the batch would only be incomplete.
func (b *Bridge) fitsAtomic(enc *encoder, ms []*pubsub.Message) bool {
	limit := b.nc.MaxPayload()
	if info := b.jsStream.CachedInfo(); info != nil && info.Config.MaxMsgSize > 0 && (limit <= 0 || int64(info.Config.MaxMsgSize) < limit) {
		limit = int64(info.Config.MaxMsgSize)
	}
	for _, m := range ms {
		msg, err := enc.encode(m)
		if err != nil || (limit > 0 && int64(natsSize(msg)+256) > limit) {
			return false
		}
	}
	return true
}

// publishAtomic sends ms as one atomic batch and waits for the stream's
// answer to its commit.
func (b *Bridge) publishAtomic(ctx context.Context, enc *encoder, ms []*pubsub.Message) error {
	id := b.origin + "-" + strconv.FormatUint(b.batches.Add(1), 10)
	defer enc.endBatch()
	for k, m := range ms {
		msg, err := enc.encode(m)
		if err != nil {
			return err
		}
		last := k == len(ms)-1
		enc.batchHeaders(id, k+1, msgID(b.origin, m), last)
		if !last {
			if err := b.nc.PublishMsg(msg); err != nil {
				return err
			}
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := b.nc.RequestMsgWithContext(rctx, msg)
		cancel()
		if err != nil {
			return err
		}
		var ack struct {
			Error *jetstream.APIError `json:"error"`
			Count int                 `json:"count"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return fmt.Errorf("atomic batch: unreadable answer %q: %w", resp.Data, err)
		}
		switch {
		case ack.Error != nil:
			return ack.Error
		case ack.Count != len(ms):
			return fmt.Errorf("atomic batch: the stream stored %d messages of %d", ack.Count, len(ms))
		}
	}
	return nil
}

// msgID names m for the stream's duplicate detection (Nats-Msg-Id): a
// retry carries the same name and the stream drops it.
func msgID(origin string, m *pubsub.Message) string {
	return origin + "-" + strconv.FormatUint(m.ID, 10) + "-" + strconv.FormatInt(m.Timestamp, 10) + "-" +
		strconv.FormatUint(uint64(fnv32(m.Topic)), 16) + "-" + strconv.Itoa(len(m.Content))
}

// serverAtLeast reports whether a NATS server version ("2.12.1") is at
// least major.minor.
func serverAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// batchHeaders marks the encoder's message as message seq of batch id,
// named msgID, and the batch's last when commit.
func (e *encoder) batchHeaders(id string, seq int, msgID string, commit bool) {
	h := e.msg.Header
	h[jetstream.MsgIDHeader] = []string{msgID}
	h[headerBatchID] = []string{id}
	h[headerBatchSeq] = []string{strconv.Itoa(seq)}
	if commit {
		h[headerBatchCommit] = []string{"1"}
	}
}

// endBatch takes the batch headers off the encoder's message.
func (e *encoder) endBatch() {
	for _, k := range []string{jetstream.MsgIDHeader, headerBatchID, headerBatchSeq, headerBatchCommit} {
		delete(e.msg.Header, k)
	}
}
