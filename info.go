package pubsub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// staleStaging is how old a formix-pubsub staging file in tmp/ must be for
// Cleanup to remove it. Its name carries no pid, and a live publisher
// removes it within one publish call.
const staleStaging = 5 * time.Minute

// Runtime tells which implementation a channel looks like it came from.
type Runtime int

const (
	RuntimeUnknown Runtime = iota
	RuntimeGo              // holds a lock file
	RuntimePython          // a FIFO and messages only, as formix-pubsub makes
)

func (r Runtime) String() string {
	switch r {
	case RuntimeGo:
		return "go"
	case RuntimePython:
		return "python"
	}
	return "unknown"
}

// ChannelInfo describes one channel directory in a home.
type ChannelInfo struct {
	Name    string // directory name: {topic}_{random}_{pid}
	Dir     string
	Topic   string
	PID     int
	Live    bool
	Runtime Runtime
	Pending int   // message files waiting
	Bytes   int64 // their size
	// Queued is how many bytes wait in the FIFO of a live Go channel: ids,
	// and small messages sent whole by Go publishers, which are not files.
	// Zero for other channels, whose FIFO is not opened to look.
	Queued  int
	Created time.Time
}

// Channels lists the channel directories of the home, live and dead,
// sorted by name. Entries that are not channels (stray files, symbolic
// links, directories without the pid suffix) are left out.
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
		pattern, pid, ok := parseChannelName(name)
		if !ok {
			continue
		}
		dirFD, err := fsys.OpenDirAt(h.homeFD, name)
		if err != nil {
			continue
		}
		info := ChannelInfo{Name: name, Dir: h.channelPath(name), Topic: pattern, PID: pid, Runtime: RuntimePython}
		var goChan bool
		goChan, info.Live = ownerAlive(dirFD, pid)
		if goChan {
			info.Runtime = RuntimeGo
		}
		if err := unix.Fstatat(dirFD, "queue", new(unix.Stat_t), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			info.Runtime = RuntimeUnknown
		}
		info.Pending, info.Bytes = pendingFiles(dirFD)
		if goChan && info.Live {
			info.Queued = queuedBytes(dirFD)
		}
		info.Created = created(dirFD)
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
	fd, err := unix.Openat(dirFD, "queue", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer fsys.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return 0
	}
	return fsys.Pending(fd)
}

func pendingFiles(dirFD int) (n int, size int64) {
	names, err := fsys.ReadDirNames(dirFD)
	if err != nil {
		return 0, 0
	}
	for _, name := range names {
		if _, err := strconv.ParseUint(name, 10, 64); err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dirFD, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			n++
			size += st.Size
		}
	}
	return n, size
}

// created returns a directory's birth time where the file system keeps
// one, else its change time.
func created(dirFD int) time.Time {
	var stx unix.Statx_t
	if unix.Statx(dirFD, "", unix.AT_EMPTY_PATH, unix.STATX_BTIME|unix.STATX_CTIME, &stx) != nil {
		return time.Time{}
	}
	if stx.Mask&unix.STATX_BTIME != 0 {
		return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec))
	}
	return time.Unix(stx.Ctime.Sec, int64(stx.Ctime.Nsec))
}

func (h *Home) channelPath(name string) string { return filepath.Join(h.dir, name) }

// Cleanup removes what dead processes left in the home: channels whose
// owner is gone (with their unread messages), channels half created or
// half removed in tmp/, and staging files of publishers that died. It
// returns the paths it removed. A Go channel is dead when nobody holds its
// lock; any other channel when its pid does not exist (a pid that belongs
// to another user's process counts as alive).
func (h *Home) Cleanup() ([]string, error) {
	return h.cleanup(false)
}

// CleanupDryRun returns what Cleanup would remove, removing nothing.
func (h *Home) CleanupDryRun() ([]string, error) {
	return h.cleanup(true)
}

