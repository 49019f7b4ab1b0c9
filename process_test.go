package pubsub_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

type received struct {
	ID      uint64         `json:"id"`
	Topic   string         `json:"topic"`
	Headers map[string]any `json:"headers"`
	Content []byte         `json:"content"`
}

// The helper processes run the backend this test binary runs: the portable
// suite (-tags pubsub_portable) must test it on both sides.
func TestHelperBackend(t *testing.T) {
	out, err := exec.Command(helperBin(t), "backend").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != fsys.Backend {
		t.Fatalf("helper runs the %s backend, the test the %s backend", got, fsys.Backend)
	}
}

// A subscriber in another process receives what this one publishes, and
// SIGTERM or SIGINT end its Subscribe cleanly, reported as an interruption.
func TestSubscriberProcessAndSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			h, _ := newHome(t)
			sub := proctest.Start(t, nil, helperBin(t), "sub", h.Dir(), "orders.+")
			dir := sub.WaitFor("live ")
			for i := range 20 {
				if n := publish(t, h, "orders.new", "order "+strconv.Itoa(i), pubsub.Headers{"n": i}); n != 1 {
					t.Fatalf("reached %d", n)
				}
			}
			for i := range 20 {
				var r received
				if err := json.Unmarshal([]byte(sub.Line()), &r); err != nil {
					t.Fatal(err)
				}
				if string(r.Content) != "order "+strconv.Itoa(i) || r.Topic != "orders.new" || r.Headers["n"] != float64(i) {
					t.Fatalf("message %d arrived as %+v", i, r)
				}
			}
			sub.Signal(sig)
			if done := sub.WaitFor("done "); done != "20 signal:"+sig.String() {
				t.Fatalf("subscriber ended with %q", done)
			}
			if code := sub.ExitCode(); code != 0 {
				t.Fatalf("exit code %d; stderr: %s", code, sub.StderrText())
			}
			if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("channel directory left after a clean exit: %v", err)
			}
		})
	}
}

// A publisher in another process reaches a channel here, in order.
func TestPublisherProcess(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "feed")
	const n = 2000
	pub := proctest.Start(t, nil, helperBin(t), "pub", h.Dir(), "feed", strconv.Itoa(n), "64")
	for i := range n {
		m, err := ch.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := strings.Cut(string(m.Content), ":"); got != strconv.Itoa(i) || len(m.Content) != 64 {
			t.Fatalf("message %d arrived as %q", i, m.Content)
		}
	}
	if line := pub.WaitFor("published "); line != "2000 2000" {
		t.Fatalf("publisher said %q", line)
	}
}

// A subscriber killed with SIGKILL leaves its channel; it is judged dead at
// once (its flock is gone), never counted by a publisher, and removed.
func TestKilledSubscriberIsCleanedUp(t *testing.T) {
	h, _ := newHome(t)
	holder := proctest.Start(t, nil, helperBin(t), "hold", h.Dir(), "k")
	dir := holder.WaitFor("live ")
	// Too large to go inline: it stays a file in the channel.
	if n := publish(t, h, "k", strings.Repeat("pending ", 1000), nil); n != 1 {
		t.Fatalf("reached %d live channels, want 1", n)
	}
	holder.Signal(syscall.SIGKILL)
	holder.Wait()
	infos, err := h.Channels()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Dir != dir || infos[0].Live || infos[0].Pending != 1 {
		t.Fatalf("after SIGKILL: %+v", infos)
	}
	removed, err := h.Cleanup()
	if err != nil || len(removed) != 1 || removed[0] != dir {
		t.Fatalf("Cleanup = %q, %v", removed, err)
	}
	if n := publish(t, h, "k", "nobody", nil); n != 0 {
		t.Fatalf("publish after the kill reached %d", n)
	}
}

// A publisher that meets a killed subscriber's channel does not count it
// and removes it, without a Cleanup call.
func TestPublisherMeetsKilledSubscriber(t *testing.T) {
	h, _ := newHome(t)
	holder := proctest.Start(t, nil, helperBin(t), "hold", h.Dir(), "k")
	dir := holder.WaitFor("live ")
	publish(t, h, "k", "while alive", nil) // the route is cached from here on
	holder.Signal(syscall.SIGKILL)
	holder.Wait()
	if n := publish(t, h, "k", "after death", nil); n != 0 {
		t.Fatalf("reached %d, want 0", n)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dead channel not reclaimed by the publisher: %v", err)
	}
}
