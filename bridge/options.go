package bridge

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// Option configures a [Bridge] made by [New]. The set is closed: only
// this package defines options. A nil Option is skipped; New checks the
// values and names the bad one in its error.
type Option interface{ apply(*config) }

// config is what the options set; New fills in the defaults.
type config struct {
	prefix       string
	export       []string
	imports      []string
	durable      string
	stream       string
	maxAge       time.Duration
	ackWait      time.Duration
	drainTimeout time.Duration
	logger       *slog.Logger
	natsOptions  []nats.Option
	ready        func()
	packed       bool
}

// The defaults of the options that take a duration.
const (
	defaultMaxAge       = 24 * time.Hour
	defaultAckWait      = 30 * time.Second
	defaultDrainTimeout = 10 * time.Second
)

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// newConfig applies opts, skipping nil ones, and fills in the defaults
// of what they left unset; New validates the result.
func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.prefix == "" {
		c.prefix = DefaultPrefix
	}
	if c.stream == "" {
		c.stream = streamName(c.prefix)
	}
	if c.maxAge <= 0 {
		c.maxAge = defaultMaxAge
	}
	if c.ackWait <= 0 {
		c.ackWait = defaultAckWait
	}
	if c.drainTimeout <= 0 {
		c.drainTimeout = defaultDrainTimeout
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// WithPrefix sets the first token(s) of every NATS subject: topic a.b
// travels as p.a.b. Words of [A-Za-z0-9-] separated by '.'. Bridges that
// share a prefix on one NATS system form one bus. Default (or p empty):
// [DefaultPrefix].
func WithPrefix(p string) Option {
	return optionFunc(func(c *config) { c.prefix = p })
}

// WithExport adds local topic patterns whose messages the bridge
// publishes to NATS. Repeatable: each call adds to the list. Default:
// none. New fails unless some pattern is given to WithExport or
// [WithImport].
func WithExport(patterns ...string) Option {
	return optionFunc(func(c *config) { c.export = append(c.export, patterns...) })
}

// WithImport adds topic patterns whose messages the bridge takes from
// NATS and publishes into the home. Repeatable: each call adds to the
// list. Default: none. New fails unless some pattern is given to
// [WithExport] or WithImport.
func WithImport(patterns ...string) Option {
	return optionFunc(func(c *config) { c.imports = append(c.imports, patterns...) })
}

// WithDurable selects JetStream mode, with name as this host's durable
// consumer: 1 to 64 of [A-Za-z0-9_-], unique per host. Default (or name
// empty): core NATS, at most once.
func WithDurable(name string) Option {
	return optionFunc(func(c *config) { c.durable = name })
}

// WithStream names the JetStream stream of the prefix; only JetStream
// mode ([WithDurable]) has one. Default (or name empty): the prefix
// upper-cased with '.' made '_' ("PUBSUB").
func WithStream(name string) Option {
	return optionFunc(func(c *config) { c.stream = name })
}

// WithMaxAge bounds how long the stream the bridge creates, when there is
// none yet, keeps a message, and so how long a host may be down and still
// catch up. An existing stream is used as it is. Default (or d <= 0): 24h.
func WithMaxAge(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxAge = d })
}

// WithAckWait sets how long the JetStream server waits for this host's
// acknowledgement before delivering a message again, as after the bridge
// was killed. Default (or d <= 0): 30s.
func WithAckWait(d time.Duration) Option {
	return optionFunc(func(c *config) { c.ackWait = d })
}

// WithDrainTimeout bounds how long stopping may take to hand on what was
// already taken or is pending. Default (or d <= 0): 10s.
func WithDrainTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.drainTimeout = d })
}

// WithLogger sends the bridge's log records to l. Default:
// slog.Default(). A nil l discards them, as [pubsub.WithLogger] does.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
	})
}

// WithNATSOptions adds options to the bridge's NATS connection
// (credentials, TLS, NKeys, ...). Repeatable: each call adds to the
// list. Default: none. They apply after the bridge's own, so one that
// sets a connection handler (connect, reconnect, disconnect, error)
// replaces the bridge's, which tell it when the connection is up.
func WithNATSOptions(opts ...nats.Option) Option {
	return optionFunc(func(c *config) { c.natsOptions = append(c.natsOptions, opts...) })
}

// WithReadyFunc has [Bridge.Run] call f once the bridge carries messages
// both ways: its local channels are open, it is connected, and its NATS
// subscriptions (or stream and consumer) are in place. Run calls f at most
// once, on one of its goroutines, before it imports anything (so a slow f
// holds imports back), and not at all if its context ends first.
// Default: none.
func WithReadyFunc(f func()) Option {
	return optionFunc(func(c *config) { c.ready = f })
}

// WithPacking has the exporter send what its channel holds on one topic
// in one NATS message (up to 64 KiB), in pubsub's own format
// ([HeaderPacked]) rather than a NATS message a message: the server then
// spends about two thirds and the importing bridge half the CPU a message
// they did (docs/PERFORMANCE.md). Bridges read packs from this version on (an older
// one would publish a pack as one message); other NATS clients see a
// binary payload, so a prefix that NATS clients read should not be
// packed. Core mode only: New refuses it with [WithDurable].
func WithPacking() Option {
	return optionFunc(func(c *config) { c.packed = true })
}
