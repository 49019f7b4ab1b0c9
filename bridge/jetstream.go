package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// setupJetStream makes sure the prefix's stream exists and, when the
// bridge imports, claims its durable name for this home and makes this
// host's durable consumer, retrying with backoff while the server or its
// JetStream is not there. ok is false when ctx ended first, or when the
// bridge cannot deliver (it then ends Run with the reason).
func (b *Bridge) setupJetStream(ctx context.Context) (cons jetstream.Consumer, claim *durableClaim, ok bool) {
	js, err := jetstream.New(b.nc)
	if err != nil {
		b.log.Error("bridge: JetStream", "err", err)
		return nil, nil, false
	}
	b.js = js
	for attempt := 0; ; attempt++ {
		cons, claim, err = b.ensureJetStream(ctx)
		if err == nil {
			return cons, claim, true
		}
		if errors.Is(err, ErrStreamSubjects) || errors.Is(err, ErrDurableInUse) {
			b.fail(err)
			return nil, nil, false
		}
		if ctx.Err() != nil {
			return nil, nil, false
		}
		if attempt == 0 || attempt%10 == 0 {
			b.log.Warn("bridge: cannot set up the JetStream stream or consumer; retrying with backoff",
				"stream", b.stream, "durable", b.cfg.durable, "attempt", attempt+1, "err", err)
		}
		if !sleep(ctx, backoff(attempt)) {
			return nil, nil, false
		}
	}
}

func (b *Bridge) ensureJetStream(ctx context.Context) (jetstream.Consumer, *durableClaim, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	subject := b.prefix + ".>"
	s, err := b.js.Stream(ctx, b.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = b.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        b.stream,
			Description: "pubsub bridge: the messages of prefix " + b.prefix,
			Subjects:    []string{subject},
			Storage:     jetstream.FileStorage,
			MaxAge:      b.cfg.maxAge,
			Duplicates:  2 * time.Minute,
			// Exports go in atomic batches where the server has them.
			AllowAtomicPublish: serverAtLeast(b.nc.ConnectedServerVersion(), 2, 12),
		})
	}
	if err != nil {
		return nil, nil, err
	}
	if info := s.CachedInfo(); info != nil && !slices.ContainsFunc(info.Config.Subjects, func(s string) bool { return subjectCovers(s, subject) }) {
		// Two prefixes that differ only in case name one default stream.
		return nil, nil, fmt.Errorf("%w: stream %s takes %s, not %s (prefix %s): name another stream with --stream, or use the prefix it was made for",
			ErrStreamSubjects, b.stream, strings.Join(info.Config.Subjects, " "), subject, b.prefix)
	}
	if info := s.CachedInfo(); info != nil {
		b.atomicOK.Store(info.Config.AllowAtomicPublish)
		if !info.Config.AllowAtomicPublish && len(b.export) > 0 {
			b.log.Warn("bridge: the stream does not allow atomic batches (allow_atomic); exporting one message at a time",
				"stream", b.stream, "server", b.nc.ConnectedServerVersion())
		}
	}
	b.jsStream = s
	if len(b.imports) == 0 {
		return nil, nil, nil
	}
	claim, err := b.claimDurable(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       b.cfg.durable,
		Description:   "pubsub bridge of home " + b.origin,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.cfg.ackWait,
		MaxAckPending: 4096,
	}
	if f := filterSubjects(b.prefix, b.subs); len(f) == 1 {
		cfg.FilterSubject = f[0]
	} else {
		cfg.FilterSubjects = f
	}
	cons, err := s.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cons, claim, nil
}

