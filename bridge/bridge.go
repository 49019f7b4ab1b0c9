package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Stats counts what a bridge did.
type Stats struct {
	Exported   uint64 // local messages published to NATS
	Batched    uint64 // of those, sent in JetStream atomic batches
	Packs      uint64 // NATS messages that carried exported messages packed (WithPacking)
	Imported   uint64 // messages from NATS published into the home (each of a pack's)
	Echoes     uint64 // NATS messages from this home, dropped (a pack counts one)
	Duplicates uint64 // JetStream redeliveries of messages already published, dropped
	TooLarge   uint64 // local messages over the NATS server's max_payload, not exported
	Rejected   uint64 // messages from NATS the home refused (bad topic or headers), or a pack's that could not be read, dropped
	Partial    uint64 // imported messages that some matching channel could not take
	Missed     uint64 // of those, the deliveries missed: one per message and channel
	// SlowConsumer counts core NATS messages dropped before the importer
	// took them, because it fell behind by more than a NATS subscription
	// holds (512Ki messages or 64 MiB, nats.go's defaults). JetStream
	// mode drops none: the stream keeps what the importer has not taken.
	SlowConsumer uint64
}

// Bridge carries messages between one home and NATS. Make one with New
// and run it with Run.
type Bridge struct {
	home     *pubsub.Home
	url      string
	cfg      config
	log      *slog.Logger
	prefix   string
	stream   string
	export   []topic.Pattern
	imports  []topic.Pattern
	subs     []string // NATS subject per import pattern
	subjects []string // the distinct subjects of subs, in order
	origin   string

	nc       *nats.Conn
	js       jetstream.JetStream
	jsStream jetstream.Stream
	gate     gate
	ready    chan struct{} // closed once set up: exporters may publish
	stats    struct {
		exported, batched, packs, imported, echoes, duplicates, tooLarge, rejected, partial, missed atomic.Uint64
		queueDropped, natsDropped                                                                   atomic.Uint64
	}
	attempts atomic.Int64              // failed connection attempts in a row
	origins  map[string]pubsub.Headers // see originHeaders
	// What packs repeat from one message to the next (the importer's
	// goroutine only).
	unpacking wire.Stream
	atomicOK  atomic.Bool   // the stream takes atomic batches (atomic.go)
	batches   atomic.Uint64 // atomic batches sent, for their ids
	// The bounds of the core importer's queue: those of a NATS
	// subscription, nats.go's defaults.
	queueMsgs, queueBytes int

	stop    context.CancelCauseFunc // ends Run
	fatalMu sync.Mutex
	fatal   error // why the bridge cannot go on, returned by Run
}

var durableName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// New returns a bridge between home and the NATS server at url (see
// [ValidateURL]), ready to [Bridge.Run], or an error naming the first
// bad value among its arguments and opts. The bridge does not close home.
// It needs some pattern to carry: give [WithExport] or [WithImport].
func New(home *pubsub.Home, url string, opts ...Option) (*Bridge, error) {
	if home == nil {
		return nil, errors.New("bridge: no home")
	}
	if err := ValidateURL(url); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	b := &Bridge{home: home, url: url, cfg: cfg, prefix: cfg.prefix, stream: cfg.stream, log: cfg.logger, ready: make(chan struct{}),
		queueMsgs: nats.DefaultSubPendingMsgsLimit, queueBytes: nats.DefaultSubPendingBytesLimit}
	if err := validatePrefix(b.prefix); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if len(cfg.export)+len(cfg.imports) == 0 {
		return nil, errors.New("bridge: nothing to do: give at least one pattern to export or import")
	}
	for _, p := range cfg.export {
		c, err := topic.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("bridge: export pattern: %w", err)
		}
		b.export = append(b.export, c)
	}
	for _, p := range cfg.imports {
		c, err := topic.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("bridge: import pattern: %w", err)
		}
		b.imports = append(b.imports, c)
		s, _ := patternSubject(b.prefix, p)
		b.subs = append(b.subs, s)
		if !slices.Contains(b.subjects, s) {
			b.subjects = append(b.subjects, s)
		}
	}
	if cfg.durable != "" && !durableName.MatchString(cfg.durable) {
		return nil, fmt.Errorf("bridge: invalid durable name %q: 1 to 64 of [A-Za-z0-9_-]", cfg.durable)
	}
	if cfg.packed && cfg.durable != "" {
		return nil, errors.New("bridge: packing is for core NATS: JetStream mode (a durable name) sends a message a NATS message")
	}
	b.gate.ch = make(chan struct{})
	return b, nil
}

