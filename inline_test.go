package pubsub_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// A small message to a Go channel travels whole in its FIFO, with no file;
// a large one, or one to a formix-pubsub channel, is a file.
func TestInlineAndFileDelivery(t *testing.T) {
	h, _ := newHome(t)
	goCh := newChannel(t, h, "mix")
	pyDir, pyFD := fakePythonChannel(t, h, "mix", true)
	small, large := "small", strings.Repeat("L", wire.MaxInline)
	for _, body := range []string{small, large} {
		if n := publish(t, h, "mix", body, pubsub.Headers{"k": 1}); n != 2 {
			t.Fatalf("reached %d", n)
		}
	}
	if files := pendingFiles(t, goCh.Dir()); len(files) != 1 {
		t.Fatalf("Go channel holds files %v; want only the large message's", files)
	}
	if files := pendingFiles(t, pyDir); len(files) != 2 {
		t.Fatalf("formix-pubsub channel holds files %v; want both", files)
	}
	var ids [16]byte
	if n, _ := unix.Read(pyFD, ids[:]); n != 16 {
		t.Fatalf("formix-pubsub channel's FIFO held %d bytes; want two 8-byte ids", n)
	}
	for _, want := range []string{small, large} {
		if m := fetch(t, goCh); string(m.Content) != want || m.Headers["k"] != int64(1) {
			t.Fatalf("got %d bytes, headers %v", len(m.Content), m.Headers)
		}
	}
}

// Messages that came in one FIFO read share a buffer: each keeps its own
// content, through later reads and when another is appended to.
func TestInlineContentsStayApart(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "apart")
	var kept []*pubsub.Message
	for round := range 3 {
		var batch [][]byte
		for i := range 8 {
			batch = append(batch, []byte(fmt.Sprintf("round %d message %d", round, i)))
		}
		if _, err := h.PublishBatch("apart", batch, nil); err != nil {
			t.Fatal(err)
		}
		for range batch {
			m := fetch(t, ch)
			_ = append(m.Content, "!!!!"...) // must not reach the next message
			kept = append(kept, m)
		}
	}
	for i, m := range kept {
		if want := fmt.Sprintf("round %d message %d", i/8, i%8); string(m.Content) != want {
			t.Errorf("message %d: %q, want %q", i, m.Content, want)
		}
	}
}

// FuzzChannelQueue writes what another process might into a channel's
// FIFO: ids, frames, junk, cut anywhere. The channel never panics, takes
// at most one result per 8 bytes before it runs dry, and each message it
// returns matches its pattern.
func FuzzChannelQueue(f *testing.F) {
	msg, err := wire.Encode(&wire.Message{ID: 7, Timestamp: 1, Topic: "fz", Headers: map[string]any{"k": 1.5}, Content: []byte("body")})
	if err != nil {
		f.Fatal(err)
	}
	frame := frameOf(msg)
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], 12345)
	f.Add(frame)
	f.Add(append(append(id[:], frame...), frame...))
	f.Add(frame[:len(frame)-3])
	f.Add(append(wire.AppendFrame(nil, 1<<20), frame...))
	h, _ := newHome(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return // the FIFO holds 64 KiB; a write must not block
		}
		ch := newChannel(t, h, "fz")
		defer ch.Close()
		writeQueue(t, ch, data)
		for range len(data)/8 + 2 {
			m, err := ch.Fetch()
			if errors.Is(err, pubsub.ErrNoMessage) {
				return
			}
			if err == nil && m.Topic != "fz" {
				t.Fatalf("channel fz returned a message on %q", m.Topic)
			}
		}
		t.Fatalf("%d bytes gave more than %d results", len(data), len(data)/8+2)
	})
}

// WithFilesOnly sends every message as a file, as formix-pubsub does.
func TestFilesOnly(t *testing.T) {
	h, _ := newHome(t)
	dir := h.Dir()
	files, err := pubsub.Open(dir, pubsub.WithFilesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	ch := newChannel(t, h, "f")
	if n, err := files.Publish("f", []byte("as a file"), nil); n != 1 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	if got := pendingFiles(t, ch.Dir()); len(got) != 1 {
		t.Fatalf("files %v, want one", got)
	}
	if m := fetch(t, ch); string(m.Content) != "as a file" {
		t.Fatalf("got %q", m.Content)
	}
}

// A frame in the FIFO that does not decode is an error for itself; ids
// and frames after it still arrive.
func TestBadInlineFrame(t *testing.T) {
	for _, c := range []struct {
		name string
		junk []byte
		want error
	}{
		{"junk", frameOf([]byte("junk!")), pubsub.ErrBadMagic},
		{"empty", wire.AppendFrame(nil, 0), pubsub.ErrTruncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, _ := newHome(t)
			ch := newChannel(t, h, "bad")
			writeQueue(t, ch, c.junk)
			publish(t, h, "bad", "after the junk", nil)
			if _, err := ch.Fetch(); !errors.Is(err, c.want) {
				t.Fatalf("%s frame: %v, want %v", c.name, err, c.want)
			}
			if m := fetch(t, ch); string(m.Content) != "after the junk" {
				t.Fatalf("got %q", m.Content)
			}
		})
	}
}
