package wire

import "encoding/binary"

// Inline frames are a Go-to-Go extension of a channel's FIFO. The FIFO
// carries 8-byte big-endian message ids, whose first byte is 0 for any id
// drawn from the clock before the year 2540. A record whose first byte is
// FrameMark is instead a whole message, so a Go publisher can hand a small
// message to a Go subscriber without a file:
//
//	0xFF 'P' 'G' 0   u32 length of the PMSG message
//	the message      padded with zeros to a multiple of 8 bytes
//
// A frame is written with one write(2) of at most MaxFrame bytes, which a
// FIFO keeps whole (PIPE_BUF), so frames and ids never interleave.
// formix-pubsub never reads a Go channel's FIFO, so it never sees one.
const (
	FrameMark       = 0xFF
	FrameHeaderSize = 8
	MaxFrame        = 4096 // PIPE_BUF on Linux
	// MaxInline is the largest message a frame can carry.
	MaxInline = MaxFrame - FrameHeaderSize
)

var frameTag = [4]byte{FrameMark, 'P', 'G', 0}

// FrameSize returns the size of the frame carrying a message of n bytes.
func FrameSize(n int) int { return FrameHeaderSize + (n+7)&^7 }

// AppendFrame appends the frame header for a message of n bytes; the
// caller appends the message and then the padding AppendPadding gives.
func AppendFrame(dst []byte, n int) []byte {
	dst = append(dst, frameTag[:]...)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// AppendPadding pads a frame whose message has n bytes.
func AppendPadding(dst []byte, n int) []byte {
	var zero [8]byte
	return append(dst, zero[:(8-n%8)%8]...)
}

// NextRecord reads the record at the start of b: an id (frame is nil) or
// the message of a frame (aliasing b). n is how many bytes it took; ok is
// false when b does not yet hold the whole record. A frame header that
// claims more than MaxInline bytes is not a frame: its 8 bytes are taken
// as an id, which names no file and is skipped.
func NextRecord(b []byte) (id uint64, frame []byte, n int, ok bool) {
	if len(b) < 8 {
		return 0, nil, 0, false
	}
	if [4]byte(b[:4]) != frameTag {
		return binary.BigEndian.Uint64(b), nil, 8, true
	}
	size := binary.BigEndian.Uint32(b[4:8])
	if size > MaxInline {
		return binary.BigEndian.Uint64(b), nil, 8, true
	}
	n = FrameSize(int(size))
	if len(b) < n {
		return 0, nil, 0, false
	}
	return 0, b[FrameHeaderSize : FrameHeaderSize+int(size)], n, true
}
