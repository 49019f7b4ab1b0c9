package pubsub_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// A Go channel whose FIFO is full (8,192 ids) still gets every message:
// its subscriber finds the files the FIFO could not announce.
func TestFullFIFOLosesNothing(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "flood")
	const total = 10000
	for i := range total {
		if n := publish(t, h, "flood", strconv.Itoa(i), nil); n != 1 {
			t.Fatalf("message %d reached %d channels", i, n)
		}
	}
	for i := range total {
		m := fetch(t, ch)
		if got := string(m.Content); got != strconv.Itoa(i) {
			t.Fatalf("message %d arrived as %s: one publisher's order broken", i, got)
		}
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("after draining: %v", err)
	}
}

// fakePythonChannel makes a channel directory as formix-pubsub does: a
// FIFO and no lock file, owned by this process's pid. It returns the
// directory and, if reading, the FIFO's read descriptor.
func fakePythonChannel(t *testing.T, h *pubsub.Home, topic string, reading bool) (string, int) {
	t.Helper()
	dir := filepath.Join(h.Dir(), topic+"_PyPyPyPyPyPy_"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "queue"), 0o660); err != nil {
		t.Fatal(err)
	}
	fd := -1
	if reading {
		var err error
		fd, err = unix.Open(filepath.Join(dir, "queue"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
	}
	return dir, fd
}

func pendingFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if _, err := strconv.ParseUint(e.Name(), 10, 64); err == nil {
			names = append(names, e.Name())
		}
	}
	return names
}

// A formix-pubsub channel cannot find a message whose id did not fit in
// its FIFO: Publish says which channel it missed and takes the file back.
func TestFullPythonFIFOIsReported(t *testing.T) {
	h, _ := newHome(t)
	dir, _ := fakePythonChannel(t, h, "py", true)
	for i := range 8192 {
		if n := publish(t, h, "py", strconv.Itoa(i), nil); n != 1 {
			t.Fatalf("message %d reached %d", i, n)
		}
	}
	n, err := h.Publish("py", []byte("one too many"), nil)
	de, ok := errors.AsType[*pubsub.DeliveryError](err)
	if n != 0 || !ok || !errors.Is(err, pubsub.ErrFIFOFull) || !errors.Is(err, pubsub.ErrNotDelivered) {
		t.Fatalf("Publish into a full formix-pubsub FIFO = %d, %v", n, err)
	}
	if len(de.Missed) != 1 || de.Missed[0].Channel != dir {
		t.Fatalf("missed %+v, want %s", de.Missed, dir)
	}
	if files := pendingFiles(t, dir); len(files) != 8192 {
		t.Fatalf("%d message files in the channel, want the 8,192 announced", len(files))
	}
}

// A formix-pubsub channel that exists but has not opened its FIFO yet is
// reported, not silently skipped.
func TestNotReadingPythonChannelIsReported(t *testing.T) {
	h, _ := newHome(t)
	dir, _ := fakePythonChannel(t, h, "py", false)
	n, err := h.Publish("py", []byte("x"), nil)
	if n != 0 || !errors.Is(err, pubsub.ErrNotReading) {
		t.Fatalf("Publish = %d, %v; want 0, ErrNotReading", n, err)
	}
	if files := pendingFiles(t, dir); len(files) != 0 {
		t.Fatalf("message left in a channel that cannot read it: %v", files)
	}
}

// A Go subscriber delivers message files that sit in its directory without
// an id in its FIFO.
func TestStrayFilesAreDelivered(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "stray")
	for i, id := range []uint64{300, 100, 200} {
		b, err := wire.Encode(&wire.Message{ID: id, Timestamp: int64(i), Topic: "stray", Content: []byte(strconv.FormatUint(id, 10))})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ch.Dir(), strconv.FormatUint(id, 10)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"100", "200", "300"} {
		if m := fetch(t, ch); string(m.Content) != want {
			t.Fatalf("got %q, want %q (oldest id first)", m.Content, want)
		}
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatal(err)
	}
}