// importJetStream publishes what the durable consumer delivers, in stream
// order, acknowledging each message once it is published into the home.
// The stream sequence of the last one is kept in the home, so that one the
// server delivers again is not published twice.
func (b *Bridge) importJetStream(ctx context.Context, cons jetstream.Consumer) {
	// The consumer's creation time tells a consumer made anew (whose
	// sequences mean nothing to the file) from the one the file knew.
	// The answer to a create-or-update holds the time of the update, so
	// ask for the consumer's own.
	var info *jetstream.ConsumerInfo
	for attempt := 0; ; {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		i, err := cons.Info(ictx)
		cancel()
		if err == nil {
			info = i
			break
		}
		if !b.retryJS(ctx, &attempt, "info", err) {
			return
		}
	}
	seqs, err := openSeqFile(b.home.Dir(), b.prefix, b.cfg.durable, info.Created.UnixNano())
	if err != nil {
		b.log.Error("bridge: cannot keep the last sequence; redeliveries may be published twice", "err", err)
	} else {
		defer seqs.Close()
	}
	var it jetstream.MessagesContext
	defer func() {
		if it != nil {
			it.Stop()
		}
	}()
	// Deliveries come in stream order, except when some were lost on
	// the way (a server restart, a bridge killed): the server delivers
	// them again only after AckWait, behind newer ones. So the bridge
	// starts by resetting the consumer to its ack floor, and does it again
	// when the consumer sequence of the deliveries skips: what follows the
	// floor comes again in order, and what was published already is
	// recognised by its stream sequence.
	reset := true
	var lastDelivery uint64
	for attempt := 0; ; {
		if it == nil || reset {
			if it != nil {
				it.Stop()
				it = nil
			}
			if reset {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := b.jsStream.ResetConsumer(rctx, b.cfg.durable)
				cancel()
				if err != nil && !errors.Is(err, jetstream.ErrConsumerInvalidReset) {
					if !b.retryJS(ctx, &attempt, "reset", err) {
						return
					}
					continue
				}
				reset, lastDelivery = false, 0
			}
			it, err = cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(512, 64<<20))
			if err != nil {
				it = nil
				if !b.retryJS(ctx, &attempt, "consume", err) {
					return
				}
				continue
			}
		}
		jm, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				it = nil
			}
			if !b.retryJS(ctx, &attempt, "next", err) {
				break
			}
			continue
		}
		attempt = 0
		if meta, err := jm.Metadata(); err == nil {
			if lastDelivery != 0 && meta.Sequence.Consumer != lastDelivery+1 {
				// Deliveries were lost; this one comes again after the reset.
				b.log.Info("bridge: JetStream deliveries skipped; resetting the consumer to its ack floor",
					"after", lastDelivery, "got", meta.Sequence.Consumer)
				reset = true
				continue
			}
			lastDelivery = meta.Sequence.Consumer
		}
		if !b.importJS(ctx, jm, seqs) {
			break
		}
	}
	// Stopping: what was pulled already is published and acknowledged,
	// so that a restart does not wait for its redelivery.
	if it == nil {
		return
	}
	it.Drain()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.drainTimeout)
	defer cancel()
	for {
		jm, err := it.Next(jetstream.NextContext(dctx))
		if err != nil {
			return
		}
		if !b.importJS(dctx, jm, seqs) {
			_ = jm.Nak()
		}
	}
}

func (b *Bridge) retryJS(ctx context.Context, attempt *int, what string, err error) bool {
	if *attempt == 0 || *attempt%10 == 0 {
		b.log.Warn("bridge: JetStream consumer: retrying with backoff", "op", what, "attempt", *attempt+1, "err", err)
	}
	d := backoff(*attempt)
	*attempt++
	return sleep(ctx, d)
}

// importJS publishes one message from the consumer and acknowledges it;
// false means ctx ended before it could be published (it is not
// acknowledged, and comes again).
func (b *Bridge) importJS(ctx context.Context, jm jetstream.Msg, seqs *seqFile) bool {
	meta, err := jm.Metadata()
	if err != nil {
		b.log.Warn("bridge: JetStream message without metadata; dropped", "err", err)
		_ = jm.Term()
		return true
	}
	seq := meta.Sequence.Stream
	if seqs != nil && seq <= seqs.last {
		b.stats.duplicates.Add(1)
		_ = jm.Ack()
		return true
	}
	msg := &nats.Msg{Subject: jm.Subject(), Header: jm.Headers(), Data: jm.Data()}
	if !b.import1(ctx, msg, jm) {
		return false
	}
	if seqs != nil {
		if err := seqs.store(seq); err != nil {
			b.log.Warn("bridge: cannot keep the last sequence", "err", err)
		}
	}
	if err := jm.Ack(); err != nil {
		b.log.Warn("bridge: ack", "seq", seq, "err", err)
	}
	return true
}