func (h *Home) cleanup(dryRun bool) ([]string, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	var removed []string
	var errs []error
	names, err := fsys.ReadDirNames(h.homeFD)
	if err != nil {
		return nil, fmt.Errorf("pubsub: list home: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		if !deadChannel(h.homeFD, name) {
			continue
		}
		removed = append(removed, h.channelPath(name))
		if !dryRun {
			if err := h.reclaim(name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	tmpNames, err := fsys.ReadDirNames(h.tmpFD)
	if err != nil {
		return removed, fmt.Errorf("pubsub: list staging directory: %w", err)
	}
	slices.Sort(tmpNames)
	now := time.Now()
	for _, name := range tmpNames {
		if !staleTmpEntry(h.tmpFD, name, now) {
			continue
		}
		path := filepath.Join(h.dir, "tmp", name)
		removed = append(removed, path)
		if !dryRun {
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(removed) > 0 && !dryRun {
		h.routes.dirty.Store(true)
	}
	return removed, errors.Join(errs...)
}

// deadChannel reports whether the home entry name is a channel directory
// whose owner is gone.
func deadChannel(parentFD int, name string) bool {
	_, pid, ok := parseChannelName(name)
	if !ok {
		return false
	}
	dirFD, err := fsys.OpenDirAt(parentFD, name)
	if err != nil {
		return false // not a directory, a symlink, or not ours
	}
	defer fsys.Close(dirFD)
	_, alive := ownerAlive(dirFD, pid)
	return !alive
}

// staleTmpEntry judges an entry of tmp/.
func staleTmpEntry(tmpFD int, name string, now time.Time) bool {
	switch {
	case strings.HasSuffix(name, ".closing"), strings.HasSuffix(name, ".reclaim"):
		return true // a removal that its remover did not finish
	case strings.HasSuffix(name, ".part"): // .{pid}.{id}.part, our fallback staging
		fields := strings.Split(name, ".")
		if len(fields) != 4 {
			return false
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil {
			return false
		}
		var st unix.Stat_t
		old := unix.Fstatat(tmpFD, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			now.Sub(time.Unix(st.Mtim.Unix())) > staleStaging
		return !fsys.ProcessAlive(pid) || old // old: the pid was reused
	}
	if _, err := strconv.ParseUint(name, 10, 64); err == nil {
		var st unix.Stat_t
		if unix.Fstatat(tmpFD, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			return false
		}
		return now.Sub(time.Unix(st.Mtim.Unix())) > staleStaging
	}
	// A channel being built: its lock may not be taken yet, so the pid
	// must be gone too, or the entry old (the pid reused).
	_, pid, ok := parseChannelName(name)
	if !ok || !deadChannel(tmpFD, name) {
		return false
	}
	var st unix.Stat_t
	old := unix.Fstatat(tmpFD, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		now.Sub(time.Unix(st.Mtim.Unix())) > staleStaging
	return !fsys.ProcessAlive(pid) || old
}

// reclaim removes the channel directory name of a dead owner. It first
// renames it into tmp/, atomically, so no publisher links into a
// directory being emptied.
func (h *Home) reclaim(name string) error {
	gone := filepath.Join(h.dir, "tmp", name+".reclaim")
	if err := os.Rename(h.channelPath(name), gone); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // someone else reclaimed it
		}
		return fmt.Errorf("pubsub: reclaim %s: %w", name, err)
	}
	h.log.Info("pubsub: removed channel of a dead process", "dir", h.channelPath(name))
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("pubsub: reclaim %s: %w", name, err)
	}
	return nil
}

// Channels lists the channels of the [Default] home. See [Home.Channels].
func Channels() ([]ChannelInfo, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.Channels()
}

// Cleanup cleans the [Default] home. See [Home.Cleanup].
func Cleanup() ([]string, error) {
	h, err := Default()
	if err != nil {
		return nil, err
	}
	return h.Cleanup()
}
