package pubsub

import (
	"fmt"
	"io"
	"log/slog"
)

// Option configures a [Home]. The set is closed: only this package
// defines options.
type Option interface{ apply(*config) }

type config struct {
	logger    *slog.Logger
	filesOnly bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sends the home's log records (handler failures, channels
// reclaimed, files set aside) to l instead of slog.Default(). A nil l
// discards them.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			l = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		c.logger = l
	})
}

func newConfig(opts []Option) config {
	c := config{logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithFilesOnly makes Publish send every message as a file, as
// formix-pubsub does, never inline in a Go channel's FIFO. Slower; for
// comparisons, and where every pending message must be visible in the
// channel's directory.
func WithFilesOnly() Option {
	return optionFunc(func(c *config) { c.filesOnly = true })
}

// ChannelOption configures a [Channel] made by [Home.NewChannel].
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

// maxExcludedHeader bounds a WithoutHeader name, and so the lock file.
const maxExcludedHeader = 128

func newChannelConfig(opts []ChannelOption) (channelConfig, error) {
	var c channelConfig
	for _, o := range opts {
		if o != nil {
			o.applyChannel(&c)
		}
	}
	if len(c.without) > 8 {
		return c, fmt.Errorf("pubsub: %d WithoutHeader options; a channel takes at most 8", len(c.without))
	}
	for _, name := range c.without {
		if !validExcludedHeader(name) {
			return c, &HeaderError{Key: name, Reason: fmt.Sprintf("WithoutHeader takes 1 to %d printable ASCII characters, no spaces", maxExcludedHeader)}
		}
	}
	return c, nil
}

func validExcludedHeader(name string) bool {
	if name == "" || len(name) > maxExcludedHeader {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' {
			return false
		}
	}
	return true
}
