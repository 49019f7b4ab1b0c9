package engine

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pubsub-go/pubsub/internal/wire"
)

// A backlog larger than one listing takes is delivered whole and oldest
// first, in several passes.
func TestScanInPasses(t *testing.T) {
	saved := maxScan
	maxScan = 100
	defer func() { maxScan = saved }()
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-whitebox-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	h, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ch, err := h.NewChannel("backlog", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	const total = 350
	for _, i := range rand.Perm(total) { // written in any order
		id := uint64(1000 + i)
		b, err := wire.Encode(&wire.Message{ID: id, Topic: "backlog"})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ch.Dir(), strconv.FormatUint(id, 10)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range total {
		var m wire.Message
		if err := ch.Fetch(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.ID != uint64(1000+i) {
			t.Fatalf("message %d has id %d: not oldest first", i, m.ID)
		}
		if len(ch.scanned) > maxScan {
			t.Fatalf("%d ids held, more than a listing takes", len(ch.scanned))
		}
	}
	if err := ch.Fetch(new(wire.Message)); !errors.Is(err, ErrNoMessage) {
		t.Fatal(err)
	}
}
