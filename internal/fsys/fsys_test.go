//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package fsys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testDir makes a directory for one test, on tmpfs where there is one, and
// opens it.
func testDir(t *testing.T) (string, int) {
	t.Helper()
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "fsys-test-")
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

func TestLockHeld(t *testing.T) {
	_, fd := testDir(t)
	if _, known, err := LockHeld(fd, "lock"); known || err != nil {
		t.Fatalf("LockHeld on a missing file says it can tell: %v, %v", known, err)
	}
	l, err := Lock(fd, "lock", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if held, known, err := LockHeld(fd, "lock"); !held || !known || err != nil {
		t.Fatalf("LockHeld while locked = %v, %v, %v", held, known, err)
	}
	if _, err := Lock(fd, "lock", 0o644); err == nil {
		t.Fatal("a second Lock succeeded while the first is held")
	}
	Close(l)
	if held, known, err := LockHeld(fd, "lock"); held || !known || err != nil {
		t.Fatalf("LockHeld after release = %v, %v, %v", held, known, err)
	}
}

func TestFIFOEnds(t *testing.T) {
	dir, fd := testDir(t)
	if err := Mkfifo(fd, dir, "queue", 0o660); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFIFOWriter(fd, "queue"); !errors.Is(err, ErrNoReader) {
		t.Fatalf("writer without reader: %v, want ErrNoReader", err)
	}
	_, w := openFIFOEnds(t, fd, "queue")
	if err := WriteRecord(w, []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	if n := Pending(w); n != 8 {
		t.Fatalf("Pending = %d, want 8", n)
	}
	peek, err := OpenFIFOPeek(fd, "queue")
	if err != nil {
		t.Fatal(err)
	}
	if n := Pending(peek); n != 8 {
		t.Fatalf("Pending through a peek = %d, want 8", n)
	}
	Close(peek)
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
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
	dir, fd := testDir(t)
	if err := Mkfifo(fd, dir, "queue", 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := openFIFOEnds(t, fd, "queue")
	if !WaitWritable(w, time.Millisecond) {
		t.Fatal("an empty FIFO has no room")
	}
	rec := make([]byte, PipeBuf)
	for WriteRecord(w, rec) == nil {
	}
	if WaitWritable(w, time.Millisecond) {
		t.Fatal("a full FIFO has room")
	}
	if _, err := r.Read(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if !WaitWritable(w, time.Second) {
		t.Fatal("no room after the reader drained the FIFO")
	}
}

// A staged file, named or not, shows whole under its new name.
func TestStagingLinksWhole(t *testing.T) {
	dir, fd := testDir(t)
	f, err := CreateUnnamed(fd, 0o644)
	named := ""
	if NoTmpfile(err) {
		named = "staged"
		f, err = CreateExcl(fd, named, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer Close(f)
	if entries, _ := os.ReadDir(dir); named == "" && len(entries) != 0 {
		t.Fatalf("unnamed file visible: %v", entries)
	}
	if err := WriteAll(f, []byte("hello "), nil, []byte("world")); err != nil {
		t.Fatal(err)
	}
	if named == "" {
		err = LinkFD(f, fd, "linked")
	} else {
		err = Linkat(fd, named, fd, "linked")
	}
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "linked")); string(b) != "hello world" {
		t.Fatalf("linked file holds %q", b)
	}
	if named != "" {
		if _, err := CreateExcl(fd, named, 0o644); !errors.Is(err, ErrExist) {
			t.Fatalf("CreateExcl on a taken name: %v, want ErrExist", err)
		}
	}
}

func TestRenameNoReplace(t *testing.T) {
	dir, fd := testDir(t)
	for _, d := range []string{"a", "b"} {
		if err := Mkdirat(fd, d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := RenameNoReplace(fd, "a", fd, "b"); !errors.Is(err, ErrExist) {
		t.Fatalf("rename over an empty directory: %v, want ErrExist", err)
	}
	if err := RenameNoReplace(fd, "a", fd, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
}

func TestStat(t *testing.T) {
	dir, fd := testDir(t)
	if err := os.Symlink("nowhere", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	st, err := Fstatat(fd, "link")
	if err != nil || !st.IsSymlink() {
		t.Fatalf("Fstatat of a symbolic link: %+v, %v", st, err)
	}
	if _, err := Fstatat(fd, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Fstatat of nothing: %v", err)
	}
	if _, err := OpenDirAt(fd, "link"); !errors.Is(err, ErrLoop) && !errors.Is(err, ErrNotDir) {
		t.Fatalf("OpenDirAt followed a symbolic link: %v", err)
	}
	st, err = Fstat(fd)
	if err != nil || !st.IsDir() || st.Uid != uint32(os.Geteuid()) {
		t.Fatalf("Fstat of the test directory: %+v, %v", st, err)
	}
}
