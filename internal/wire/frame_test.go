package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestFrames(t *testing.T) {
	var stream []byte
	stream = binary.BigEndian.AppendUint64(stream, 1699999999988276)
	for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("m"), 16), bytes.Repeat([]byte("z"), MaxInline)} {
		before := len(stream)
		stream = AppendFrame(stream, len(msg))
		stream = append(stream, msg...)
		stream = AppendPadding(stream, len(msg))
		if got := len(stream) - before; got != FrameSize(len(msg)) || got%8 != 0 || got > MaxFrame {
			t.Fatalf("frame of a %d-byte message is %d bytes", len(msg), got)
		}
	}
	id, frame, n, ok := NextRecord(stream)
	if !ok || frame != nil || id != 1699999999988276 || n != 8 {
		t.Fatalf("first record: %d %q %d %v", id, frame, n, ok)
	}
	stream = stream[n:]
	for _, want := range []int{0, 1, 16, MaxInline} {
		if _, _, _, ok := NextRecord(stream[:FrameSize(want)-1]); ok {
			t.Fatalf("a cut frame of %d bytes read as whole", want)
		}
		_, frame, n, ok := NextRecord(stream)
		if !ok || len(frame) != want {
			t.Fatalf("frame of %d bytes read as %d, %v", want, len(frame), ok)
		}
		stream = stream[n:]
	}
	if len(stream) != 0 {
		t.Fatalf("%d bytes left", len(stream))
	}
	bogus := append(append([]byte(nil), frameTag[:]...), 0xff, 0xff, 0xff, 0xff)
	if _, frame, n, ok := NextRecord(bogus); !ok || frame != nil || n != 8 {
		t.Fatal("a frame header claiming 4 GiB was not skipped as an id")
	}
}

// FuzzNextRecord: the FIFO is written by any process that can open it.
func FuzzNextRecord(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(append(AppendFrame(nil, 3), 'a', 'b', 'c', 0, 0, 0, 0, 0))
	f.Add(AppendFrame(nil, MaxInline+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			_, frame, n, ok := NextRecord(b)
			if !ok {
				return
			}
			if n < 8 || n%8 != 0 || n > len(b) || len(frame) > MaxInline || n > MaxFrame {
				t.Fatalf("NextRecord took %d of %d bytes, frame %d", n, len(b), len(frame))
			}
			b = b[n:]
		}
	})
}