// streamName is the default name of the JetStream stream of prefix.
func streamName(prefix string) string {
	return strings.ToUpper(strings.ReplaceAll(prefix, ".", "_"))
}

// Origin returns the origin of the bridge's home, once Run has started.
func (b *Bridge) Origin() string { return b.origin }

// Prefix returns the subject prefix in use.
func (b *Bridge) Prefix() string { return b.prefix }

// Stats returns what the bridge has done so far.
func (b *Bridge) Stats() Stats {
	return Stats{
		Exported:   b.stats.exported.Load(),
		Batched:    b.stats.batched.Load(),
		Packs:      b.stats.packs.Load(),
		Imported:   b.stats.imported.Load(),
		Echoes:     b.stats.echoes.Load(),
		Duplicates: b.stats.duplicates.Load(),
		TooLarge:   b.stats.tooLarge.Load(),
		Rejected:   b.stats.rejected.Load(),
		Partial:    b.stats.partial.Load(),
		Missed:     b.stats.missed.Load(),
		// Counted apart: natsDropped is stored whole from the
		// subscriptions' counters, queueDropped added to.
		SlowConsumer: b.stats.queueDropped.Load() + b.stats.natsDropped.Load(),
	}
}

func (b *Bridge) jetStream() bool { return b.cfg.durable != "" }

// Run carries messages until ctx is done, then hands on what it has
// taken and what is pending in its channels (for at most the time
// [WithDrainTimeout] sets), closes its channels and the connection, and
// returns nil. It fails at
// once if the home cannot be used or another bridge holds it for the same
// prefix; an unreachable NATS server is not an error: the bridge retries,
// with backoff, for as long as ctx lasts, and exported messages wait in
// its channels. In JetStream mode it fails, without saying it is ready,
// when the stream does not take the prefix's subjects
// ([ErrStreamSubjects]) or another home's bridge holds its durable name
// ([ErrDurableInUse]).
func (b *Bridge) Run(ctx context.Context) error {
	ctx, b.stop = context.WithCancelCause(ctx)
	defer b.stop(nil)
	if err := b.run(ctx); err != nil {
		return err
	}
	b.fatalMu.Lock()
	defer b.fatalMu.Unlock()
	return b.fatal
}

// fail ends Run, which returns err.
func (b *Bridge) fail(err error) {
	err = fmt.Errorf("bridge: %w", err)
	b.fatalMu.Lock()
	if b.fatal == nil {
		b.fatal = err
	}
	b.fatalMu.Unlock()
	b.stop(err)
}

func (b *Bridge) run(ctx context.Context) error {
	home := b.home
	origin, err := Origin(home.Dir())
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	b.origin = origin
	lock, err := lockFile(home.Dir(), b.prefix)
	if err != nil {
		return fmt.Errorf("bridge: home %s, prefix %s: %w", home.Dir(), b.prefix, err)
	}
	defer lock.Close()

	// The channels exist before anything else, in the order of the
	// patterns: a message in channel i was published after channel j < i
	// was live, so it is in channel j too if it matches pattern j, and
	// channel i leaves it to channel j.
	var chans []*pubsub.Channel
	defer func() {
		for _, ch := range chans {
			if err := ch.Close(); err != nil {
				b.log.Warn("bridge: closing channel", "channel", ch.Dir(), "err", err)
			}
		}
	}()
	for _, p := range b.export {
		// A message a bridge brought in goes no further: Go publishers
		// (importing bridges among them) leave it out of the channel.
		ch, err := home.NewChannel(p.String(), pubsub.WithoutHeader(OriginHeader))
		if err != nil {
			return fmt.Errorf("bridge: export %s: %w", p, err)
		}
		chans = append(chans, ch)
	}

	nc, err := nats.Connect(b.url, b.natsOptions()...)
	if err != nil {
		return fmt.Errorf("bridge: NATS %s: %w", RedactURL(b.url), err)
	}
	b.nc = nc
	defer nc.Close()
	if nc.IsConnected() {
		b.gate.set(true)
	}

	var wg sync.WaitGroup
	for i, ch := range chans {
		wg.Go(func() { b.exportLoop(ctx, i, ch) })
	}
	wg.Go(func() { b.setupAndImport(ctx) })
	wg.Wait()

	// What the client still buffers goes out before the connection closes.
	if nc.IsConnected() {
		_ = nc.FlushTimeout(b.cfg.drainTimeout)
	}
	return nil
}

