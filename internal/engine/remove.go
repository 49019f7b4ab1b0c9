package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// removeChannel is the one way a channel directory leaves a home: by its
// owner's Close, by the cleanup of a Channel garbage collected without
// Close, or because its owner is dead (ownerDead). It works on paths, not
// on the home's descriptors, which a Home closed meanwhile no longer has.
//
// The directory is first renamed into tmp/, atomically, so no publisher
// links into a directory being emptied; a publisher that had it open
// before may still link one last file into it, so emptying is tried again
// while the directory is not empty. If the rename fails with the
// directory still there (tmp/ is missing), it is removed in place.
// removed is false when it was gone already: someone else removed it.
func removeChannel(home, name string, ownerDead bool) (removed bool, err error) {
	dir := filepath.Join(home, name)
	gone := filepath.Join(home, TmpDir, removingName(name, ownerDead))
	if err := os.Rename(dir, gone); err != nil {
		if _, serr := os.Lstat(dir); errors.Is(serr, fs.ErrNotExist) {
			return false, nil
		}
		gone = dir
	}
	err = os.RemoveAll(gone)
	for i := 0; i < 10 && errors.Is(err, fsys.ErrNotEmpty); i++ {
		err = os.RemoveAll(gone)
	}
	if err != nil {
		return true, fmt.Errorf("pubsub: remove channel %s: %w", dir, err)
	}
	return true, nil
}

// reclaim removes the channel directory name, whose owner is dead.
func (h *Home) reclaim(name string) error {
	removed, err := removeChannel(h.dir, name, true)
	if removed && err == nil {
		h.log.Info("pubsub: removed channel of a dead process", "dir", h.channelPath(name))
	}
	return err
}
