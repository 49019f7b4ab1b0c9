package pubsub_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// A channel made WithoutHeader is left out of the deliveries of every
// message carrying the header, on each publishing path (inline, as a
// file, in a batch, carried), and gets the others in order.
func TestWithoutHeader(t *testing.T) {
	for _, filesOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("files only %v", filesOnly), func(t *testing.T) {
			sub, _ := newHome(t)
			refusing := newChannel(t, sub, "w.+", pubsub.WithoutHeader("origin"))
			plain := newChannel(t, sub, "w.+")
			h := publisherOn(t, sub, filesOnly)
			marked := pubsub.Headers{"origin": "elsewhere", "k": 1}
			large := strings.Repeat("L", wire.MaxInline)
			var want []string // what the refusing channel gets
			reached := func(what string, got, wantN int, err error) {
				t.Helper()
				if got != wantN || err != nil {
					t.Fatalf("%s: %d deliveries, %v; want %d", what, got, err, wantN)
				}
			}

			n, err := h.Publish("w.a", []byte("small, marked"), marked)
			reached("Publish small, marked", n, 1, err)
			n, err = h.Publish("w.a", []byte(large), marked)
			reached("Publish large, marked", n, 1, err)
			n, err = h.Publish("w.a", []byte("plain"), pubsub.Headers{"k": 1})
			reached("Publish plain", n, 2, err)
			want = append(want, "plain")

			n, err = h.PublishBatch("w.b", [][]byte{[]byte("b1"), []byte(large), []byte("b3")}, marked)
			reached("PublishBatch marked", n, 3, err)
			n, err = h.PublishBatch("w.b", [][]byte{[]byte("b4"), []byte("b5")}, nil)
			reached("PublishBatch plain", n, 4, err)
			want = append(want, "b4", "b5")

			n, err = h.PublishMessages([]*pubsub.Message{
				{Topic: "w.c", Content: []byte("c1"), Headers: marked},
				{Topic: "w.c", Content: []byte("c2")},
				{Topic: "w.c", Content: []byte(large), Headers: marked},
				{Topic: "w.c", Content: []byte("c4"), Headers: pubsub.Headers{"other": true}},
			})
			reached("PublishMessages", n, 6, err)
			want = append(want, "c2", "c4")

			for _, w := range want {
				if m := fetch(t, refusing); string(m.Content) != w {
					t.Fatalf("refusing channel: got %.20q, want %q", m.Content, w)
				}
			}
			if m, err := refusing.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
				t.Fatalf("refusing channel: got %v, %v after the last plain message; want nothing", m, err)
			}
			if files := pendingFiles(t, refusing.Dir()); len(files) != 0 {
				t.Fatalf("refusing channel holds files %v", files)
			}
			for i := range 12 {
				if _, err := plain.Fetch(); err != nil {
					t.Fatalf("plain channel, message %d: %v", i+1, err)
				}
			}
		})
	}
}

// A message with a refused header that arrives anyway, from a publisher
// that does not read lock files (formix-pubsub, an older one), as a file
// or as a frame, is dropped when read, and what follows still arrives.
func TestWithoutHeaderFromOtherPublishers(t *testing.T) {
	h, logs := newHome(t)
	ch := newChannel(t, h, "w", pubsub.WithoutHeader("origin"))
	encode := func(id uint64, content string, headers map[string]any) []byte {
		b, err := wire.Encode(&wire.Message{ID: id, Timestamp: 1, Topic: "w", Headers: headers, Content: []byte(content)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for id, content := range map[uint64]string{1: "refused file", 2: "file"} {
		var headers map[string]any
		if id == 1 {
			headers = map[string]any{"origin": "py"}
		}
		if err := os.WriteFile(filepath.Join(ch.Dir(), strconv.FormatUint(id, 10)), encode(id, content, headers), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var frames []byte
	for id, content := range []string{"refused frame", "frame"} {
		var headers map[string]any
		if id == 0 {
			headers = map[string]any{"origin": "old"}
		}
		msg := encode(uint64(10+id), content, headers)
		frames = append(frames, frameOf(msg)...)
	}
	writeQueue(t, ch, frames)
	for _, want := range []string{"frame", "file"} {
		if m := fetch(t, ch); string(m.Content) != want {
			t.Fatalf("got %q, want %q", m.Content, want)
		}
	}
	if m, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("got %v, %v; want nothing more", m, err)
	}
	if files := pendingFiles(t, ch.Dir()); len(files) != 0 {
		t.Fatalf("the channel still holds %v", files)
	}
	if !containsAll(logs.String(), "header the channel refuses", "header=origin") {
		t.Fatalf("drops not logged:\n%s", logs)
	}
}

// WithoutHeader names go into the lock file: they are checked.
func TestWithoutHeaderInvalid(t *testing.T) {
	h, _ := newHome(t)
	for _, name := range []string{"", "two words", "line\nbreak", "é", strings.Repeat("x", 129)} {
		_, err := h.NewChannel("w", pubsub.WithoutHeader(name))
		if !errors.Is(err, pubsub.ErrInvalidHeader) || !strings.Contains(err.Error(), "printable ASCII") {
			t.Errorf("WithoutHeader(%q): %v; want an invalid header error saying what is allowed", name, err)
		}
	}
	var opts []pubsub.ChannelOption
	for i := range 9 {
		opts = append(opts, pubsub.WithoutHeader("h"+strconv.Itoa(i)))
	}
	if _, err := h.NewChannel("w", opts...); err == nil || !strings.Contains(err.Error(), "at most 8") {
		t.Errorf("9 WithoutHeader options: %v; want an error naming the limit", err)
	}
	entries, err := os.ReadDir(h.Dir())
	if err != nil || len(entries) != 1 || entries[0].Name() != "tmp" {
		t.Errorf("refused channels left %v, %v in the home; want tmp/ alone", entries, err)
	}
}