func (b *Bridge) natsOptions() []nats.Option {
	opts := []nats.Option{
		nats.Name("pubsub-bridge " + b.origin),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration { return backoff(attempts - 1) }),
		nats.NoEcho(),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.attempts.Store(0)
			b.log.Info("bridge: connected to NATS", "url", RedactURL(nc.ConnectedUrl()))
			b.gate.set(true)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.attempts.Store(0)
			b.log.Warn("bridge: reconnected to NATS", "url", RedactURL(nc.ConnectedUrl()))
			b.gate.set(true)
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			b.gate.set(false)
			if err != nil {
				b.log.Warn("bridge: disconnected from NATS; reconnecting with backoff", "err", err)
			}
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			n := b.attempts.Add(1)
			b.log.Warn("bridge: cannot reach NATS; retrying with backoff", "url", RedactURL(b.url), "attempt", n, "err", err)
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) && !b.jetStream() {
				return // the core importer counts the drops and logs them with their count
			}
			if sub != nil {
				b.log.Error("bridge: NATS subscription", "subject", sub.Subject, "err", err)
				return
			}
			b.log.Error("bridge: NATS", "err", err)
		}),
	}
	return append(opts, b.cfg.natsOptions...)
}

// backoff is how long to wait before attempt n+1 (n from 0): 50 ms doubling
// up to 5 s, with jitter of up to a half on top.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(max(n, 0), 7)
	d = min(d, 5*time.Second)
	return d + rand.N(d/2+1)
}

// sleep waits d or until ctx is done, and says whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// gate is open while the connection is up.
type gate struct {
	mu   sync.Mutex
	open bool
	ch   chan struct{} // closed while open
}

func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case open && !g.open:
		close(g.ch)
	case !open && g.open:
		g.ch = make(chan struct{})
	}
	g.open = open
}

