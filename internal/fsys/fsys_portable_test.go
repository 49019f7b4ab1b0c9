//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && pubsub_portable)

package fsys

import (
	"os"
	"path/filepath"
	"testing"
)

// Mkfifo works by path here: a directory renamed away under it (its name
// now another directory) makes it fail, not make a FIFO elsewhere for a
// caller holding the first directory open.
func TestMkfifoByPathSwapped(t *testing.T) {
	dir, fd := testDir(t)
	if err := Mkdirat(fd, "ch", 0o700); err != nil {
		t.Fatal(err)
	}
	ch, err := OpenDirAt(fd, "ch")
	if err != nil {
		t.Fatal(err)
	}
	defer Close(ch)
	if err := os.Rename(filepath.Join(dir, "ch"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "ch"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Mkfifo(ch, filepath.Join(dir, "ch"), "queue", 0o600); err == nil {
		t.Fatal("Mkfifo made a FIFO in a directory other than the one open")
	}
}

func TestNoUnnamedFiles(t *testing.T) {
	_, fd := testDir(t)
	if _, err := CreateUnnamed(fd, 0o600); !NoTmpfile(err) {
		t.Fatalf("CreateUnnamed: %v, want an error NoTmpfile recognises", err)
	}
	if IsTmpfs(fd) {
		t.Fatal("IsTmpfs is true in the portable backend")
	}
}
