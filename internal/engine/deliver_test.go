package engine

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Two publishers that draw the same id (as formix-pubsub's do, once in
// 65,536 messages in the same 65 ms, and as two Go processes may) both
// reach a subscriber that has not read the first yet: the second gets a
// fresh id instead of being lost or overwriting the first. Two homes in
// one process stand for the two processes, rewinding the id counter.
func TestIDCollisionLosesNothing(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-whitebox-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// Collisions matter for message files; inline messages have no name.
	a, err := Open(dir, Config{FilesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dir, Config{FilesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	saved := lastID.Load()
	defer lastID.Store(saved) // back to clock-based ids for the other tests
	ch, err := a.NewChannel("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	for _, p := range []struct {
		h    *Home
		body string
	}{{a, "from a"}, {b, "from b"}} {
		lastID.Store(1 << 62) // the same next id for both
		if _, n, missed, err := p.h.Publish("t", []byte(p.body), nil); n != 1 || missed != nil || err != nil {
			t.Fatalf("Publish %q = %d, %v, %v", p.body, n, missed, err)
		}
	}
	var first, second wire.Message
	if err := ch.Fetch(&first); err != nil {
		t.Fatal(err)
	}
	if err := ch.Fetch(&second); err != nil {
		t.Fatal(err)
	}
	if string(first.Content) != "from a" || string(second.Content) != "from b" {
		t.Fatalf("got %q then %q", first.Content, second.Content)
	}
	if first.ID != 1<<62+1 || second.ID == first.ID {
		t.Fatalf("ids %d and %d: want the collision resolved with a fresh id", first.ID, second.ID)
	}
}

// Another publisher counting up through the same ids leaves a run of
// them pending: a collision steps past the run instead of walking it.
func TestCollisionSkipsARunOfPendingIDs(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-whitebox-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	h, err := Open(dir, Config{FilesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ch, err := h.NewChannel("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	saved := lastID.Load()
	defer lastID.Store(saved)
	const base = 1 << 62
	for i := range uint64(500) { // far more than maxIDRetries
		name := filepath.Join(ch.Dir(), strconv.FormatUint(base+1+i, 10))
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lastID.Store(base)
	if _, n, missed, err := h.Publish("t", []byte("past the run"), nil); n != 1 || missed != nil || err != nil {
		t.Fatalf("Publish = %d, %v, %v", n, missed, err)
	}
}

// A batch draws its ids before its frames meet a full FIFO and go as
// files; one of them moved up by a collision must not leave the ones after
// it below it, since a listing of the channel takes files oldest id first.
func TestBatchSpilledPastACollisionKeepsIDOrder(t *testing.T) {
	h := testHome(t)
	ch, err := h.NewChannel("b", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	fillFIFO(t, ch)
	saved := lastID.Load()
	defer lastID.Store(saved)
	const base = 1 << 62
	lastID.Store(base)
	// Another publisher's pending message holds the batch's second id.
	other, err := wire.Encode(&wire.Message{ID: base + 2, Topic: "b", Content: []byte("other")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ch.Dir(), strconv.FormatUint(base+2, 10)), other, 0o644); err != nil {
		t.Fatal(err)
	}
	contents := [][]byte{[]byte("m1"), []byte("m2"), []byte("m3"), []byte("m4")}
	if n, missed, err := h.PublishBatch("b", contents, nil); n != len(contents) || missed != nil || err != nil {
		t.Fatalf("PublishBatch = %d, %v, %v", n, missed, err)
	}
	var got []string
	var ids []uint64
	entries, err := os.ReadDir(ch.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries { // ReadDir sorts by name: ids of one length sort as numbers
		id, ok := parseMessageName(e.Name())
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(ch.Dir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Content) != "other" {
			got, ids = append(got, string(m.Content)), append(ids, id)
		}
	}
	if want := []string{"m1", "m2", "m3", "m4"}; !slices.Equal(got, want) {
		t.Fatalf("files by id: %q (ids %d), want %q", got, ids, want)
	}
}

// fillFIFO fills ch's FIFO with ids that name no file, so that the next
// write finds it full.
func fillFIFO(t *testing.T, ch *Channel) {
	t.Helper()
	fd, err := fsys.OpenFIFOWriter(ch.dirFD, QueueName)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close(fd)
	for id := uint64(1); ; id++ {
		if err := fsys.WriteRecord(fd, binary.BigEndian.AppendUint64(nil, id)); err == fsys.ErrWouldBlock {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}
