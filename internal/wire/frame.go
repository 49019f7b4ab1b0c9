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
// or the announcement of a message file with its inode, which a Go
// publisher writes for every file it links into a Go channel (on time, or
// late: once a full FIFO had room):
//
//	0xFF 'P' 'L' 0   u32 inode tag   u64 message id
//
// or a wake-up, which the channel's own process writes to make its reader
// look again (its context done, the channel closed) and the reader skips:
//
//	0xFF 'P' 'W' 0   4 zero bytes
//
// The inode tag is the low 32 bits of the file's inode number (0: not
// known). A reader that took the file by listing its directory skips its
// announcement: meanwhile another publisher may have drawn the same
// id for a newer message, whose file has another inode and whose own
// announcement brings it in its turn; with a tag the reader tells the two
// apart, without one it skips any late id it took by listing. (A reader
// that knows no late records takes the tag for an id that names no file,
// then the id.)
//
// A record is written with one write(2) of at most MaxFrame bytes, which a
// FIFO keeps whole (PIPE_BUF), so records never interleave. formix-pubsub
// never reads a Go channel's FIFO, so it never sees one.
const (
	FrameMark       = 0xFF
	FrameHeaderSize = 8
	MaxFrame        = 4096 // PIPE_BUF on Linux
	// MaxInline is the largest message a frame can carry.
	MaxInline = MaxFrame - FrameHeaderSize
	// LateSize is the size of a late announcement.
	LateSize = 16
)

var (
	frameTag = [4]byte{FrameMark, 'P', 'G', 0}
	lateTag  = [4]byte{FrameMark, 'P', 'L', 0}
	wakeTag  = [4]byte{FrameMark, 'P', 'W', 0}
)

// Wake is the wake-up record.
var Wake = [8]byte{FrameMark, 'P', 'W', 0}

// Record is one record of a Go channel's FIFO: the id of a message file,
// or a whole message in Frame.
type Record struct {
	ID    uint64
	Frame []byte // the message of a frame, aliasing what was read; nil for an id
	Late  bool   // an announcement with an inode tag (see above), on time or late
	Inode uint32 // of a late announcement: its file's inode tag, 0 if not known
	Wake  bool   // a wake-up, which carries nothing
}

// AppendLate appends the late announcement of the message file id whose
// inode number is ino (0: not known).
func AppendLate(dst []byte, id uint64, ino uint64) []byte {
	dst = binary.BigEndian.AppendUint32(append(dst, lateTag[:]...), InodeTag(ino))
	return binary.BigEndian.AppendUint64(dst, id)
}

// InodeTag is what a late announcement keeps of an inode number.
func InodeTag(ino uint64) uint32 { return uint32(ino) }

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

// NextRecord reads the record at the start of b. n is how many bytes it
// took; ok is false when b does not yet hold the whole record. A frame
// header that claims more than MaxInline bytes is not a frame: its 8 bytes
// are taken as an id, which names no file and is skipped. r.Frame is a
// subslice of b that keeps b's capacity, which tells a reader its offset.
func NextRecord(b []byte) (r Record, n int, ok bool) {
	if len(b) < 8 {
		return Record{}, 0, false
	}
	if [4]byte(b[:4]) == lateTag {
		if len(b) < LateSize {
			return Record{}, 0, false
		}
		return Record{ID: binary.BigEndian.Uint64(b[8:]), Late: true, Inode: binary.BigEndian.Uint32(b[4:8])}, LateSize, true
	}
	if [4]byte(b[:4]) == wakeTag {
		return Record{Wake: true}, 8, true
	}
	if [4]byte(b[:4]) != frameTag {
		return Record{ID: binary.BigEndian.Uint64(b)}, 8, true
	}
	size := binary.BigEndian.Uint32(b[4:8])
	if size > MaxInline {
		return Record{ID: binary.BigEndian.Uint64(b)}, 8, true
	}
	n = FrameSize(int(size))
	if len(b) < n {
		return Record{}, 0, false
	}
	return Record{Frame: b[FrameHeaderSize : FrameHeaderSize+int(size)]}, n, true
}
