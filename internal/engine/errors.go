package engine

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// The engine's sentinels; the root package exports each under the same
// name, with its documentation.
var (
	ErrClosed      = errors.New("pubsub: closed")
	ErrNoMessage   = errors.New("pubsub: no message")
	ErrFIFOFull    = errors.New("FIFO full: the subscriber is not keeping up")
	ErrNotReading  = errors.New("no reader on the FIFO: the channel is not open yet")
	ErrNotRegular  = errors.New("pubsub: message is not a regular file")
	ErrTooLarge    = errors.New("pubsub: message file too large")
	ErrInvalidID   = errors.New("pubsub: invalid message id")
	ErrUnsupported = fmt.Errorf("pubsub: not supported on %s: the bus needs Unix FIFOs and flock (Linux, macOS, the BSDs): %w", runtime.GOOS, errors.ErrUnsupported)
)

// Miss is one matching channel a message could not be delivered to.
type Miss struct {
	Channel string // the channel directory
	Err     error  // why: ErrFIFOFull, ErrNotReading or an I/O error
}

// Missed lists the channels one message missed.
type Missed struct {
	ID     uint64
	Topic  string
	Missed []Miss
}

// BadMessage is a message that could not be read or decoded; the root
// package reports it as a *pubsub.MessageError.
type BadMessage struct {
	Path string // the message file, or the FIFO for an inline message
	ID   uint64
	Err  error
}

func (e *BadMessage) Error() string {
	return fmt.Sprintf("pubsub: message %s: %v", e.Path, strings.TrimPrefix(e.Err.Error(), "pubsub: "))
}

func (e *BadMessage) Unwrap() error { return e.Err }
