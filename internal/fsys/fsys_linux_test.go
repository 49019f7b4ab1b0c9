//go:build !pubsub_portable

package fsys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEntryCount(t *testing.T) {
	dir, fd := testDir(t)
	if !IsTmpfs(fd) {
		t.Fatalf("%s is not on tmpfs", dir)
	}
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

func TestUnnamedFilesOnLinux(t *testing.T) {
	_, fd := testDir(t)
	f, err := CreateUnnamed(fd, 0o600)
	if err != nil {
		t.Fatalf("no O_TMPFILE on tmpfs: %v", err)
	}
	Close(f)
}
