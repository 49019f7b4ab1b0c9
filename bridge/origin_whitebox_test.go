package bridge

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub/internal/engine"
)

// TestLockFile: one lock per home and prefix, naming its holder; a
// symbolic link in its place is refused, not followed.
func TestLockFile(t *testing.T) {
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "tmp"), 0o700); err != nil {
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
	if want := "pid " + strconv.Itoa(os.Getpid()) + " holds " + engine.BridgeLockPath(home, "p"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), want) {
		t.Errorf("second lock: %v; want ErrBusy saying %q", err, want)
	}
	other, err := lockFile(home, "q")
	if err != nil {
		t.Fatalf("another prefix: %v", err)
	}
	other.Close()

	target := filepath.Join(home, "target")
	if err := os.Symlink(target, engine.BridgeLockPath(home, "link")); err != nil {
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
