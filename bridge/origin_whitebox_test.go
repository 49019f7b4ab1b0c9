package bridge

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayout pins the names of the bridge's files in a home: another
// version of the bridge must find them.
func TestLayout(t *testing.T) {
	if got, want := lockFilePath("/h", "a.b"), "/h/tmp/bridge-a.b.lock"; got != want {
		t.Errorf("lock file %s, want %s", got, want)
	}
	if got, want := seqFilePath("/h", "a.b", "host-1"), "/h/tmp/bridge-a.b-host-1.seq"; got != want {
		t.Errorf("sequence file %s, want %s", got, want)
	}
}

// TestLockFile: one lock per home and prefix, naming its holder; a
// symbolic link in its place is refused, not followed.
func TestLockFile(t *testing.T) {
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, homeTmpDir), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := lockFile(home, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// flock belongs to the open file, so a second open in this process
	// is refused as another process's would be.
	_, err = lockFile(home, "p")
	if want := "pid " + strconv.Itoa(os.Getpid()) + " holds " + lockFilePath(home, "p"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), want) {
		t.Errorf("second lock: %v; want ErrBusy saying %q", err, want)
	}
	other, err := lockFile(home, "q")
	if err != nil {
		t.Fatalf("another prefix: %v", err)
	}
	other.Close()

	target := filepath.Join(home, "target")
	if err := os.Symlink(target, lockFilePath(home, "link")); err != nil {
		t.Fatal(err)
	}
	if l, err := lockFile(home, "link"); err == nil {
		l.Close()
		t.Error("a lock file that is a symbolic link was followed")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}

// TestOrigin: a home's origin stays, and another directory has another.
func TestOrigin(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	oa, err := Origin(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Origin(a)
	ob, _ := Origin(b)
	if len(oa) != 16 || again != oa || ob == oa {
		t.Errorf("origins %q, again %q, of another directory %q", oa, again, ob)
	}
	if _, err := Origin(filepath.Join(a, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("origin of a missing directory: %v, want ErrNotExist", err)
	}
}
