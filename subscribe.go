package pubsub

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Handler handles one message. An error it returns, or a panic, is logged
// and the subscription goes on with the next message.
type Handler func(*Message) error

// SubscribeOption configures [Channel.Subscribe].
type SubscribeOption interface{ applySub(*subConfig) }

type subConfig struct {
	timeout       time.Duration
	ignoreSignals bool
}

type subOptionFunc func(*subConfig)

func (f subOptionFunc) applySub(c *subConfig) { f(c) }

// Timeout ends a subscription after d; Subscribe then returns its count
// and a nil error. Zero means no timeout.
func Timeout(d time.Duration) SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.timeout = d })
}

// IgnoreSignals leaves SIGINT and SIGTERM alone: Subscribe neither stops
// on them nor keeps them from their default action.
func IgnoreSignals() SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.ignoreSignals = true })
}

var errTimedOut = errors.New("pubsub: subscription timeout")

// Subscribe calls handler for each message until ctx is done, the
// [Timeout] passes, the channel is closed, or the process receives SIGINT
// or SIGTERM, as formix-pubsub's subscribe does. The message in hand is
// always finished first. It returns how many messages were handled, and:
//
//   - nil after the timeout;
//   - an error matching [ErrInterrupted] and context.Canceled after a
//     signal ([Signal] tells which). The signal is consumed: the caller
//     decides what to do (formix-pubsub calls the handler that was
//     installed before). The default action is restored on return;
//   - the context's cause when ctx is done, [ErrClosed] after Close.
//
// Messages that cannot be decoded are logged and skipped.
func (c *Channel) Subscribe(ctx context.Context, handler Handler, opts ...SubscribeOption) (int, error) {
	var cfg subConfig
	for _, o := range opts {
		if o != nil {
			o.applySub(&cfg)
		}
	}
	if cfg.timeout < 0 {
		return 0, fmt.Errorf("pubsub: negative subscribe timeout %v", cfg.timeout)
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.timeout, errTimedOut)
		defer cancel()
	}
	stop := func() os.Signal { return nil }
	if !cfg.ignoreSignals {
		ctx, stop = notifyContext(ctx)
	}
	count, err := c.subscribe(ctx, handler)
	// A signal that came while the last message was being handled, after
	// the timeout, is reported rather than lost.
	if sig := stop(); sig != nil && err == nil {
		err = &signalError{sig: sig}
	}
	return count, err
}

func (c *Channel) subscribe(ctx context.Context, handler Handler) (int, error) {
	count := 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			if _, bad := errors.AsType[*MessageError](err); bad {
				continue // logged by take
			}
			if err == errTimedOut {
				err = nil
			}
			return count, err
		}
		c.handle(handler, m)
		count++
	}
	return count, nil
}

// handle runs the handler, turning a panic into a logged error.
func (c *Channel) handle(handler Handler, m *Message) {
	defer func() {
		if p := recover(); p != nil {
			c.home.log.Error("pubsub: handler panicked", "channel", c.dir, "id", m.ID, "topic", m.Topic, "panic", p)
		}
	}()
	if err := handler(m); err != nil {
		c.home.log.Warn("pubsub: handler failed", "channel", c.dir, "id", m.ID, "topic", m.Topic, "err", err)
	}
}

// notifyContext is signal.NotifyContext with a cause that names the
// signal. stop returns a signal that arrived after ctx was done.
func notifyContext(parent context.Context) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case s := <-ch:
			cancel(&signalError{sig: s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() os.Signal {
		signal.Stop(ch)
		cancel(nil)
		<-done
		select {
		case s := <-ch:
			return s
		default:
			return nil
		}
	}
}

// Messages returns an iterator over the channel's messages, for use in a
// range loop. It waits for each message, yields (nil, *MessageError) for a
// message that cannot be decoded and goes on, and ends by yielding
// (nil, err) once when ctx is done or the channel is closed. Breaking out
// of the loop does not close the channel.
func (c *Channel) Messages(ctx context.Context) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		for {
			m, err := c.Next(ctx)
			if err != nil {
				if _, bad := errors.AsType[*MessageError](err); bad {
					if !yield(nil, err) {
						return
					}
					continue
				}
				yield(nil, err)
				return
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}
