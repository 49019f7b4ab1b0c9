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
	r, n, ok := NextRecord(stream)
	if !ok || r.Frame != nil || r.ID != 1699999999988276 || r.Late || n != 8 {
		t.Fatalf("first record: %+v %d %v", r, n, ok)
	}
	stream = stream[n:]
	for _, want := range []int{0, 1, 16, MaxInline} {
		if _, _, ok := NextRecord(stream[:FrameSize(want)-1]); ok {
			t.Fatalf("a cut frame of %d bytes read as whole", want)
		}
		r, n, ok := NextRecord(stream)
		if !ok || len(r.Frame) != want {
			t.Fatalf("frame of %d bytes read as %d, %v", want, len(r.Frame), ok)
		}
		stream = stream[n:]
	}
	if len(stream) != 0 {
		t.Fatalf("%d bytes left", len(stream))
	}
	bogus := append(append([]byte(nil), frameTag[:]...), 0xff, 0xff, 0xff, 0xff)
	if r, n, ok := NextRecord(bogus); !ok || r.Frame != nil || n != 8 {
		t.Fatal("a frame header claiming 4 GiB was not skipped as an id")
	}
}

func TestLateRecords(t *testing.T) {
	late := AppendLate(nil, 1699999999988276, 0)
	if len(late) != LateSize {
		t.Fatalf("a late announcement of %d bytes", len(late))
	}
	if _, _, ok := NextRecord(late[:LateSize-1]); ok {
		t.Fatal("a cut late announcement read as whole")
	}
	r, n, ok := NextRecord(late)
	if !ok || n != LateSize || r.ID != 1699999999988276 || !r.Late || r.Frame != nil || r.Inode != 0 {
		t.Fatalf("late announcement read as %+v, %d, %v", r, n, ok)
	}
	// With the file's inode number, its low 32 bits ride along.
	r, _, ok = NextRecord(AppendLate(nil, 1699999999988276, 0x1_0000_abcd))
	if !ok || !r.Late || r.ID != 1699999999988276 || r.Inode != 0xabcd {
		t.Fatalf("late announcement with an inode read as %+v", r)
	}
	// A reader that knows no late records sees an id naming no file, then
	// the id: read the tag as such a reader does.
	if old := binary.BigEndian.Uint64(late); old>>56 != FrameMark {
		t.Fatalf("the tag reads as id %d, which a clock could draw", old)
	}
}

func TestWakeRecords(t *testing.T) {
	stream := append(Wake[:], AppendLate(nil, 42, 0)...)
	if _, _, ok := NextRecord(stream[:7]); ok {
		t.Fatal("a cut wake-up read as whole")
	}
	r, n, ok := NextRecord(stream)
	if !ok || n != 8 || !r.Wake || r.ID != 0 || r.Frame != nil || r.Late {
		t.Fatalf("wake-up read as %+v, %d, %v", r, n, ok)
	}
	if r, _, _ := NextRecord(stream[n:]); r.Wake || r.ID != 42 {
		t.Fatalf("the record after a wake-up read as %+v", r)
	}
}

// FuzzNextRecord: the FIFO is written by any process that can open it.
func FuzzNextRecord(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(append(AppendFrame(nil, 3), 'a', 'b', 'c', 0, 0, 0, 0, 0))
	f.Add(AppendFrame(nil, MaxInline+1))
	f.Add(AppendLate(nil, 42, 7))
	f.Add(Wake[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			r, n, ok := NextRecord(b)
			if !ok {
				return
			}
			if n < 8 || n%8 != 0 || n > len(b) || len(r.Frame) > MaxInline || n > MaxFrame || (r.Late && r.Frame != nil) || (r.Wake && (n != 8 || r.ID != 0 || r.Frame != nil || r.Late)) {
				t.Fatalf("NextRecord took %d of %d bytes, record %+v", n, len(b), r)
			}
			b = b[n:]
		}
	})
}
