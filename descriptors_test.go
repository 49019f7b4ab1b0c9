package pubsub_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// plantChannels makes n formix-pubsub channel directories on topics
// other.0, other.1, ..., owned by this (live) process, with their FIFOs,
// as a home full of subscribers on other topics looks to a publisher.
func plantChannels(t *testing.T, home string, n int) {
	t.Helper()
	for i := range n {
		dir := filepath.Join(home, fmt.Sprintf("other.%d_abcdefghijkl_%d", i, os.Getpid()))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, "queue"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// withLimit runs the helper with at most nofile descriptors, as
// ( ulimit -n N; cmd ) does in a shell. The helper is built without the
// race detector, whose runtime starts slowly and holds descriptors of
// its own.
func withLimit(t *testing.T, nofile int, args ...string) []string {
	t.Helper()
	bin := proctest.BuildFast(t, "github.com/pubsub-go/pubsub/internal/proctest/helper")
	return append([]string{"-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(nofile), bin}, args...)
}

// A publisher short of descriptors never reads a live matching channel as
// no channel: it reaches it, or says why not. Each run leaves the
// publisher fewer descriptors, down to none; the subscriber then holds
// exactly the messages reported delivered.
func TestPublishShortOfDescriptors(t *testing.T) {
	h, _ := newHome(t)
	plantChannels(t, h.Dir(), 100)
	ch := newChannel(t, h, "target")
	delivered := 0
	for free := 12; free >= 0; free-- {
		p := proctest.Start(t, nil, "/bin/sh", withLimit(t, 256, "pubfree", h.Dir(), "target", strconv.Itoa(free))...)
		fields := strings.SplitN(p.WaitFor("result "), " ", 2)
		p.Wait()
		switch {
		case fields[0] == "1" && fields[1] == "nil":
			delivered++
		case fields[0] == "0" && fields[1] == "nil":
			t.Fatalf("with %d descriptors free, Publish reached no channel and said nothing: a live channel matched", free)
		case fields[1] == "nil":
			t.Fatalf("with %d descriptors free, Publish reached %s channels, and one matched", free, fields[0])
		default:
			t.Logf("with %d descriptors free: reached %s, %s", free, fields[0], fields[1])
		}
	}
	if delivered == 0 {
		t.Fatal("no run delivered: even 12 free descriptors were too few")
	}
	for i := range delivered {
		if m, err := ch.Fetch(); err != nil {
			t.Fatalf("message %d of the %d reported delivered: %v", i, delivered, err)
		} else if string(m.Content) != "short of descriptors" {
			t.Fatalf("message %d: %q", i, m.Content)
		}
	}
	if m, err := ch.Fetch(); err != pubsub.ErrNoMessage {
		t.Fatalf("a message that Publish reported undelivered arrived: %v, %v", m, err)
	}
}

// A publisher's descriptors grow with its work, not with the home: in a
// home of 10,000 channels it publishes with a limit of 256 descriptors to
// the 300 channels of its topic, every one of them.
func TestPublishInAHomeOfTenThousandChannels(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 channel directories")
	}
	h, _ := newHome(t)
	plantChannels(t, h.Dir(), 10_000)
	chans := make([]*pubsub.Channel, 300)
	for i := range chans {
		chans[i] = newChannel(t, h, "target")
	}
	p := proctest.Start(t, nil, "/bin/sh", withLimit(t, 256, "pub", h.Dir(), "target", "5", "64")...)
	if got, want := p.WaitFor("published "), "5 1500"; got != want {
		t.Fatalf("published %s, want %s", got, want)
	}
	p.Wait()
	for i, ch := range chans {
		for j := range 5 {
			if _, err := ch.Fetch(); err != nil {
				t.Fatalf("channel %d, message %d: %v", i, j, err)
			}
		}
	}
}