// An id announced twice (or whose file was taken by a directory scan
// first) is delivered once.
func TestDuplicateAnnouncementDeliversOnce(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "dup")
	b, err := wire.Encode(&wire.Message{ID: 77, Topic: "dup", Content: []byte("only once")})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ch.Dir(), "77"), b, 0o644)
	var rec [8]byte
	binary.BigEndian.PutUint64(rec[:], 77)
	writeQueue(t, ch, append(rec[:], rec[:]...))
	if m := fetch(t, ch); string(m.Content) != "only once" {
		t.Fatalf("got %q", m.Content)
	}
	if m, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("second delivery: %v, %v", m, err)
	}
}

// Many goroutines publish while several goroutines take from one channel:
// every message is handled exactly once.
func TestConcurrentPublishAndFetch(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "c.+")
	const publishers, each, readers = 8, 500, 4
	var pub sync.WaitGroup
	for p := range publishers {
		pub.Add(1)
		go func() {
			defer pub.Done()
			for i := range each {
				if _, err := h.Publish("c.x", []byte(strconv.Itoa(p*each+i)), nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	got := make(chan string, publishers*each)
	var read sync.WaitGroup
	for r := range readers {
		read.Add(1)
		go func() {
			defer read.Done()
			for {
				var m *pubsub.Message
				var err error
				if r%2 == 0 {
					if m, err = ch.Fetch(); errors.Is(err, pubsub.ErrNoMessage) {
						runtime.Gosched()
						continue
					}
				} else {
					m, err = ch.Next(t.Context())
				}
				if errors.Is(err, pubsub.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				got <- string(m.Content)
			}
		}()
	}
	seen := map[string]int{}
	for range publishers * each {
		select {
		case c := <-got:
			seen[c]++
		case <-t.Context().Done():
			t.Fatalf("only %d of %d messages arrived", len(seen), publishers*each)
		}
	}
	pub.Wait()
	ch.Close() // wakes the readers
	read.Wait()
	close(got)
	for c := range got {
		seen[c]++
	}
	if len(seen) != publishers*each {
		t.Errorf("%d distinct messages, want %d", len(seen), publishers*each)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("message %s handled %d times", k, n)
		}
	}
}

// With several channels, a subscriber that takes its copy at once must not
// keep the publisher from linking the message into the next channel.
func TestFanOutWithEagerSubscribers(t *testing.T) {
	h, _ := newHome(t)
	const channels, total = 4, 500
	got := make(chan int, channels*total)
	for range channels {
		ch := newChannel(t, h, "fan")
		go func() {
			for range total {
				m, err := ch.Next(t.Context())
				if err != nil {
					return
				}
				n, _ := strconv.Atoi(string(m.Content))
				got <- n
			}
		}()
	}
	for i := range total {
		if n := publish(t, h, "fan", strconv.Itoa(i), nil); n != channels {
			t.Fatalf("message %d reached %d of %d channels", i, n, channels)
		}
	}
	counts := map[int]int{}
	for range channels * total {
		select {
		case n := <-got:
			counts[n]++
		case <-t.Context().Done():
			t.Fatalf("%d messages arrived", len(counts))
		}
	}
	for i := range total {
		if counts[i] != channels {
			t.Fatalf("message %d delivered %d times", i, counts[i])
		}
	}
}

// formix-pubsub publishers match by a regular expression that reaches
// more than the documented words ("a.b" reaches "axb"). A Go channel
// delivers only topics its pattern matches, and goes on with the next.
func TestChannelDropsTopicsItsPatternDoesNotMatch(t *testing.T) {
	h, logs := newHome(t)
	ch := newChannel(t, h, "a.b")
	for i, topic := range []string{"axb", "a.b", "a..b"} {
		b, err := wire.Encode(&wire.Message{ID: uint64(i + 1), Topic: topic, Content: []byte(topic)})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ch.Dir(), strconv.Itoa(i+1)), b, 0o644)
	}
	if m := fetch(t, ch); m.Topic != "a.b" {
		t.Fatalf("got topic %q", m.Topic)
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("after the only match: %v", err)
	}
	if files := pendingFiles(t, ch.Dir()); len(files) != 0 {
		t.Fatalf("dropped messages left behind: %v", files)
	}
	if !containsAll(logs.String(), "axb", "a..b", "does not match") {
		t.Fatalf("drops not logged:\n%s", logs)
	}
}

// Once a Go channel's FIFO overflowed into files, newer messages must not
// pass them through the room the subscriber frees in the FIFO.
func TestOrderKeptAcrossOverflow(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "order")
	seq := 0
	publishN := func(n int) {
		for range n {
			publish(t, h, "order", strconv.Itoa(seq), nil)
			seq++
		}
	}
	next := 0
	take := func(n int) {
		for range n {
			m := fetch(t, ch)
			if got := string(m.Content); got != strconv.Itoa(next) {
				t.Fatalf("message %d arrived as %s", next, got)
			}
			next++
		}
	}
	publishN(3000) // more than the FIFO holds: the rest spill into files
	take(100)      // frees room in the FIFO
	publishN(500)  // must queue behind the spilled files
	take(seq - next)
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatal(err)
	}
}

