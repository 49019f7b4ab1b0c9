package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

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
