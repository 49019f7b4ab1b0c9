package pubsub

import (
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
