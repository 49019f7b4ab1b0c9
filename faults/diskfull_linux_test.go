package faults_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/faults/numbered"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// smallTmpfs mounts a tmpfs of size bytes for the test.
func smallTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		proctest.SkipOutsideCI(t, "cannot mount a tmpfs (needs root): "+err.Error())
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// A home on a tmpfs that fills up: Publish fails with ENOSPC, no channel
// ever holds a partial message, the messages before are intact, nothing
// is left in staging, and publishing works again once space is freed.
// With one channel the message is staged with no name (O_TMPFILE), with
// two under a staging name.
func TestDiskFull(t *testing.T) {
	for _, channels := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d channels", channels), func(t *testing.T) {
			mnt := smallTmpfs(t, 1<<20)
			// Files only: inline messages wait in the FIFO, not on the disk.
			h, err := pubsub.Open(filepath.Join(mnt, "home"), pubsub.WithFilesOnly())
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var chs []*pubsub.Channel
			for _, pattern := range []string{"full.disk", "full.+"}[:channels] {
				ch, err := h.NewChannel(pattern)
				if err != nil {
					t.Fatal(err)
				}
				defer ch.Close()
				chs = append(chs, ch)
			}

			const size = 100_000
			var ok uint64
			var pubErr error
			for seq := uint64(0); seq < 100; seq++ {
				n, err := h.Publish("full.disk", numbered.Content(1, seq, size), numbered.Headers(1, seq))
				if err != nil {
					pubErr = err
					break
				}
				if n != channels {
					t.Fatalf("message %d reached %d channels, want %d", seq, n, channels)
				}
				ok++
			}
			if !errors.Is(pubErr, syscall.ENOSPC) {
				t.Fatalf("after %d messages of %d bytes on a 1 MiB tmpfs: %v; want ENOSPC", ok, size, pubErr)
			}
			if ok == 0 {
				t.Fatal("not one message fitted")
			}
			t.Logf("%d messages fitted; then: %v", ok, pubErr)
			if left, _ := os.ReadDir(filepath.Join(mnt, "home", "tmp")); len(left) != 0 {
				t.Errorf("staging holds %v after the failure", names(left))
			}

			// Everything before the failure is whole; the failed one is
			// nowhere. Taking the messages frees the space.
			for _, ch := range chs {
				tally := numbered.NewTally()
				for {
					m, err := ch.Fetch()
					if errors.Is(err, pubsub.ErrNoMessage) {
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", ch.Topic(), err)
					}
					tally.Add(m)
				}
				if tally.Received != int(ok) || tally.Dup+tally.Corrupt+tally.Disorder != 0 {
					t.Errorf("%s got %+v, want the %d messages published, whole and in order", ch.Topic(), tally, ok)
				}
			}

			n, err := h.Publish("full.disk", numbered.Content(1, ok, size), numbered.Headers(1, ok))
			if err != nil || n != channels {
				t.Fatalf("publish once space is free: %d, %v", n, err)
			}
			for _, ch := range chs {
				m, err := ch.Fetch()
				if err != nil {
					t.Fatal(err)
				}
				if _, seq, err := numbered.Check(m); err != nil || seq != ok {
					t.Errorf("%s after the space came back: seq %d, %v", ch.Topic(), seq, err)
				}
			}
		})
	}
}

// A channel cannot be moved from a tmp/ that is another file system into
// the home: NewChannel fails, and its error says from where to where.
func TestChannelAcrossFileSystems(t *testing.T) {
	home := t.TempDir()
	tmp := filepath.Join(home, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", tmp, "tmpfs", 0, "mode=0700"); err != nil {
		proctest.SkipOutsideCI(t, "cannot mount a tmpfs (needs root): "+err.Error())
	}
	defer unix.Unmount(tmp, unix.MNT_DETACH)
	h, err := pubsub.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.NewChannel("x"); err == nil || !strings.Contains(err.Error(), tmp+"/x_") || !strings.Contains(err.Error(), home+"/x_") {
		t.Fatalf("NewChannel across file systems: %v; want both paths named", err)
	}
}

// A queue on a tmpfs that fills up: Publish fails with ENOSPC, and every
// message that entered the queue before reaches a worker whole, once; the
// counts of the bounds do not keep the failed one; and the queue takes
// messages again once its worker took the others.
func TestQueueDiskFull(t *testing.T) {
	mnt := smallTmpfs(t, 1<<20)
	h, err := pubsub.Open(filepath.Join(mnt, "home"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.CreateQueue("jobs", "full.disk"); err != nil {
		t.Fatal(err)
	}
	const size = 100_000
	var ok uint64
	var pubErr error
	for seq := uint64(0); seq < 100; seq++ {
		n, err := h.Publish("full.disk", numbered.Content(1, seq, size), numbered.Headers(1, seq))
		if err != nil {
			pubErr = err
			break
		}
		if n != 1 {
			t.Fatalf("message %d reached %d, want the queue", seq, n)
		}
		ok++
	}
	if !errors.Is(pubErr, syscall.ENOSPC) || ok == 0 {
		t.Fatalf("after %d messages of %d bytes on a 1 MiB tmpfs: %v; want some, then ENOSPC", ok, size, pubErr)
	}
	q, err := h.NewQueue("jobs", "full.disk")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	infos, _ := h.Queues()
	if infos[0].Messages != int64(ok) {
		t.Fatalf("the queue counts %d messages; %d entered", infos[0].Messages, ok)
	}
	tally := numbered.NewTally()
	for {
		m, err := q.Fetch()
		if errors.Is(err, pubsub.ErrNoMessage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tally.Add(m)
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if tally.Received != int(ok) || tally.Dup+tally.Corrupt+tally.Disorder != 0 {
		t.Errorf("the worker got %+v, want the %d messages that entered, whole and in order", tally, ok)
	}
	if n, err := h.Publish("full.disk", numbered.Content(1, ok, size), numbered.Headers(1, ok)); n != 1 || err != nil {
		t.Fatalf("publish once space is free: %d, %v", n, err)
	}
}
