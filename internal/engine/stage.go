package engine

import (
	"fmt"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// staged is a complete message file that no channel can see yet.
type staged struct {
	h    *Home
	fd   int
	name string // set when the file is staged under a name in tmp/
	id   uint64
	size int64  // the file's size
	ino  uint64 // its inode number, once inode was asked
}

// inode returns the staged file's inode number, which every link of it
// shares (0 if it cannot be had): a late announcement carries it.
func (s *staged) inode() uint64 {
	if s.ino == 0 {
		if st, err := fsys.Fstat(s.fd); err == nil {
			s.ino = st.Ino
		}
	}
	return s.ino
}

// stagePrefix writes the encoded message (prefix, then content) into a
// file no channel can see yet. Unless named, it has no name at all where
// the system allows (O_TMPFILE, on Linux), so a crash leaves nothing
// behind. A file for several channels is named in HOME/tmp, with a name
// formix-pubsub never uses: a file with no name can only be linked while
// it never had one, and the first channel's subscriber may unlink its copy
// before the last channel is linked.
func (h *Home) stagePrefix(prefix, content []byte, id uint64, named bool) (*staged, error) {
	s := &staged{h: h, fd: -1, id: id, size: int64(len(prefix) + len(content))}
	fd := -1
	var err error
	if !named {
		fd, err = fsys.CreateUnnamed(h.tmpFD, h.access.fileMode)
		named = fsys.NoTmpfile(err)
	}
	if named {
		s.name = stagingName(id)
		fd, err = fsys.CreateExcl(h.tmpFD, s.name, h.access.fileMode)
	}
	if err != nil {
		return nil, h.stageError(len(prefix)+len(content), err)
	}
	s.fd = fd
	if h.access.shared {
		// The umask may have taken the group's bits away.
		if err := fsys.Fchmod(fd, h.access.fileMode); err != nil {
			s.discard()
			return nil, h.stageError(len(prefix)+len(content), err)
		}
	}
	if err := fsys.WriteAll(fd, prefix, content); err != nil {
		s.discard()
		return nil, h.stageError(len(prefix)+len(content), err)
	}
	return s, nil
}

// stageError says where staging a message of size bytes failed, and what
// to do when the file system is full (ENOSPC on create or on write).
func (h *Home) stageError(size int, err error) error {
	dir := h.tmpPath("")
	if fsys.NoSpace(err) {
		return fmt.Errorf("pubsub: stage a message of %d bytes in %s: %w (the home's file system is full: subscribers must take their messages, or the file system needs more room)", size, dir, err)
	}
	return fmt.Errorf("pubsub: stage message in %s: %w", dir, err)
}

// link gives the staged file the name name in the channel directory dirFD.
func (s *staged) link(dirFD int, name string) error {
	if s.name != "" {
		return fsys.Linkat(s.h.tmpFD, s.name, dirFD, name)
	}
	return fsys.LinkFD(s.fd, dirFD, name)
}

// discard drops the staged file: its name in tmp/, and the descriptor.
// What was linked into channels stays there.
func (s *staged) discard() {
	if s.name != "" {
		_ = fsys.Unlinkat(s.h.tmpFD, s.name)
	}
	fsys.Close(s.fd)
}
