package fsys

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func tmpfsDir(t *testing.T) (string, int) {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "fsys-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	fd, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(fd) })
	return dir, fd
}

func TestEntryCount(t *testing.T) {
	dir, fd := tmpfsDir(t)
	for i, name := range []string{"a", "b", "c"} {
		if n, ok := EntryCount(fd); !ok || n != i {
			t.Fatalf("EntryCount = %d, %v; want %d", n, ok, i)
		}
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	if n, _ := EntryCount(fd); n != 3 {
		t.Fatalf("EntryCount = %d, want 3", n)
	}
}

func TestLockHeld(t *testing.T) {
	_, fd := tmpfsDir(t)
	if _, ok := LockHeld(fd, "lock"); ok {
		t.Fatal("LockHeld on a missing file says it can tell")
	}
	l, err := Lock(fd, "lock", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if held, ok := LockHeld(fd, "lock"); !held || !ok {
		t.Fatalf("LockHeld while locked = %v, %v", held, ok)
	}
	if _, err := Lock(fd, "lock", 0o644); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("second Lock: %v, want EWOULDBLOCK", err)
	}
	Close(l)
	if held, ok := LockHeld(fd, "lock"); held || !ok {
		t.Fatalf("LockHeld after release = %v, %v", held, ok)
	}
}

func TestUnnamedFileLinksWhole(t *testing.T) {
	dir, fd := tmpfsDir(t)
	f, err := CreateUnnamed(fd, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(f)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("unnamed file visible: %v", entries)
	}
	if err := WriteAll(f, []byte("hello "), nil, []byte("world")); err != nil {
		t.Fatal(err)
	}
	if err := LinkFD(f, fd, "named"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "named")); string(b) != "hello world" {
		t.Fatalf("linked file holds %q", b)
	}
}

func TestFIFOEnds(t *testing.T) {
	_, fd := tmpfsDir(t)
	if err := Mkfifo(fd, "queue", 0o660); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFIFOWriter(fd, "queue"); !errors.Is(err, unix.ENXIO) {
		t.Fatalf("writer without reader: %v, want ENXIO", err)
	}
	_, w := openFIFOEnds(t, fd, "queue")
	if err := WriteID(w, []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	if n := Pending(w); n != 8 {
		t.Fatalf("Pending = %d, want 8", n)
	}
	if err := unix.Mknodat(fd, "file", unix.S_IFREG|0o644, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFIFOWriter(fd, "file"); !errors.Is(err, ErrNotFIFO) {
		t.Fatalf("writer on a regular file: %v, want ErrNotFIFO", err)
	}
}

// openFIFOEnds opens the reader, then a writer, of the FIFO name in the
// directory fd, closed when the test ends.
func openFIFOEnds(t *testing.T, fd int, name string) (r *os.File, w int) {
	t.Helper()
	r, keep, err := OpenFIFOReader(fd, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); Close(keep) })
	if w, err = OpenFIFOWriter(fd, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(w) })
	return r, w
}

func TestProcessAlive(t *testing.T) {
	if !ProcessAlive(os.Getpid()) || ProcessAlive(0) || ProcessAlive(-1) {
		t.Fatal("ProcessAlive is wrong about ourselves or invalid pids")
	}
}

func TestWaitWritable(t *testing.T) {
	_, fd := tmpfsDir(t)
	if err := Mkfifo(fd, "queue", 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := openFIFOEnds(t, fd, "queue")
	if !WaitWritable(w, time.Millisecond) {
		t.Fatal("an empty FIFO has no room")
	}
	rec := make([]byte, 512)
	for WriteID(w, rec) == nil {
	}
	if WaitWritable(w, time.Millisecond) {
		t.Fatal("a full FIFO has room")
	}
	if _, err := r.Read(make([]byte, 1<<16)); err != nil {
		t.Fatal(err)
	}
	if !WaitWritable(w, time.Second) {
		t.Fatal("no room after the reader drained the FIFO")
	}
}