// A file a directory scan took before its publisher could announce it
// (the FIFO was full) frees its id, which another publisher may draw in the
// same 65 ms. The late announcement must not take that other message ahead
// of its own turn: each publisher's order holds.
func TestLateAnnouncementAfterScanKeepsOrder(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "late")
	fillQueue(t, ch)
	p := publisherOn(t, h, true)
	if n, err := p.Publish("late", []byte("P1"), nil); n != 1 || err != nil {
		t.Fatalf("Publish P1 = %d, %v", n, err)
	}
	// The reader drains the junk ids, then finds P1 by listing its directory.
	p1 := fetch(t, ch)
	if string(p1.Content) != "P1" {
		t.Fatalf("got %q, want P1", p1.Content)
	}
	// Another publisher, Q, draws P1's id for its second message.
	x := p1.ID
	writeMessageFile(t, ch, x-1, "Q1")
	writeMessageFile(t, ch, x, "Q2")
	// P's next message announces P1 late, then itself; Q announces its two.
	if n, err := p.Publish("late", []byte("P2"), nil); n != 1 || err != nil {
		t.Fatalf("Publish P2 = %d, %v", n, err)
	}
	writeQueue(t, ch, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, x-1), x))
	got := fetchAll(t, ch)
	if want := []string{"P2", "Q1", "Q2"}; !slices.Equal(got, want) {
		t.Fatalf("after P1: %q, want %q", got, want)
	}
}

// A reader took P1's file by listing, before P announced it late; another
// publisher, Q, then draws P1's id for a file of its own, which it too
// announces late, before its next message. Q's late announcement must take
// Q's file in its turn (its inode tells it from P1's), and P's must skip.
func TestLateAnnouncementOfReusedIDKeepsOrder(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "reuse")
	fillQueue(t, ch)
	p := publisherOn(t, h, true)
	if n, err := p.Publish("reuse", []byte("P1"), nil); n != 1 || err != nil {
		t.Fatalf("Publish P1 = %d, %v", n, err)
	}
	p1 := fetch(t, ch) // the junk ids first, then P1 by listing
	if string(p1.Content) != "P1" {
		t.Fatalf("got %q, want P1", p1.Content)
	}
	x := p1.ID
	writeMessageFile(t, ch, x, "Q1")
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(ch.Dir(), strconv.FormatUint(x, 10)), &st); err != nil {
		t.Fatal(err)
	}
	writeMessageFile(t, ch, x+1, "Q2")
	writeQueue(t, ch, binary.BigEndian.AppendUint64(wire.AppendLate(nil, x, st.Ino), x+1))
	// P's next message announces P1 late, then itself.
	if n, err := p.Publish("reuse", []byte("P2"), nil); n != 1 || err != nil {
		t.Fatalf("Publish P2 = %d, %v", n, err)
	}
	got := fetchAll(t, ch)
	if want := []string{"Q1", "Q2", "P2"}; !slices.Equal(got, want) {
		t.Fatalf("after P1: %q, want %q", got, want)
	}
}

