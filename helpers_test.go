package pubsub_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
	"github.com/pubsub-go/pubsub/internal/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	proctest.Cleanup()
	os.Exit(code)
}

// logBuffer collects a home's log records for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// homeDir makes an empty directory where a home may be created, under
// /dev/shm when there is one, removed when the test ends.
func homeDir(t testing.TB) string {
	t.Helper()
	base := "/dev/shm"
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		base = ""
	}
	dir, err := os.MkdirTemp(base, "pubsub-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newHome opens a fresh home under /dev/shm, removed when the test ends.
func newHome(t testing.TB) (*pubsub.Home, *logBuffer) {
	t.Helper()
	dir := homeDir(t)
	logs := &logBuffer{}
	h, err := pubsub.Open(dir, pubsub.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, logs
}

func newChannel(t testing.TB, h *pubsub.Home, topic string, opts ...pubsub.ChannelOption) *pubsub.Channel {
	t.Helper()
	ch, err := h.NewChannel(topic, opts...)
	if err != nil {
		t.Fatalf("NewChannel(%q): %v", topic, err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

func publish(t testing.TB, h *pubsub.Home, topic, content string, headers pubsub.Headers) int {
	t.Helper()
	n, err := h.Publish(topic, []byte(content), headers)
	if err != nil {
		t.Fatalf("Publish(%q): %v", topic, err)
	}
	return n
}

func fetch(t testing.TB, ch *pubsub.Channel) *pubsub.Message {
	t.Helper()
	m, err := ch.Fetch()
	if err != nil {
		t.Fatalf("Fetch on %s: %v", ch.Topic(), err)
	}
	return m
}

// fetchAll takes every message ch has pending, in order, and returns
// their contents.
func fetchAll(t testing.TB, ch *pubsub.Channel) []string {
	t.Helper()
	var got []string
	for {
		m, err := ch.Fetch()
		if errors.Is(err, pubsub.ErrNoMessage) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Content))
	}
}

func helperBin(t testing.TB) string {
	return proctest.Build(t, "github.com/pubsub-go/pubsub/internal/proctest/helper")
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// publisherOn opens a second Home on h's directory, sending every message
// as a file when filesOnly.
func publisherOn(t testing.TB, h *pubsub.Home, filesOnly bool) *pubsub.Home {
	t.Helper()
	var opts []pubsub.Option
	if filesOnly {
		opts = append(opts, pubsub.WithFilesOnly())
	}
	p, err := pubsub.Open(h.Dir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// writeQueue writes data into ch's FIFO in one write, as another process
// could.
func writeQueue(t testing.TB, ch *pubsub.Channel, data []byte) {
	t.Helper()
	fd, err := unix.Open(filepath.Join(ch.Dir(), "queue"), unix.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, data); err != nil {
		t.Fatal(err)
	}
}

// frameOf returns msg as an inline FIFO frame (see wire.NextRecord).
func frameOf(msg []byte) []byte {
	return wire.AppendPadding(append(wire.AppendFrame(nil, len(msg)), msg...), len(msg))
}
