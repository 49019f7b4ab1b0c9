package bridge

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
)

func testHome(t *testing.T) *pubsub.Home {
	t.Helper()
	h, err := pubsub.Open(t.TempDir(), pubsub.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestNewDefaults checks what a bridge given no more than a pattern
// uses, and that an empty or zero value keeps the default.
func TestNewDefaults(t *testing.T) {
	h := testHome(t)
	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"no options", []Option{WithExport("a")}},
		{"nil options skipped", []Option{nil, WithExport("a"), nil}},
		{"empty and zero values", []Option{WithExport("a"), WithPrefix(""), WithStream(""), WithDurable(""),
			WithMaxAge(0), WithAckWait(-time.Second), WithDrainTimeout(0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := New(h, "nats://127.0.0.1", c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if b.prefix != DefaultPrefix || b.stream != "PUBSUB" || b.jetStream() {
				t.Errorf("prefix %q, stream %q, JetStream %v; want %q, %q, false", b.prefix, b.stream, b.jetStream(), DefaultPrefix, "PUBSUB")
			}
			if b.cfg.maxAge != 24*time.Hour || b.cfg.ackWait != 30*time.Second || b.cfg.drainTimeout != 10*time.Second {
				t.Errorf("max age %v, ack wait %v, drain timeout %v; want 24h, 30s, 10s", b.cfg.maxAge, b.cfg.ackWait, b.cfg.drainTimeout)
			}
			if b.log != slog.Default() || b.cfg.ready != nil || len(b.cfg.natsOptions) != 0 {
				t.Errorf("logger %p (default %p), ready func set %v, %d NATS options", b.log, slog.Default(), b.cfg.ready != nil, len(b.cfg.natsOptions))
			}
		})
	}
}

// TestNewOptions checks that each option sets what it names, and that
// the repeatable ones add up.
func TestNewOptions(t *testing.T) {
	h := testHome(t)
	logger := slog.New(slog.DiscardHandler)
	ready := false
	b, err := New(h, "nats://127.0.0.1",
		WithPrefix("p.q"),
		WithExport("a", "b.+"), WithExport("c"),
		WithImport("d.="), WithImport(), WithImport("e", "f.+.g"),
		WithDurable("host-1"),
		WithMaxAge(time.Hour), WithAckWait(time.Minute), WithDrainTimeout(time.Second),
		WithLogger(logger),
		WithNATSOptions(nats.Name("x")), WithNATSOptions(nats.NoEcho(), nats.MaxReconnects(1)),
		WithReadyFunc(func() { ready = true }),
	)
	if err != nil {
		t.Fatal(err)
	}
	var export []string
	for _, p := range b.export {
		export = append(export, p.String())
	}
	if want := []string{"a", "b.+", "c"}; !slices.Equal(export, want) {
		t.Errorf("export %q, want %q", export, want)
	}
	if want := []string{"p.q.d.*", "p.q.e", "p.q.f.>"}; !slices.Equal(b.subs, want) {
		t.Errorf("import subjects %q, want %q", b.subs, want)
	}
	if b.prefix != "p.q" || b.stream != "P_Q" || b.cfg.durable != "host-1" || !b.jetStream() {
		t.Errorf("prefix %q, stream %q, durable %q", b.prefix, b.stream, b.cfg.durable)
	}
	if b.cfg.maxAge != time.Hour || b.cfg.ackWait != time.Minute || b.cfg.drainTimeout != time.Second {
		t.Errorf("max age %v, ack wait %v, drain timeout %v; want 1h, 1m, 1s", b.cfg.maxAge, b.cfg.ackWait, b.cfg.drainTimeout)
	}
	if b.log != logger || len(b.cfg.natsOptions) != 3 {
		t.Errorf("logger %p, want %p; %d NATS options, want 3", b.log, logger, len(b.cfg.natsOptions))
	}
	if b.cfg.ready(); !ready {
		t.Error("the ready func is not the one given")
	}
	if b, err = New(h, "nats://127.0.0.1", WithExport("a"), WithPrefix("p"), WithStream("S")); err != nil || b.stream != "S" {
		t.Errorf("WithStream(%q): stream %q, %v", "S", b.stream, err)
	}
	if b, err = New(h, "nats://127.0.0.1", WithExport("a"), WithLogger(nil)); err != nil || b.log == slog.Default() || b.log.Enabled(t.Context(), slog.LevelError) {
		t.Errorf("WithLogger(nil): a logger that logs, or %v", err)
	}
}

// TestNewErrors checks that New refuses each bad value, naming it.
func TestNewErrors(t *testing.T) {
	h := testHome(t)
	for _, c := range []struct {
		name string
		home *pubsub.Home
		url  string
		opts []Option
		want string // how the error starts
		bad  string // the value it names, if any
	}{
		{"no home", nil, "nats://127.0.0.1", []Option{WithExport("a")}, "bridge: no home", ""},
		{"no URL", h, "", []Option{WithExport("a")}, "bridge: no NATS URL", ""},
		{"bad URL", h, "http://127.0.0.1", []Option{WithExport("a")}, "bridge: invalid NATS URL ", "http://127.0.0.1"},
		{"bad prefix", h, "nats://127.0.0.1", []Option{WithExport("a"), WithPrefix("a.>")}, "bridge: invalid prefix ", "a.>"},
		{"nothing to do", h, "nats://127.0.0.1", []Option{WithExport(), WithImport()}, "bridge: nothing to do", ""},
		{"bad export", h, "nats://127.0.0.1", []Option{WithExport("a", "b+")}, "bridge: export pattern: ", "b+"},
		{"bad import", h, "nats://127.0.0.1", []Option{WithImport("a..b")}, "bridge: import pattern: ", "a..b"},
		{"bad durable", h, "nats://127.0.0.1", []Option{WithExport("a"), WithDurable("a.b")}, "bridge: invalid durable name ", "a.b"},
		{"packed durable", h, "nats://127.0.0.1", []Option{WithExport("a"), WithDurable("d"), WithPacking()}, "bridge: packing is for core NATS", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := New(c.home, c.url, c.opts...)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("New: %v, %v; want an error starting %q", b, err, c.want)
			}
			if c.bad != "" && !strings.Contains(err.Error(), strconv.Quote(c.bad)) {
				t.Errorf("New: %v; want it to name %q", err, c.bad)
			}
		})
	}
}
