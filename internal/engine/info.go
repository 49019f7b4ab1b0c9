package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// ChannelInfo describes one channel directory in a home; the root package
// documents each field.
type ChannelInfo struct {
	Name    string
	Dir     string
	Topic   string
	PID     int
	Live    bool
	Go      bool // holds a lock file
	HasFIFO bool // has a FIFO named queue
	Pending int
	Bytes   int64
	Queued  int
	Created time.Time
}

// Channels lists the channel directories of the home, live and dead,
// sorted by name. Entries that are not channels are left out.
func (h *Home) Channels() ([]ChannelInfo, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	names, err := fsys.ReadDirNames(h.homeFD)
	if err != nil {
		return nil, fmt.Errorf("pubsub: list home: %w", err)
	}
	slices.Sort(names)
	var out []ChannelInfo
	for _, name := range names {
		pattern, pid, ok := ParseChannelName(name)
		if !ok {
			continue
		}
		if _, _, intake := parseIntakeName(name); intake {
			continue // part of a queue: see Queues
		}
		dirFD, err := fsys.OpenDirAt(h.homeFD, name)
		if fsys.OutOfResources(err) {
			return nil, fmt.Errorf("pubsub: look at channel %s: %w", h.channelPath(name), err)
		}
		if err != nil {
			continue // not a directory, a symlink, or not ours
		}
		info := ChannelInfo{Name: name, Dir: h.channelPath(name), Topic: pattern, PID: pid}
		var err2 error
		if info.Go, info.Live, err2 = channelOwner(dirFD, pid); err2 != nil {
			fsys.Close(dirFD)
			return nil, fmt.Errorf("pubsub: look at channel %s: %w", info.Dir, err2)
		}
		_, err = fsys.Fstatat(dirFD, QueueName)
		info.HasFIFO = err == nil
		info.Pending, info.Bytes = pendingFiles(dirFD)
		if info.Go && info.Live {
			info.Queued = queuedBytes(dirFD)
		}
		info.Created = fsys.Created(dirFD)
		fsys.Close(dirFD)
		out = append(out, info)
	}
	return out, nil
}

// queuedBytes counts the bytes in a live Go channel's FIFO. Opening its
// read end for a moment takes nothing from it: the owner holds both ends
// for its lifetime. (A formix-pubsub channel not opened yet would, for
// that moment, accept ids it then loses: its FIFO is left alone.)
func queuedBytes(dirFD int) int {
	fd, err := fsys.OpenFIFOPeek(dirFD, QueueName)
	if err != nil {
		return 0
	}
	defer fsys.Close(fd)
	return fsys.Pending(fd)
}

// pendingFiles counts the message files in a channel and their bytes.
func pendingFiles(dirFD int) (n int, size int64) {
	names, err := fsys.ReadDirNames(dirFD)
	if err != nil {
		return 0, 0
	}
	for _, name := range names {
		if _, ok := parseMessageName(name); !ok {
			continue
		}
		if st, err := fsys.Fstatat(dirFD, name); err == nil && st.IsRegular() {
			n++
			size += st.Size
		}
	}
	return n, size
}
