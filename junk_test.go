package pubsub_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// Junk in the home never stops publishing, listing or cleaning.
func TestJunkInHome(t *testing.T) {
	h, _ := newHome(t)
	pid := strconv.Itoa(os.Getpid())
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(h.Dir(), "a_b_notanumber"), 0o755))
	must(os.Mkdir(filepath.Join(h.Dir(), "j_x_-5"), 0o755))
	must(os.Mkdir(filepath.Join(h.Dir(), "j_x_+5"), 0o755))
	must(os.Mkdir(filepath.Join(h.Dir(), "j_noqueue_"+pid), 0o755)) // a channel without queue
	must(os.WriteFile(filepath.Join(h.Dir(), "j_file_"+pid), []byte("not a dir"), 0o644))
	must(os.WriteFile(filepath.Join(h.Dir(), "stray"), nil, 0o644))
	must(os.Mkdir(filepath.Join(h.Dir(), "j_unreadable_"+pid), 0o000))
	must(os.Symlink(outside, filepath.Join(h.Dir(), "j_link_"+pid)))
	must(os.Mkdir(filepath.Join(outside, "queue"), 0o755))
	bad := filepath.Join(h.Dir(), "j_badqueue_"+pid)
	must(os.Mkdir(bad, 0o755))
	must(os.WriteFile(filepath.Join(bad, "queue"), nil, 0o644)) // not a FIFO

	ch := newChannel(t, h, "j")
	n, err := h.Publish("j", []byte("through the junk"), nil)
	if err != nil || n != 1 {
		t.Fatalf("Publish = %d, %v; want 1 channel reached", n, err)
	}
	if m := fetch(t, ch); string(m.Content) != "through the junk" {
		t.Fatalf("got %q", m.Content)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Fatalf("something was written through the symlink: %v", entries)
	}
	if files := pendingFiles(t, filepath.Join(h.Dir(), "j_noqueue_"+pid)); len(files) != 0 {
		t.Fatalf("message left in a directory without queue: %v", files)
	}
	if files := pendingFiles(t, bad); len(files) != 0 {
		t.Fatalf("message left in a directory whose queue is no FIFO: %v", files)
	}
	infos, err := h.Channels()
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Name == "a_b_notanumber" || info.Name == "stray" || info.Name == "j_link_"+pid {
			t.Errorf("listed as a channel: %+v", info)
		}
	}
	if _, err := h.Cleanup(); err != nil {
		t.Fatalf("Cleanup with junk: %v", err)
	}
}

// A corrupt, truncated, symlinked or non-regular message file is an error
// for that message alone; the next one is delivered.
func TestBadMessageFiles(t *testing.T) {
	h, logs := newHome(t)
	ch := newChannel(t, h, "bad")
	good, err := wire.Encode(&wire.Message{ID: 9, Topic: "bad", Content: []byte("good")})
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(target, good, 0o644)
	write := func(id int, b []byte) {
		os.WriteFile(filepath.Join(ch.Dir(), strconv.Itoa(id)), b, 0o644)
	}
	write(1, []byte("junk junk junk junk junk junk junk"))
	write(2, good[:len(good)-2])
	bigLen := append([]byte(nil), good...)
	copy(bigLen[21:25], []byte{0xff, 0xff, 0xff, 0xff}) // topic length past the end
	write(3, bigLen)
	os.Symlink(target, filepath.Join(ch.Dir(), "4"))
	unix.Mkfifo(filepath.Join(ch.Dir(), "5"), 0o644)
	write(6, good)

	wants := []error{pubsub.ErrBadMagic, pubsub.ErrTruncated, pubsub.ErrTruncated, pubsub.ErrNotRegular, pubsub.ErrNotRegular}
	for i, want := range wants {
		m, err := ch.Fetch()
		var me *pubsub.MessageError
		if !errors.As(err, &me) || !errors.Is(err, want) || me.ID != uint64(i+1) {
			t.Fatalf("file %d: got %v, %v; want a MessageError wrapping %v", i+1, m, err, want)
		}
		if _, err := os.Lstat(filepath.Join(ch.Dir(), strconv.Itoa(i+1)+".bad")); err != nil {
			t.Errorf("file %d not set aside: %v", i+1, err)
		}
	}
	if m := fetch(t, ch); string(m.Content) != "good" {
		t.Fatalf("got %q after the bad ones", m.Content)
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("bad files delivered again: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != string(good) {
		t.Fatal("symlink target was modified")
	}
	if !containsAll(logs.String(), "bad message set aside") {
		t.Fatalf("bad messages not logged:\n%s", logs)
	}
}

// A junk file that claims gigabytes (sparse, so it costs no memory on
// tmpfs) costs the subscriber only its first bytes.
func TestHugeJunkFileIsNotRead(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "huge")
	path := filepath.Join(ch.Dir(), "7")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ch.Fetch()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, pubsub.ErrBadMagic) {
		t.Fatalf("Fetch: %v, want ErrBadMagic", err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Fatalf("refusing a 3 GiB junk file allocated %d bytes", grown)
	}
}

// A reader parked in Next lists its directory now and then, so it finds a
// message file that no id announced even when the directory's entry count
// cannot tell (here a junk name becomes a message: the count is unchanged).
func TestParkedNextFindsUnannouncedFile(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "orphan")
	b, err := wire.Encode(&wire.Message{ID: 5, Topic: "orphan", Content: []byte("no id came")})
	if err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(ch.Dir(), "not-a-message")
	os.WriteFile(junk, b, 0o644)
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) { // lists the junk
		t.Fatal(err)
	}
	if err := os.Rename(junk, filepath.Join(ch.Dir(), "5")); err != nil {
		t.Fatal(err)
	}
	m, err := ch.Next(t.Context())
	if err != nil || string(m.Content) != "no id came" {
		t.Fatalf("Next = %v, %v", m, err)
	}
}

// A name in a channel that can never be opened as a message (a socket;
// on FreeBSD a symbolic link fails this way too) is set aside once, and
// the messages after it come.
func TestUnopenableMessageNameIsSetAside(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "w")
	l, err := net.Listen("unix", filepath.Join(ch.Dir(), "100"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	publish(t, h, "w", "after", nil)
	var errs []error
	for range 5 {
		m, err := ch.Fetch()
		if err == nil && string(m.Content) == "after" {
			return
		}
		if errors.Is(err, pubsub.ErrNoMessage) {
			break
		}
		errs = append(errs, err)
	}
	t.Fatalf("the message after an unopenable name never came; errors: %v", errs)
}
