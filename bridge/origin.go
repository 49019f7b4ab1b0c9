package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pubsub-go/pubsub/internal/engine"
	"github.com/pubsub-go/pubsub/internal/fsys"
)

// Origin returns the identity of the home in dir as bridges know it: a
// hash of the machine's boot id (/proc/sys/kernel/random/boot_id on
// Linux, the host name elsewhere) and the device and inode of the
// directory. Two homes on one machine differ, and so do two containers
// that use the same path on different file systems; a home keeps its
// origin until the machine reboots or the directory is made anew, which
// empties it anyway. On a system other than Unix it fails.
func Origin(dir string) (string, error) {
	boot, err := fsys.BootID()
	if err != nil {
		// Without /proc, the host name stands in for the machine.
		host, herr := os.Hostname()
		if herr != nil {
			return "", fmt.Errorf("origin of %s: %w", dir, err)
		}
		boot = []byte(host)
	}
	st, err := fsys.StatPath(dir)
	if err != nil {
		return "", fmt.Errorf("origin of %s: %w", dir, err)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", strings.TrimSpace(string(boot)), st.Dev, st.Ino))
	return hex.EncodeToString(sum[:8]), nil
}

// ErrBusy is wrapped by the error Run returns when another bridge already
// bridges the home with the same prefix.
var ErrBusy = errors.New("another bridge already runs on this home and prefix")

// lockFile takes the lock that lets one bridge per home and prefix run:
// an flock on HOME/tmp/bridge-PREFIX.lock, which names the pid of its
// holder. Two bridges exporting the same messages would publish each
// twice. The kernel drops the lock when the process dies.
func lockFile(homeDir, prefix string) (*os.File, error) {
	path := engine.BridgeLockPath(homeDir, prefix)
	f, err := fsys.OpenNoFollow(path, 0o644)
	if err != nil {
		return nil, err
	}
	busy, err := fsys.TryLock(f)
	if busy || err != nil {
		defer f.Close()
		if err != nil {
			return nil, err
		}
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		holder := strings.TrimSpace(string(b[:n]))
		if _, perr := strconv.Atoi(holder); perr != nil {
			holder = "unknown"
		}
		return nil, fmt.Errorf("%w: pid %s holds %s", ErrBusy, holder, path)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// seqFile remembers, in HOME/tmp, the stream sequence of the last message
// a JetStream importer published into the home, with the creation time of
// its consumer, so that a message the server delivers again (its ack was
// lost in a restart) is not published twice. tmpfs makes the write cheap,
// and the file lives as long as the home's messages do.
type seqFile struct {
	f       *os.File
	created int64 // the consumer's creation time, in nanoseconds
	last    uint64
	buf     [16]byte
}

func openSeqFile(homeDir, prefix, durable string, consumerCreated int64) (*seqFile, error) {
	f, err := fsys.OpenNoFollow(engine.BridgeSeqPath(homeDir, prefix, durable), 0o644)
	if err != nil {
		return nil, err
	}
	s := &seqFile{f: f, created: consumerCreated}
	var b [16]byte
	if n, _ := f.ReadAt(b[:], 0); n == 16 {
		created := int64(be64(b[:8]))
		if created == consumerCreated {
			s.last = be64(b[8:])
		}
	}
	return s, nil
}

func (s *seqFile) store(seq uint64) error {
	s.last = seq
	put64(s.buf[:8], uint64(s.created))
	put64(s.buf[8:], seq)
	_, err := s.f.WriteAt(s.buf[:], 0)
	return err
}

func (s *seqFile) Close() error { return s.f.Close() }

func be64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

func put64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