// A file announced on time to a Go channel carries its inode too: a
// reader that took it by listing before its announcement was read must
// not take another publisher's newer file by that id in its place.
func TestFileAnnouncementCarriesInode(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "tagged")
	p := publisherOn(t, h, true)
	id, n, err := p.PublishID("tagged", []byte("a file"), nil)
	if n != 1 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(ch.Dir(), strconv.FormatUint(id, 10)), &st); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(filepath.Join(ch.Dir(), "queue"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 64)
	k, err := unix.Read(fd, buf)
	if err != nil {
		t.Fatal(err)
	}
	r, size, ok := wire.NextRecord(buf[:k])
	if !ok || size != k || r.ID != id || !r.Late || r.Inode != wire.InodeTag(st.Ino) {
		t.Fatalf("the FIFO holds %x: %+v, want id %d with inode tag %d", buf[:k], r, id, wire.InodeTag(st.Ino))
	}
}

// fillQueue fills ch's FIFO with ids that name no file, so that the next
// announcement finds it full.
func fillQueue(t testing.TB, ch *pubsub.Channel) {
	t.Helper()
	fd, err := unix.Open(filepath.Join(ch.Dir(), "queue"), unix.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for id := uint64(1); ; id++ {
		if _, err := unix.Write(fd, binary.BigEndian.AppendUint64(nil, id)); err == unix.EAGAIN {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// A listing of the directory goes stale while the reader works through
// it: a file it names may be taken by its announcement meanwhile, and its
// id drawn again by another publisher. The stale name must not take that
// other message ahead of its turn.
func TestStaleListingKeepsOrder(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "stale")
	fillQueue(t, ch)
	p := publisherOn(t, h, true)
	if n, err := p.Publish("stale", []byte("P1"), nil); n != 1 || err != nil {
		t.Fatalf("Publish P1 = %d, %v", n, err)
	}
	// A stray older than P1, so that a listing names both and the reader
	// takes the stray first.
	writeMessageFile(t, ch, 1<<40, "W")
	if m := fetch(t, ch); string(m.Content) != "W" {
		t.Fatalf("got %q, want the stray W first", m.Content)
	}
	// P announces P1 late, then P2: both taken through the FIFO.
	if n, err := p.Publish("stale", []byte("P2"), nil); n != 1 || err != nil {
		t.Fatalf("Publish P2 = %d, %v", n, err)
	}
	p1 := fetch(t, ch)
	if m := fetch(t, ch); string(p1.Content) != "P1" || string(m.Content) != "P2" {
		t.Fatalf("got %q, %q, want P1, P2", p1.Content, m.Content)
	}
	// Q draws P1's id for its second message; neither is announced yet.
	writeMessageFile(t, ch, p1.ID-1, "Q1")
	writeMessageFile(t, ch, p1.ID, "Q2")
	for _, want := range []string{"Q1", "Q2"} {
		if m := fetch(t, ch); string(m.Content) != want {
			t.Fatalf("got %q, want %s", m.Content, want)
		}
	}
}

// writeMessageFile writes a message file with content into ch, as a
// publisher that has not announced it yet.
func writeMessageFile(t testing.TB, ch *pubsub.Channel, id uint64, content string) {
	t.Helper()
	b, err := wire.Encode(&wire.Message{ID: id, Topic: ch.Topic(), Content: []byte(content)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ch.Dir(), strconv.FormatUint(id, 10)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
