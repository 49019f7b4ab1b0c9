package wire

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrBadMagic is wrapped by the *DecodeError for a buffer that does not
	// start with the PMSG magic number.
	ErrBadMagic = errors.New("pubsub: bad magic number (not a PMSG message)")

	// ErrUnknownVersion is wrapped by the *DecodeError for a format version
	// other than 1.
	ErrUnknownVersion = errors.New("pubsub: unknown message format version")

	// ErrTruncated is wrapped by the *DecodeError for a buffer that ends
	// inside a field, or whose length field goes past its end.
	ErrTruncated = errors.New("pubsub: message truncated")

	// ErrBadTimestamp is wrapped by the *DecodeError for a timestamp above
	// math.MaxInt64, and by Encode for a negative timestamp (the field is
	// unsigned).
	ErrBadTimestamp = errors.New("pubsub: timestamp out of range")

	// ErrBadTopic is wrapped by the *DecodeError for a topic that is not
	// valid UTF-8 (Python cannot read it either), and by Encode for such
	// a topic.
	ErrBadTopic = errors.New("pubsub: topic is not valid UTF-8")

	// ErrBadHeaders is wrapped by the errors of DecodeHeaders, and so by
	// the *DecodeError, for a headers text that is not UTF-8 JSON holding
	// one object, as Python's json.loads reads it.
	ErrBadHeaders = errors.New("pubsub: bad headers JSON")

	// ErrTooLong is wrapped by the error of Encode for a topic, headers
	// text or content longer than MaxLen bytes.
	ErrTooLong = errors.New("pubsub: field longer than the format allows")

	// ErrInvalidHeader is wrapped by the *HeaderError that Encode and
	// EncodeHeaders return for a header they cannot write.
	ErrInvalidHeader = errors.New("pubsub: invalid header")
)

// DecodeError reports a message that Decode cannot read: the field, the
// offset in the buffer where that field starts, and the cause, which
// wraps one of the sentinels above.
type DecodeError struct {
	Field  string // "magic", "version", "id", "timestamp", "topic length", "topic", ...
	Offset int
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("pubsub: decode %s at offset %d: %s", e.Field, e.Offset, strings.TrimPrefix(e.Err.Error(), "pubsub: "))
}

func (e *DecodeError) Unwrap() error { return e.Err }

// HeaderError reports a header that cannot be encoded: its key, and what
// is wrong with the key or the value. It unwraps to [ErrInvalidHeader].
type HeaderError struct {
	Key    string
	Reason string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("pubsub: invalid header %q: %s", e.Key, e.Reason)
}

func (e *HeaderError) Unwrap() error { return ErrInvalidHeader }
