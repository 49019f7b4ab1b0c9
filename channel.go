package pubsub

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pubsub-go/pubsub/internal/engine"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Channel is a subscription: a directory HOME/{topic}_{random}_{pid} with
// a FIFO queue that publishers announce message ids on, and one file per
// pending message. Make one with [Home.NewChannel].
//
// A channel is open for reading from the moment other processes can see
// it. Several goroutines may call Fetch, Next, Subscribe or Messages at
// once; each message is delivered to exactly one of them. A Channel must
// not be copied.
//
// A message taken from a channel is gone from it: a plain channel delivers
// at most once. What the channel holds when it is closed, or when its
// process dies, is lost with it.
type Channel struct {
	eng *engine.Channel
}

// Topic returns the channel's topic, wildcards included.
func (c *Channel) Topic() string { return c.eng.Topic() }

// Dir returns the channel's directory.
func (c *Channel) Dir() string { return c.eng.Dir() }

// Fetch returns the next message without waiting, or [ErrNoMessage] when
// none is pending. A message file that cannot be decoded is returned as a
// *[MessageError] and set aside; the next call goes on with the next
// message. After Close, Fetch returns [ErrClosed].
func (c *Channel) Fetch() (*Message, error) {
	var w wire.Message
	if err := c.eng.Fetch(&w); err != nil {
		return nil, messageError(err)
	}
	return c.received(&w), nil
}

// Next waits for the next message and returns it. It returns the context's
// error (its cause, if it has one) when ctx is done, even with messages
// pending ([Channel.Fetch] still takes them), [ErrClosed] when the channel
// is closed (the context's error when both), and a *[MessageError] for a
// message that cannot be decoded.
func (c *Channel) Next(ctx context.Context) (*Message, error) {
	var w wire.Message
	if err := c.eng.Next(ctx, &w); err != nil {
		return nil, messageError(err)
	}
	return c.received(&w), nil
}

func (c *Channel) received(w *wire.Message) *Message {
	m := fromWire(w)
	if m.storage != nil {
		m.from = c.eng
	}
	return m
}

// Close deletes the channel: its directory, FIFO and every message not yet
// taken. It wakes goroutines blocked in Next or Subscribe, which return
// [ErrClosed]. Close is safe to call more than once; later calls return nil.
func (c *Channel) Close() error { return c.eng.Close() }

// Messages returns an iterator over the channel's messages, for use in a
// range loop. It waits for each message, yields (nil, *MessageError) for a
// message that cannot be decoded and goes on, and ends by yielding
// (nil, err) once when ctx is done or the channel is closed. Breaking out
// of the loop does not close the channel.
func (c *Channel) Messages(ctx context.Context) iter.Seq2[*Message, error] {
	return messages(ctx, c.Next)
}

// messages is the iterator of Channel.Messages and Queue.Messages.
func messages(ctx context.Context, next func(context.Context) (*Message, error)) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		for {
			m, err := next(ctx)
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

// Handler handles one message. An error it returns, or a panic, is logged
// and the subscription goes on with the next message: the message is not
// delivered again.
type Handler func(*Message) error

var errTimedOut = errors.New("pubsub: subscription timeout")

// Subscribe calls handler for each message until ctx is done, the
// [WithTimeout] passes, the channel is closed, or the process receives
// SIGINT or SIGTERM, as formix-pubsub's subscribe does. The message in
// hand is always finished first. It returns how many messages were
// handled, and:
//
//   - nil after the timeout;
//   - an error matching [ErrInterrupted] and context.Canceled after a
//     signal ([Signal] tells which). The signal is consumed: the caller
//     decides what to do (formix-pubsub calls the handler that was
//     installed before). On return Subscribe stops catching the signals
//     (signal.Stop): their default action is back unless something else
//     in the process catches them too. [WithoutSignalHandling] leaves the
//     signals alone;
//   - the context's cause when ctx is done, [ErrClosed] after Close.
//
// Messages that cannot be decoded are logged and skipped.
func (c *Channel) Subscribe(ctx context.Context, handler Handler, opts ...SubscribeOption) (int, error) {
	log := c.eng.Logger()
	return subscribe(ctx, opts, c.Messages, func(m *Message) {
		if err := safely(handler, m); err != nil {
			log.Log(context.Background(), handlerLevel(err), "pubsub: handler failed", "channel", c.Dir(), "id", m.ID, "topic", m.Topic, "err", err)
		}
	})
}

// subscribe is the loop of Channel.Subscribe and Queue.Subscribe: it
// passes each message of msgs to handle until the subscription ends.
func subscribe(ctx context.Context, opts []SubscribeOption, msgs func(context.Context) iter.Seq2[*Message, error], handle func(*Message)) (int, error) {
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
	count := 0
	var err error
	for m, merr := range msgs(ctx) {
		if merr != nil {
			if _, bad := errors.AsType[*MessageError](merr); bad {
				continue // logged where it was read
			}
			if merr == errTimedOut {
				merr = nil
			}
			err = merr
			break
		}
		handle(m)
		count++
	}
	// A signal that came while the last message was being handled, after
	// the timeout, is reported rather than lost.
	if sig := stop(); sig != nil && err == nil {
		err = &signalError{sig: sig}
	}
	return count, err
}

// safely runs the handler, turning a panic into a *panicError.
func safely(handler Handler, m *Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{p}
		}
	}()
	return handler(m)
}

// panicError is a handler's panic, recovered.
type panicError struct{ p any }

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.p) }

// handlerLevel is the level a handler's failure is logged at: Error for a
// panic, Warn for an error it returned.
func handlerLevel(err error) slog.Level {
	if _, ok := errors.AsType[*panicError](err); ok {
		return slog.LevelError
	}
	return slog.LevelWarn
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