func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setupAndImport waits for the connection, sets up the stream and the
// subscriptions, says the bridge is ready, and imports until ctx is done.
func (b *Bridge) setupAndImport(ctx context.Context) {
	if err := b.gate.wait(ctx); err != nil {
		return
	}
	var cons jetstream.Consumer
	if b.jetStream() {
		var ok bool
		var claim *durableClaim
		if cons, claim, ok = b.setupJetStream(ctx); !ok {
			return
		}
		if claim != nil {
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Go(func() { b.renewClaim(ctx, claim) })
		}
	}
	var msgs chan *nats.Msg
	var subs []*nats.Subscription
	if !b.jetStream() && len(b.subs) > 0 {
		// One Go channel for every subscription: one goroutine
		// publishes them all, in the order they arrived.
		msgs = make(chan *nats.Msg, 1<<16)
		for _, s := range b.subjects {
			sub, err := b.nc.ChanSubscribe(s, msgs)
			if err != nil {
				b.log.Error("bridge: subscribe", "subject", s, "err", err)
				continue
			}
			subs = append(subs, sub)
		}
		// Once the server answers a PING, it has the subscriptions.
		for attempt := 0; ctx.Err() == nil; attempt++ {
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := b.nc.FlushWithContext(fctx)
			cancel()
			if err == nil || !sleep(ctx, backoff(attempt)) {
				break
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	close(b.ready)
	b.log.Info("bridge: ready", "origin", b.origin, "prefix", b.prefix)
	if b.cfg.ready != nil {
		b.cfg.ready()
	}
	switch {
	case cons != nil:
		b.importJetStream(ctx, cons)
	case msgs != nil:
		b.importCore(ctx, msgs, subs)
	}
}

// exportLoop hands on the messages of export channel i until ctx is done,
// then what is pending in it.
func (b *Bridge) exportLoop(ctx context.Context, i int, ch *pubsub.Channel) {
	select {
	case <-b.ready:
	case <-ctx.Done():
		return
	}
	enc := newEncoder(b.prefix, b.origin)
	var pk *packer
	if b.cfg.packed {
		pk = newPacker(b.prefix, b.origin)
	}
	var batch []*pubsub.Message
	for failures := 0; ; {
		m, err := ch.Next(ctx)
		if err != nil {
			if _, bad := errors.AsType[*pubsub.MessageError](err); bad {
				continue // set aside and logged by the home
			}
			if ctx.Err() != nil || errors.Is(err, pubsub.ErrClosed) {
				break
			}
			// A passing failure (out of descriptors or memory): the
			// message stays in the channel for the next call.
			if failures == 0 || failures%10 == 0 {
				b.log.Warn("bridge: cannot read the export channel; retrying with backoff", "channel", ch.Topic(), "err", err)
			}
			if !sleep(ctx, backoff(failures)) {
				break
			}
			failures++
			continue
		}
		failures = 0
		if pk != nil {
			batch, _ = gather(ch, append(batch[:0], m))
			if n := b.exportPacked(ctx, pk, i, batch); n < len(batch) {
				batch = batch[n:] // ctx ended: these go first when draining
				break
			}
			batch = batch[:0]
			continue
		}
		if !b.jetStream() {
			if !b.export1(ctx, enc, i, m) {
				batch = append(batch[:0], m) // not sent: it goes first when draining
				break
			}
			continue
		}
		batch, _ = gather(ch, append(batch[:0], m))
		if n := b.exportMany(ctx, enc, i, batch); n < len(batch) {
			batch = batch[n:] // ctx ended: these go first when draining
			break
		}
		batch = batch[:0]
	}
	// Stopping: what the channel holds would go with it.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.drainTimeout)
	defer cancel()
	left := 0
	for {
		var err error
		if b.jetStream() || pk != nil {
			batch, err = gather(ch, batch)
		} else if len(batch) == 0 {
			var m *pubsub.Message
			if m, err = ch.Fetch(); err == nil {
				batch = append(batch, m)
			} else if _, bad := errors.AsType[*pubsub.MessageError](err); bad {
				continue
			}
		}
		if len(batch) == 0 {
			if errors.Is(err, pubsub.ErrNoMessage) || errors.Is(err, pubsub.ErrClosed) {
				break
			}
			if dctx.Err() != nil {
				b.log.Error("bridge: stopped before it could read every pending message", "channel", ch.Topic(), "err", err)
				break
			}
			sleep(dctx, 10*time.Millisecond) // a passing failure to read: again
			continue
		}
		n := 0
		if dctx.Err() == nil {
			if pk != nil {
				n = b.exportPacked(dctx, pk, i, batch)
			} else if b.jetStream() {
				n = b.exportMany(dctx, enc, i, batch)
			} else if b.export1(dctx, enc, i, batch[0]) {
				n = 1
			}
		}
		left += len(batch) - n
		batch = batch[:0]
	}
	if left > 0 {
		b.log.Error("bridge: stopped before exporting every pending message", "channel", ch.Topic(), "lost", left)
	}
}

// exports reports whether m, taken from export channel i, is this
// channel's to export: not brought by a bridge, and in no channel before
// it.
func (b *Bridge) exports(i int, m *pubsub.Message) bool {
	if _, imported := m.Headers[OriginHeader]; imported {
		// The channel refuses these (WithoutHeader); a second guard, as a
		// loop between homes would not stop by itself.
		return false
	}
	for j := range i {
		if b.export[j].Match(m.Topic) {
			return false // channel j has it too
		}
	}
	return true
}

// export1 publishes m, taken from export channel i, to NATS with enc,
// retrying with backoff until it is sent or cannot ever be; false means
// ctx ended first.
func (b *Bridge) export1(ctx context.Context, enc *encoder, i int, m *pubsub.Message) bool {
	if !b.exports(i, m) {
		return true
	}
	msg, err := enc.encode(m)
	if err != nil {
		b.stats.rejected.Add(1)
		b.log.Error("bridge: cannot export message", "id", m.ID, "topic", m.Topic, "err", err)
		return true
	}
	return b.send(ctx, msg, m, 1, false) != stopped
}

// exportPacked publishes ms, taken in order from export channel i, to
// NATS in packs with p. It returns how many it handed on (sent, or never
// sendable), fewer than len(ms) only when ctx ended first.
func (b *Bridge) exportPacked(ctx context.Context, p *packer, i int, ms []*pubsub.Message) int {
	for k, m := range ms {
		if !b.exports(i, m) {
			continue
		}
		for {
			if p.len() == 0 {
				p.bound(b.nc.MaxPayload()) // the server's, which a reconnection may change
			}
			ok, err := p.add(m, k)
			if err != nil {
				b.stats.rejected.Add(1)
				b.log.Error("bridge: cannot export message", "id", m.ID, "topic", m.Topic, "err", err)
				break
			}
			if ok {
				break
			}
			if at := b.sendPack(ctx, p); at >= 0 {
				return at
			}
		}
	}
	if p.len() > 0 {
		if at := b.sendPack(ctx, p); at >= 0 {
			return at
		}
	}
	return len(ms)
}

// sendPack sends p's messages and empties p. It returns -1 once it handed
// them all on (sent, or never sendable), or, when ctx ended first, the
// position (given to add) of the first it did not.
func (b *Bridge) sendPack(ctx context.Context, p *packer) int {
	defer p.reset()
	switch b.send(ctx, p.message(), p.ms[0], p.len(), true) {
	case stopped:
		return p.at[0]
	case overPayload:
		// Filled for a server with a larger max_payload than this one: each
		// message goes alone, and only one too large alone is dropped.
		ms, at := slices.Clone(p.ms), slices.Clone(p.at)
		b.log.Warn("bridge: a pack is over the server's max_payload; sending its messages one a NATS message",
			"messages", len(ms), "size", natsSize(p.message()), "max_payload", b.nc.MaxPayload())
		for j, m := range ms {
			p.reset()
			if _, err := p.add(m, at[j]); err != nil {
				continue // cannot be: it was written before
			}
			if b.send(ctx, p.message(), m, 1, true) == stopped {
				return at[j]
			}
		}
	}
	return -1
}

// sendResult is what send did with a NATS message.
type sendResult int

const (
	published   sendResult = iota
	unsendable             // over max_payload alone: counted and logged
	overPayload            // a pack of several over max_payload, left to the caller
	stopped                // ctx ended first
)

// send publishes msg, which carries n local messages (m the first), to
// NATS, retrying with backoff until it is sent or cannot ever be. A pack
// of several over the server's max_payload is left to the caller
// (overPayload); any other message over it is counted and logged.
func (b *Bridge) send(ctx context.Context, msg *nats.Msg, m *pubsub.Message, n int, pack bool) sendResult {
	for attempt := 0; ; attempt++ {
		if err := b.gate.wait(ctx); err != nil {
			return stopped
		}
		err := b.publish(ctx, msg, m)
		if err == nil {
			b.stats.exported.Add(uint64(n))
			if pack {
				b.stats.packs.Add(1)
			}
			return published
		}
		if isTooLarge(err) {
			if pack && n > 1 {
				return overPayload
			}
			b.stats.tooLarge.Add(uint64(n))
			b.log.Error("bridge: message too large for NATS, not exported",
				"id", m.ID, "topic", m.Topic, "size", natsSize(msg), "max_payload", b.nc.MaxPayload(), "err", err)
			return unsendable
		}
		if ctx.Err() != nil {
			return stopped
		}
		if attempt == 0 || attempt%10 == 0 {
			b.log.Warn("bridge: export failed; holding the message and retrying with backoff",
				"id", m.ID, "topic", m.Topic, "messages", n, "attempt", attempt+1, "err", err)
		}
		if !sleep(ctx, backoff(attempt)) {
			return stopped
		}
	}
}

// natsSize is what NATS counts against max_payload: headers and data.
func natsSize(msg *nats.Msg) int {
	n := len(msg.Data) + len("NATS/1.0\r\n\r\n")
	for k, vs := range msg.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

func isTooLarge(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

// publish sends one message: in core mode into the client's buffer
// (which its flusher sends, several messages a write); in JetStream mode
// to the stream, waiting for its ack. The message id lets the stream drop
// a retry of a message it already stored.
func (b *Bridge) publish(ctx context.Context, msg *nats.Msg, m *pubsub.Message) error {
	if !b.jetStream() {
		return b.nc.PublishMsg(msg) // ErrMaxPayload above the server's max_payload
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := b.js.PublishMsg(pctx, msg, jetstream.WithMsgID(msgID(b.origin, m)))
	return err
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// importMatch reports whether msg, carrying topic t, is to be published:
// t matches an import pattern (a NATS subject may be broader than its
// pattern), and, in core mode, msg came on the first of the subscriptions
// whose subject matches it, since each of them delivers it.
func (b *Bridge) importMatch(msg *nats.Msg, t string) bool {
	if !slices.ContainsFunc(b.imports, func(p topic.Pattern) bool { return p.Match(t) }) {
		return false
	}
	if msg.Sub == nil || b.jetStream() || len(b.subjects) == 1 {
		return true
	}
	for _, s := range b.subjects {
		if subjectCovers(s, msg.Subject) {
			return s == msg.Sub.Subject
		}
	}
	return false
}

// importCore publishes what the core NATS subscriptions deliver. It takes
// what has arrived on msgs into a queue of its own before each batch it
// publishes, so that msgs never fills while the home is slow to take a
// batch (a stopped subscriber's channel has each message spilled to a
// file, at a few microseconds apiece): the subscription then drops
// nothing, and the queue holds what a NATS subscription would hold
// (512Ki messages or 64 MiB) before it drops the newest, counted in
// [Stats].SlowConsumer as the subscription's own drops are.
func (b *Bridge) importCore(ctx context.Context, msgs chan *nats.Msg, subs []*nats.Subscription) {
	q := importQueue{maxMsgs: b.queueMsgs, maxBytes: b.queueBytes}
	var drops dropReport
	batch := make([]*nats.Msg, 0, importBatch)
	for {
		if q.len() == 0 {
			select {
			case msg := <-msgs:
				b.enqueue(&q, msg)
			case <-ctx.Done():
				b.importCoreStop(ctx, msgs, subs, &q, &drops)
				return
			}
		}
		// Take what else has arrived: at most what msgs holds, so that a
		// flood cannot keep the loop from publishing.
	more:
		for range cap(msgs) {
			select {
			case msg := <-msgs:
				b.enqueue(&q, msg)
			default:
				break more
			}
		}
		batch = q.take(batch[:0], importBatch)
		b.importMany(ctx, batch)
		clear(batch) // the queue's messages are not kept for the GC here
		b.countDrops(subs)
		drops.report(b, false)
	}
}

// importCoreStop unsubscribes and publishes what arrived, for at most the
// drain timeout.
func (b *Bridge) importCoreStop(ctx context.Context, msgs chan *nats.Msg, subs []*nats.Subscription, q *importQueue, drops *dropReport) {
	b.countDrops(subs)
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	defer drops.report(b, true)
	// What arrived is published; nothing more comes.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.drainTimeout)
	defer cancel()
	for {
	more:
		for {
			select {
			case msg := <-msgs:
				b.enqueue(q, msg)
			default:
				break more
			}
		}
		if q.len() == 0 {
			return
		}
		for _, msg := range q.take(nil, importBatch) {
			b.import1(dctx, msg, nil)
		}
	}
}

// enqueue puts msg in q, or drops it when q is full.
func (b *Bridge) enqueue(q *importQueue, msg *nats.Msg) {
	if !q.push(msg) {
		b.stats.queueDropped.Add(1)
	}
}

// countDrops keeps what the subscriptions dropped (their channel full) in
// the stats. Called by the importer only.
func (b *Bridge) countDrops(subs []*nats.Subscription) {
	var n uint64
	for _, s := range subs {
		if d, err := s.Dropped(); err == nil && d > 0 {
			n += uint64(d)
		}
	}
	if n > b.stats.natsDropped.Load() {
		b.stats.natsDropped.Store(n)
	}
}

// dropReport logs the slow consumer drops with their count: at most one
// line a second while they go on, and the rest when the importer stops.
type dropReport struct {
	logged uint64
	at     time.Time
}

func (d *dropReport) report(b *Bridge, final bool) {
	total := b.Stats().SlowConsumer
	if total == d.logged || !final && time.Since(d.at) < time.Second {
		return
	}
	b.log.Warn("bridge: NATS messages dropped: the importer fell behind (slow consumer)",
		"dropped", total-d.logged, "total", total)
	d.logged, d.at = total, time.Now()
}

// importQueue is the importer's queue of NATS messages not yet published,
// first in first out, bounded by count and by size. Used by the importer
// goroutine only.
type importQueue struct {
	msgs              []*nats.Msg
	sizes             []int // of each of msgs
	head              int
	bytes             int
	maxMsgs, maxBytes int
}

func (q *importQueue) len() int { return len(q.msgs) - q.head }

// push appends msg, or returns false when q is full.
func (q *importQueue) push(msg *nats.Msg) bool {
	size := msg.Size() // as the client counts it: known, for a message it received
	if q.len() >= q.maxMsgs || q.bytes+size > q.maxBytes {
		return false
	}
	q.msgs = append(q.msgs, msg)
	q.sizes = append(q.sizes, size)
	q.bytes += size
	return true
}

// take appends up to n messages from the front of q to dst.
func (q *importQueue) take(dst []*nats.Msg, n int) []*nats.Msg {
	end := q.head + min(n, q.len())
	for _, size := range q.sizes[q.head:end] {
		q.bytes -= size
	}
	dst = append(dst, q.msgs[q.head:end]...)
	clear(q.msgs[q.head:end])
	q.head = end
	switch {
	case q.head == len(q.msgs):
		q.msgs, q.sizes, q.head = q.msgs[:0], q.sizes[:0], 0
	case q.head > 4096 && q.head > len(q.msgs)/2:
		// Move what is left to the front, so that the slices do not grow
		// without end under a steady load.
		k := copy(q.msgs, q.msgs[q.head:])
		copy(q.sizes, q.sizes[q.head:])
		clear(q.msgs[k:])
		q.msgs, q.sizes, q.head = q.msgs[:k], q.sizes[:k], 0
	}
	return dst
}

// importBatch bounds the messages published into the home in one call.
const importBatch = 256

// importMany publishes NATS messages into the home with PublishMessages
// calls, which pack small ones many to a FIFO write. If the home refuses
// one of a call's messages, nothing of that call was published: each
// goes alone, so the others still get in.
func (b *Bridge) importMany(ctx context.Context, msgs []*nats.Msg) {
	if len(msgs) == 1 && msgs[0].Header.Get(HeaderPacked) == "" {
		b.import1(ctx, msgs[0], nil)
		return
	}
	all := make([]pubsub.Message, 0, len(msgs)) // one allocation, not one a message
	for _, msg := range msgs {
		all = b.prepare(msg, all)
		if len(all) >= importMaxCall {
			b.publishMany(ctx, all)
			all = all[:0]
		}
	}
	b.publishMany(ctx, all)
}

// importMaxCall bounds the messages of one PublishMessages call, packs
// being unpacked.
const importMaxCall = 1024

// publishMany publishes all with one PublishMessages call.
func (b *Bridge) publishMany(ctx context.Context, all []pubsub.Message) {
	if len(all) == 0 {
		return
	}
	ms := make([]*pubsub.Message, len(all))
	for i := range all {
		ms[i] = &all[i]
	}
	_, err := b.home.PublishMessages(ms)
	switch {
	case err == nil:
		b.stats.imported.Add(uint64(len(ms)))
	case errors.Is(err, pubsub.ErrInvalidTopic) || errors.Is(err, pubsub.ErrInvalidHeader) || errors.Is(err, pubsub.ErrInvalidID):
		for _, m := range ms {
			b.publishLocal(ctx, m, nil)
		}
	case pubsub.DeliveryErrors(err) != nil:
		// As with a local publish: the channels that could take them
		// have them, the others are told nothing more can be done.
		b.stats.imported.Add(uint64(len(ms)))
		b.missed(pubsub.DeliveryErrors(err)...)
	default:
		// Some may be in the home already: going again could repeat
		// them. Core mode delivers at most once; say what was lost.
		b.stats.rejected.Add(uint64(len(ms)))
		b.log.Error("bridge: import failed; messages dropped", "messages", len(ms), "err", err)
	}
}

// missed counts and logs imported messages that some channels could not
// take, with how many and the first channel and cause.
func (b *Bridge) missed(des ...*pubsub.DeliveryError) {
	n := 0
	for _, de := range des {
		n += len(de.Missed)
	}
	b.stats.partial.Add(uint64(len(des)))
	b.stats.missed.Add(uint64(n))
	first := des[0]
	attrs := []any{"messages", len(des), "missed", n, "first", first.ID, "topic", first.Topic}
	if len(first.Missed) > 0 {
		attrs = append(attrs, "channel", first.Missed[0].Channel, "err", first.Missed[0].Err)
	}
	b.log.Warn("bridge: imported messages missed some channels", attrs...)
}

// prepare appends to ms the messages to publish into the home for a NATS
// message: one, or those of a pack. What it leaves out is counted and
// logged (or is another subscription's).
func (b *Bridge) prepare(msg *nats.Msg, ms []pubsub.Message) []pubsub.Message {
	t, ok := subjectTopic(b.prefix, msg.Subject)
	if !ok {
		b.stats.rejected.Add(1)
		b.log.Warn("bridge: NATS subject is not a topic under the prefix; dropped", "subject", msg.Subject, "prefix", b.prefix)
		return ms
	}
	if !b.importMatch(msg, t) {
		return ms // a broader subject than the pattern, or another subscription's
	}
	from := len(ms)
	var origin string
	if version := msg.Header.Get(HeaderPacked); version != "" {
		origin = msg.Header.Get(HeaderOrigin)
		if origin == b.origin {
			b.stats.echoes.Add(1)
			return ms
		}
		var bad int
		var err error
		if ms, bad, err = unpack(ms, t, version, msg.Data, &b.unpacking); err != nil {
			// The records that could be read go on.
			b.stats.rejected.Add(uint64(bad))
			b.log.Warn("bridge: NATS message dropped in part", "subject", msg.Subject, "kept", len(ms)-from, "dropped", bad, "err", err)
		}
	} else {
		ms = append(ms, pubsub.Message{})
		var err error
		if origin, err = fromNATS(t, msg, &ms[from]); err != nil {
			b.stats.rejected.Add(1)
			b.log.Warn("bridge: NATS message dropped", "subject", msg.Subject, "err", err)
			return ms[:from]
		}
		if origin == b.origin {
			b.stats.echoes.Add(1)
			return ms[:from]
		}
	}
	if origin == "" {
		origin = "nats" // published by a NATS client, not a bridge
	}
	hs := b.originHeaders(origin)
	for i := from; i < len(ms); i++ {
		if len(ms[i].Headers) == 0 {
			ms[i].Headers = hs // shared: the home only reads a message's headers
		} else {
			ms[i].Headers[OriginHeader] = hs[OriginHeader]
		}
	}
	return ms
}

// originHeaders returns the headers of an imported message that had none:
// the origin header alone, made once per origin rather than once per
// message, and not to be modified. Called by the import goroutine only.
func (b *Bridge) originHeaders(origin string) pubsub.Headers {
	hs, ok := b.origins[origin]
	if !ok {
		if b.origins == nil || len(b.origins) >= 1024 {
			b.origins = map[string]pubsub.Headers{}
		}
		hs = pubsub.Headers{OriginHeader: origin}
		b.origins[origin] = hs
	}
	return hs
}

// import1 publishes one NATS message (a pack: its messages, in turn)
// into the home. It returns false only when ctx ended while a publish kept
// failing: the message is not taken, though some of a pack may have been
// published. jm, in JetStream mode, is told the message is in progress
// while the publish is retried.
func (b *Bridge) import1(ctx context.Context, msg *nats.Msg, jm jetstream.Msg) bool {
	var one [1]pubsub.Message
	ms := b.prepare(msg, one[:0])
	for i := range ms {
		if !b.publishLocal(ctx, &ms[i], jm) {
			return false
		}
	}
	return true
}

// publishLocal publishes m into the home, retrying with backoff what may
// pass. It returns false only when ctx ended first.
func (b *Bridge) publishLocal(ctx context.Context, m *pubsub.Message, jm jetstream.Msg) bool {
	for attempt := 0; ; attempt++ {
		_, err := b.home.PublishMessage(m)
		if err == nil {
			b.stats.imported.Add(1)
			return true
		}
		if de, ok := errors.AsType[*pubsub.DeliveryError](err); ok {
			// As with a local publish: the channels that could take it
			// have it, the others are told nothing more can be done.
			b.stats.imported.Add(1)
			b.missed(de)
			return true
		}
		if errors.Is(err, pubsub.ErrInvalidTopic) || errors.Is(err, pubsub.ErrInvalidHeader) || errors.Is(err, pubsub.ErrInvalidID) {
			b.stats.rejected.Add(1)
			b.log.Error("bridge: the home refuses the message; dropped", "id", m.ID, "topic", m.Topic, "err", err)
			return true
		}
		if errors.Is(err, pubsub.ErrClosed) {
			return false
		}
		if attempt == 0 || attempt%10 == 0 {
			b.log.Warn("bridge: import failed; retrying with backoff", "id", m.ID, "topic", m.Topic, "attempt", attempt+1, "err", err)
		}
		if jm != nil {
			_ = jm.InProgress()
		}
		if !sleep(ctx, backoff(attempt)) {
			return false
		}
	}
}
