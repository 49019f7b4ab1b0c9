package pubsub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pubsub-go/pubsub/internal/engine"
	"github.com/pubsub-go/pubsub/internal/topic"
	"github.com/pubsub-go/pubsub/internal/wire"
)

var (
	// ErrNoMessage is returned by [Channel.Fetch] when nothing is queued.
	// It is not a failure; it plays the part of io.EOF.
	ErrNoMessage = engine.ErrNoMessage

	// ErrClosed is returned by every method of a [Channel] or [Home] after
	// Close, and by a [Channel.Next] that Close interrupted.
	ErrClosed = engine.ErrClosed

	// ErrInvalidTopic is wrapped by the *TopicError returned for a topic
	// that is not words of [A-Za-z0-9-] separated by '.', or a channel
	// topic whose wildcards '=' and '+' are not whole words.
	ErrInvalidTopic = topic.ErrInvalid

	// ErrInvalidHeader is wrapped by the *HeaderError returned by Publish
	// for a header value that is not a JSON scalar.
	ErrInvalidHeader = wire.ErrInvalidHeader

	// ErrInvalidID is wrapped by the error PublishMessage returns for an
	// id whose top byte is 0xFF, which a Go channel's FIFO would read as
	// the start of an inline frame.
	ErrInvalidID = engine.ErrInvalidID

	// ErrNotDelivered is wrapped by the *DeliveryError that Publish returns
	// when a matching channel could not be given the message.
	ErrNotDelivered = errors.New("pubsub: message not delivered to every channel")

	// ErrInterrupted is wrapped by the error [Channel.Subscribe] returns
	// when SIGINT or SIGTERM ended it.
	ErrInterrupted = errors.New("pubsub: interrupted by signal")

	// Decoding a message file: each cause has its own sentinel, wrapped by
	// a *MessageError that names the file.
	ErrBadMagic       = wire.ErrBadMagic
	ErrUnknownVersion = wire.ErrUnknownVersion
	ErrTruncated      = wire.ErrTruncated
	ErrBadHeaders     = wire.ErrBadHeaders
	ErrBadTopic       = wire.ErrBadTopic     // not valid UTF-8
	ErrBadTimestamp   = wire.ErrBadTimestamp // beyond int64 microseconds

	// ErrNotRegular is wrapped by the *MessageError for a message name
	// that is a symbolic link, a FIFO or anything but a regular file.
	ErrNotRegular = engine.ErrNotRegular

	// ErrTooLarge is wrapped by the *MessageError for a message file
	// larger than the format allows.
	ErrTooLarge = engine.ErrTooLarge

	// ErrUnsupported is returned by Open where the bus cannot run: on
	// systems without FIFOs and flock, such as Windows. Linux, macOS and
	// the BSDs run it.
	ErrUnsupported = engine.ErrUnsupported
)

// TopicError reports an invalid topic; it unwraps to [ErrInvalidTopic].
type TopicError = topic.Error

// HeaderError reports a header Publish cannot encode; it unwraps to
// [ErrInvalidHeader].
type HeaderError = wire.HeaderError

// MessageError reports a message file that could not be read or decoded.
// The message is skipped (its file is renamed to ID.bad, so an operator can
// look at it) and the channel goes on with the next one.
type MessageError struct {
	Path string // the message file
	ID   uint64 // the id taken from the file name
	Err  error  // a *wire.DecodeError, ErrNotRegular, ErrTooLarge or an I/O error
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("pubsub: message %s: %v", e.Path, strings.TrimPrefix(e.Err.Error(), "pubsub: "))
}

func (e *MessageError) Unwrap() error { return e.Err }

// messageError turns the engine's report of a bad message into a
// *MessageError; other errors pass as they are.
func messageError(err error) error {
	if bm, ok := err.(*engine.BadMessage); ok {
		return &MessageError{Path: bm.Path, ID: bm.ID, Err: bm.Err}
	}
	return err
}

// Miss is one channel that Publish matched but could not deliver to.
type Miss struct {
	Channel string // the channel directory
	Err     error  // why: ErrFIFOFull, ErrNotReading or an I/O error
}

var (
	// ErrFIFOFull: the channel's FIFO is full (on Linux 65,536 bytes, or
	// 8,192 ids, unread) and the channel cannot be relied on to find the
	// file without its id (a formix-pubsub subscriber). Go channels are
	// never missed for this.
	ErrFIFOFull = engine.ErrFIFOFull

	// ErrNotReading: the channel's owner is alive but has no reader on the
	// FIFO, like a formix-pubsub Channel that was created but not opened.
	ErrNotReading = engine.ErrNotReading

	// ErrQueueFull: a queue whose bounds are reached, with the reject
	// policy (the default; see [WithDropOldest]), refused the message.
	ErrQueueFull = engine.ErrQueueFull
)

var (
	// ErrNoQueue is returned for a queue name that names no queue.
	ErrNoQueue = engine.ErrNoQueue

	// ErrQueueRemoved is returned by a [Queue]'s Next, Fetch and
	// Subscribe once the queue was removed ([Home.RemoveQueue]).
	ErrQueueRemoved = engine.ErrQueueRemoved

	// ErrLeaseExpired is returned by [Message.Ack] and [Message.Nack]
	// when the queue gave the message back before: the worker held it
	// past the queue's lease, or was taken for dead. The message may be
	// handled again by another delivery.
	ErrLeaseExpired = engine.ErrLeaseExpired
)

// DeliveryError lists the matching channels that did not get a message.
// The message was removed from those channels, so nothing is left for them
// to find later. It unwraps to [ErrNotDelivered] and to each cause.
type DeliveryError struct {
	ID     uint64
	Topic  string
	Missed []Miss
}

// DeliveryErrors returns the *DeliveryError err is, or each of those err
// joins (PublishBatch and PublishMessages join one per message); nil if
// err holds anything else: then something else went wrong as well.
func DeliveryErrors(err error) []*DeliveryError {
	if de, ok := err.(*DeliveryError); ok {
		return []*DeliveryError{de}
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	var out []*DeliveryError
	for _, e := range joined.Unwrap() {
		de, ok := e.(*DeliveryError)
		if !ok {
			return nil
		}
		out = append(out, de)
	}
	return out
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pubsub: message %d on %q missed %d channel", e.ID, e.Topic, len(e.Missed))
	if len(e.Missed) != 1 {
		b.WriteByte('s')
	}
	for i, m := range e.Missed {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", m.Channel, m.Err)
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() []error {
	errs := []error{ErrNotDelivered}
	for _, m := range e.Missed {
		errs = append(errs, m.Err)
	}
	return errs
}

// signalError is the cause of a Subscribe ended by a signal. It matches
// both ErrInterrupted and context.Canceled, as the cause os/signal's
// NotifyContext records does.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "pubsub: interrupted by " + e.sig.String() }

func (e *signalError) Is(target error) bool {
	return target == ErrInterrupted || target == context.Canceled
}

// Signal returns the signal that ended a Subscribe, if err says so.
func Signal(err error) (os.Signal, bool) {
	if se, ok := errors.AsType[*signalError](err); ok {
		return se.sig, true
	}
	return nil, false
}
