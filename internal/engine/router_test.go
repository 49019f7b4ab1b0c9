package engine

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/pubsub-go/pubsub/internal/wire"
)

// Publishers that together reach more channels than the routes allowed to
// hold descriptors keep delivering every message once, in each
// publisher's order, while routes give their descriptors back and take
// them again under them; and no more routes than allowed stay open.
func TestOpenSetBoundsDescriptors(t *testing.T) {
	h := testHome(t)
	var err error
	const channels, publishers, each, bound = 20, 6, 300, 4
	h.routes.open.max = bound
	chans := make([]*Channel, channels)
	for i := range chans {
		if chans[i], err = h.NewChannel("t", nil); err != nil {
			t.Fatal(err)
		}
		defer chans[i].Close()
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				var b [8]byte
				binary.BigEndian.PutUint32(b[:4], uint32(p))
				binary.BigEndian.PutUint32(b[4:], uint32(i))
				// Every third message a file, the others inline.
				content := b[:]
				if i%3 == 0 {
					content = append(b[:], make([]byte, MaxInline)...)
				}
				if _, n, missed, err := h.Publish("t", content, nil); n != channels || missed != nil || err != nil {
					t.Errorf("publisher %d, message %d: reached %d, %v, %v", p, i, n, missed, err)
					return
				}
			}
		})
	}
	// Read while they publish, so that FIFOs do not fill.
	for c, ch := range chans {
		wg.Go(func() {
			next := make([]uint32, publishers)
			for range publishers * each {
				var m wire.Message
				if err := ch.Next(t.Context(), &m); err != nil {
					t.Errorf("channel %d: %v", c, err)
					return
				}
				p, i := binary.BigEndian.Uint32(m.Content[:4]), binary.BigEndian.Uint32(m.Content[4:8])
				if i != next[p] {
					t.Errorf("channel %d: publisher %d's message %d after %d", c, p, i, next[p])
					return
				}
				next[p]++
			}
		})
	}
	wg.Wait()
	// Routes all in use at once may grow the set past its bound for a
	// while; one publish alone brings it back.
	if _, n, _, err := h.Publish("t", []byte("last"), nil); n != channels || err != nil {
		t.Fatalf("last publish: %d, %v", n, err)
	}
	h.routes.open.mu.Lock()
	open, evictions := len(h.routes.open.routes), h.routes.open.evictions
	h.routes.open.mu.Unlock()
	if open > bound {
		t.Errorf("%d routes hold descriptors, more than the %d allowed", open, bound)
	}
	if evictions < channels {
		t.Errorf("%d evictions: the bound was not in play", evictions)
	}
	for _, rt := range h.routes.byName {
		rt.mu.Lock()
		if rt.dirFD >= 0 && !contains(h.routes.open.routes, rt) {
			t.Errorf("route %s holds descriptors outside the open set", rt.name)
		}
		rt.mu.Unlock()
	}
}

func contains(routes []*route, rt *route) bool {
	for _, r := range routes {
		if r == rt {
			return true
		}
	}
	return false
}
