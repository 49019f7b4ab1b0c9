package pubsub

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/pubsub-go/pubsub/internal/engine"
)

// Every option is made by a With... or Without... function named after
// what it sets; each option type is sealed: only this package defines
// options, so the set can grow without breaking callers. A nil option is
// ignored.

// Option configures a [Home], in [Open].
type Option interface{ apply(*config) }

type config struct {
	logger    *slog.Logger
	filesOnly bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sends the home's log records to l. Without it a Home says
// nothing, as a library should: what a caller must know comes back as an
// error or a count (a *DeliveryError, a *MessageError, Subscribe's
// count). The records add what a caller may want to watch: a handler's
// error or panic in Subscribe (Warn, Error), a message file set aside
// (Warn), a Channel garbage collected without Close (Warn), a dead
// process's channel removed (Info), a message dropped because the
// channel's pattern or refused headers exclude it (Info, Debug). Pass
// slog.Default() for the program's own log. A nil l discards them.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			l = discard
		}
		c.logger = l
	})
}

// discard is the logger of a Home opened without WithLogger.
var discard = slog.New(slog.DiscardHandler)

// WithFilesOnly makes Publish send every message as a file, as
// formix-pubsub does, never inline in a Go channel's FIFO. Slower; for
// comparisons, and where every pending message must be visible in the
// channel's directory.
func WithFilesOnly() Option {
	return optionFunc(func(c *config) { c.filesOnly = true })
}

func newConfig(opts []Option) config {
	c := config{logger: discard}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// ChannelOption configures a [Channel], in [Home.NewChannel].
type ChannelOption interface{ applyChannel(*channelConfig) }

type channelConfig struct {
	without []string
}

type channelOptionFunc func(*channelConfig)

func (f channelOptionFunc) applyChannel(c *channelConfig) { f(c) }

// WithoutHeader makes the channel take no message that carries the header
// name. Go publishers leave such a message out of the channel (it does not
// count among the deliveries Publish returns); one that arrives anyway,
// from a formix-pubsub publisher or an older one, is dropped when read.
// A name is 1 to 128 printable ASCII characters, no spaces: it is written
// in the channel's lock file for publishers to read. A channel refuses at
// most 8 headers.
//
// A bridge's export channels use it to refuse the messages bridges bring
// in, which they would only read to drop.
func WithoutHeader(name string) ChannelOption {
	return channelOptionFunc(func(c *channelConfig) { c.without = append(c.without, name) })
}

func newChannelConfig(opts []ChannelOption) (channelConfig, error) {
	var c channelConfig
	for _, o := range opts {
		if o != nil {
			o.applyChannel(&c)
		}
	}
	if len(c.without) > engine.MaxRefusedHeaders {
		return c, fmt.Errorf("pubsub: %d WithoutHeader options; a channel takes at most %d", len(c.without), engine.MaxRefusedHeaders)
	}
	for _, name := range c.without {
		if !engine.ValidRefusedHeader(name) {
			return c, &HeaderError{Key: name, Reason: "WithoutHeader takes " + engine.RefusedHeaderRule}
		}
	}
	return c, nil
}

// SubscribeOption configures [Channel.Subscribe].
type SubscribeOption interface{ applySub(*subConfig) }

type subConfig struct {
	timeout       time.Duration
	ignoreSignals bool
}

type subOptionFunc func(*subConfig)

func (f subOptionFunc) applySub(c *subConfig) { f(c) }

// WithTimeout ends a subscription after d; Subscribe then returns its
// count and a nil error. Zero means no timeout; a negative d is an error.
func WithTimeout(d time.Duration) SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.timeout = d })
}

// WithoutSignalHandling leaves SIGINT and SIGTERM alone: Subscribe neither
// stops on them nor keeps them from their default action.
func WithoutSignalHandling() SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.ignoreSignals = true })
}
