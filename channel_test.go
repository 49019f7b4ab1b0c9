package pubsub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub"
)

func TestChannelDirectory(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "news.=.+")
	name := filepath.Base(ch.Dir())
	want := regexp.MustCompile(`^news\.=\.\+_[A-Za-z0-9]{12}_` + strconv.Itoa(os.Getpid()) + `$`)
	if !want.MatchString(name) || filepath.Dir(ch.Dir()) != h.Dir() {
		t.Fatalf("channel directory %q, want HOME/{topic}_{12 random}_{pid}", ch.Dir())
	}
	fi, err := os.Lstat(filepath.Join(ch.Dir(), "queue"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeNamedPipe || fi.Mode().Perm() != 0o600 {
		t.Fatalf("queue is %v, want a FIFO with mode 0600", fi.Mode())
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(ch.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("directory still there after Close: %v", err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("Fetch after Close: %v, want ErrClosed", err)
	}
	if _, err := ch.Next(t.Context()); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
}

func TestCloseDropsUnreadMessages(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "a")
	publish(t, h, "a", "one", nil)
	publish(t, h, "a", "two", nil)
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(h.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "tmp" {
			t.Errorf("left in home after Close: %s", e.Name())
		}
	}
	if n := publish(t, h, "a", "three", nil); n != 0 {
		t.Fatalf("publish after Close reached %d channels", n)
	}
}

func TestPublishFetch(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "orders.created")
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("Fetch on empty channel: %v, want ErrNoMessage", err)
	}
	before := time.Now().UnixMicro()
	if n := publish(t, h, "orders.created", "hello", pubsub.Headers{"k": "v"}); n != 1 {
		t.Fatalf("Publish reached %d channels, want 1", n)
	}
	m := fetch(t, ch)
	if m.Topic != "orders.created" || string(m.Content) != "hello" || m.Headers["k"] != "v" {
		t.Fatalf("got %+v", m)
	}
	if m.Timestamp < before || m.Timestamp > time.Now().UnixMicro() {
		t.Fatalf("timestamp %d outside the publish call", m.Timestamp)
	}
	if m.ID>>16 > uint64(time.Now().UnixMicro())>>16 {
		t.Fatalf("id %d is not clock-based", m.ID)
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("second Fetch: %v, want ErrNoMessage", err)
	}
	if n := publish(t, h, "orders.deleted", "x", nil); n != 0 {
		t.Fatalf("publish to another topic reached %d", n)
	}
}

func TestPublishMessageKeepsIDAndTimestamp(t *testing.T) {
	h, _ := newHome(t)
	// Two channels, so both the inline path and a staged file are used.
	a := newChannel(t, h, "far.+")
	b, err := h.NewChannel("far.away")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sent := &pubsub.Message{ID: 0x1234_5678_9abc, Timestamp: 1_600_000_000_000_001, Topic: "far.away", Headers: pubsub.Headers{"n": int64(7)}, Content: []byte("carried")}
	if n, err := h.PublishMessage(sent); err != nil || n != 2 {
		t.Fatalf("PublishMessage = %d, %v; want 2 channels", n, err)
	}
	for _, ch := range []*pubsub.Channel{a, b} {
		m := fetch(t, ch)
		if m.ID != sent.ID || m.Timestamp != sent.Timestamp || m.Topic != sent.Topic || m.Headers["n"] != int64(7) || string(m.Content) != "carried" {
			t.Errorf("%s got %+v, want %+v", ch.Topic(), m, sent)
		}
	}

	before := time.Now().UnixMicro()
	if _, err := h.PublishMessage(&pubsub.Message{Topic: "far.away", Content: []byte("fresh")}); err != nil {
		t.Fatal(err)
	}
	m := fetch(t, b)
	if m.ID == 0 || m.Timestamp < before {
		t.Errorf("zero id and timestamp were not drawn: %+v", m)
	}
	if _, err := h.PublishMessage(&pubsub.Message{Topic: "far.+"}); err == nil {
		t.Error("PublishMessage accepted a wildcard topic")
	}
	// Announced in a Go channel's FIFO, it would read as a frame header.
	if _, err := h.PublishMessage(&pubsub.Message{ID: 0xFF50470000000040, Topic: "far.away", Content: make([]byte, 5000)}); !errors.Is(err, pubsub.ErrInvalidID) {
		t.Errorf("PublishMessage with an id like a frame header: %v", err)
	}
}

func TestContentSizes(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "blob")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	large := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
	for _, content := range [][]byte{nil, all, large} {
		if n, err := h.Publish("blob", content, nil); err != nil || n != 1 {
			t.Fatalf("Publish %d bytes: %d, %v", len(content), n, err)
		}
		m := fetch(t, ch)
		if !bytes.Equal(m.Content, content) {
			t.Fatalf("content of %d bytes came back as %d bytes, differing", len(content), len(m.Content))
		}
	}
}

func TestHeaderTypes(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "h")
	big2_70 := new(big.Int).Lsh(big.NewInt(1), 70)
	sent := pubsub.Headers{
		"s": "héllo \"quoted\" \n", "i": 42, "neg": int64(-7), "big": int64(1<<53 + 1),
		"u": uint64(math.MaxUint64), "huge": big2_70, "f": 1.0, "g": 2.5e-7,
		"t": true, "false": false, "null": nil,
	}
	publish(t, h, "h", "", sent)
	got := fetch(t, ch).Headers
	want := pubsub.Headers{
		"s": "héllo \"quoted\" \n", "i": int64(42), "neg": int64(-7), "big": int64(1<<53 + 1),
		"u": new(big.Int).SetUint64(math.MaxUint64), "huge": big2_70, "f": 1.0, "g": 2.5e-7,
		"t": true, "false": false, "null": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers came back as\n%#v\nwant\n%#v", got, want)
	}
}

func TestPublishRejects(t *testing.T) {
	h, _ := newHome(t)
	newChannel(t, h, "+")
	cases := []struct {
		topic   string
		headers pubsub.Headers
		is      error
		says    []string
	}{
		{"", nil, pubsub.ErrInvalidTopic, []string{"empty"}},
		{"news.+", nil, pubsub.ErrInvalidTopic, []string{"news.+", "wildcard"}},
		{"news.=", nil, pubsub.ErrInvalidTopic, []string{"wildcard"}},
		{"a_b", nil, pubsub.ErrInvalidTopic, []string{"'_'", "A-Za-z0-9"}},
		{"caf\u00e9", nil, pubsub.ErrInvalidTopic, []string{"é", "A-Za-z0-9"}},
		{"a b", nil, pubsub.ErrInvalidTopic, []string{"' '"}},
		{"a..b", nil, pubsub.ErrInvalidTopic, []string{"empty word"}},
		{"ok", pubsub.Headers{"list": []int{1}}, pubsub.ErrInvalidHeader, []string{"list", "[]int"}},
		{"ok", pubsub.Headers{"nan": math.NaN()}, pubsub.ErrInvalidHeader, []string{"nan"}},
		{"ok", pubsub.Headers{"m": map[string]any{}}, pubsub.ErrInvalidHeader, []string{"m"}},
	}
	for _, c := range cases {
		t.Run(c.topic+fmt.Sprint(c.headers), func(t *testing.T) {
			n, err := h.Publish(c.topic, []byte("x"), c.headers)
			if !errors.Is(err, c.is) || n != 0 {
				t.Fatalf("Publish(%q) = %d, %v; want 0 and %v", c.topic, n, err, c.is)
			}
			if !containsAll(err.Error(), c.says...) {
				t.Fatalf("error %q does not name %q", err, c.says)
			}
		})
	}
}

func TestChannelTopicValidation(t *testing.T) {
	h, _ := newHome(t)
	for _, bad := range []string{"", "a..b", ".a", "a.", "a_b", "news.=x", "x+y", "caf\u00e9", "a b", "++", "=+", strings.Repeat("a", 300)} {
		if ch, err := h.NewChannel(bad); !errors.Is(err, pubsub.ErrInvalidTopic) {
			if ch != nil {
				ch.Close()
			}
			t.Errorf("NewChannel(%q): %v, want ErrInvalidTopic", bad, err)
		} else if _, ok := errors.AsType[*pubsub.TopicError](err); !ok {
			t.Errorf("NewChannel(%q): %T is not a *TopicError", bad, err)
		}
	}
}

func TestWildcards(t *testing.T) {
	h, _ := newHome(t)
	patterns := []string{"logs.=.error", "logs.+", "=", "+", "logs.=", "news.=", "a.+.z"}
	chans := map[string]*pubsub.Channel{}
	for _, p := range patterns {
		chans[p] = newChannel(t, h, p)
	}
	cases := []struct {
		topic string
		want  []string
	}{
		{"logs.app.error", []string{"logs.=.error", "logs.+", "+"}},
		{"logs.error", []string{"logs.+", "+", "logs.="}},
		{"logs.app.module.error", []string{"logs.+", "+"}},
		{"logs", []string{"=", "+"}},
		{"news.sports", []string{"news.=", "+"}}, // formix-pubsub: '=' is one character
		{"news.a", []string{"news.=", "+"}},
		{"a.b.c.z", []string{"a.+.z", "+"}},
		{"a.z", []string{"+"}},
		{"axz", []string{"=", "+"}},
	}
	for _, c := range cases {
		t.Run(c.topic, func(t *testing.T) {
			n := publish(t, h, c.topic, c.topic, nil)
			if n != len(c.want) {
				t.Errorf("reached %d channels, want %d", n, len(c.want))
			}
			wanted := map[string]bool{}
			for _, p := range c.want {
				wanted[p] = true
			}
			for p, ch := range chans {
				m, err := ch.Fetch()
				got := err == nil && string(m.Content) == c.topic
				if err != nil && !errors.Is(err, pubsub.ErrNoMessage) {
					t.Fatal(err)
				}
				if got != wanted[p] {
					t.Errorf("channel %q received=%v, want %v", p, got, wanted[p])
				}
			}
		})
	}
}

func TestSeveralChannelsOneTopic(t *testing.T) {
	h, _ := newHome(t)
	a, b := newChannel(t, h, "t"), newChannel(t, h, "t")
	if n := publish(t, h, "t", "both", nil); n != 2 {
		t.Fatalf("reached %d, want 2", n)
	}
	ma, mb := fetch(t, a), fetch(t, b)
	if string(ma.Content) != "both" || string(mb.Content) != "both" || ma.ID != mb.ID {
		t.Fatalf("copies differ: %+v %+v", ma, mb)
	}
}

func TestSeveralHomesInOneProcess(t *testing.T) {
	h1, _ := newHome(t)
	h2, _ := newHome(t)
	c1, c2 := newChannel(t, h1, "t"), newChannel(t, h2, "t")
	publish(t, h1, "t", "one", nil)
	if _, err := c2.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("home 2 saw home 1's message: %v", err)
	}
	if string(fetch(t, c1).Content) != "one" {
		t.Fatal("home 1 lost its message")
	}
}

func TestNextWaitsAndHonoursContext(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "t")
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("stop now")
	go cancel(cause)
	if _, err := ch.Next(ctx); err != cause {
		t.Fatalf("Next after cancel: %v, want the cause", err)
	}
	got := make(chan *pubsub.Message)
	go func() {
		m, err := ch.Next(t.Context())
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	publish(t, h, "t", "wake", nil)
	if m := <-got; string(m.Content) != "wake" {
		t.Fatalf("Next returned %q", m.Content)
	}
}

func TestCloseWakesBlockedNext(t *testing.T) {
	h, _ := newHome(t)
	ch, err := h.NewChannel("t")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	var started sync.WaitGroup
	for range 3 {
		started.Add(1)
		go func() {
			started.Done()
			_, err := ch.Next(context.Background())
			errs <- err
		}()
	}
	started.Wait()
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, pubsub.ErrClosed) {
			t.Fatalf("blocked Next returned %v, want ErrClosed", err)
		}
	}
}

// TestIdleSubscriberDoesNotSpin checks that a subscriber parked on a FIFO
// that no publisher holds open burns no CPU: it blocks in the poller.
func TestIdleSubscriberDoesNotSpin(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "idle")
	publish(t, h, "idle", "x", nil) // a publisher opened and kept the FIFO: now no writer is active
	fetch(t, ch)
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := ch.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: %v", err)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	used := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	// A spinning reader would use about the whole 300 ms.
	if used > 100*time.Millisecond {
		t.Fatalf("an idle subscriber used %v of CPU in 300 ms", used)
	}
}

func TestSubscribe(t *testing.T) {
	h, logs := newHome(t)
	ch := newChannel(t, h, "jobs.+")
	for i := range 5 {
		publish(t, h, "jobs.run", strconv.Itoa(i), nil)
	}
	var got []string
	n, err := ch.Subscribe(t.Context(), func(m *pubsub.Message) error {
		got = append(got, string(m.Content))
		switch string(m.Content) {
		case "1":
			return errors.New("handler says no")
		case "2":
			panic("handler blew up")
		}
		if len(got) == 5 {
			go func() {
				if _, err := h.Publish("jobs.run", []byte("late"), nil); err != nil {
					t.Error(err)
				}
			}()
		}
		return nil
	}, pubsub.WithTimeout(300*time.Millisecond), pubsub.WithoutSignalHandling())
	if err != nil || n != 6 {
		t.Fatalf("Subscribe = %d, %v; want 6, nil after the timeout", n, err)
	}
	if want := []string{"0", "1", "2", "3", "4", "late"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("handled %q, want %q", got, want)
	}
	if !containsAll(logs.String(), "handler says no", "handler blew up") {
		t.Fatalf("handler failures not logged:\n%s", logs)
	}
}

func TestSubscribeContextCause(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "t")
	publish(t, h, "t", "y", nil)
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("shutting down")
	n, err := ch.Subscribe(ctx, func(*pubsub.Message) error { cancel(cause); return nil }, pubsub.WithoutSignalHandling())
	if err != cause || n != 1 {
		t.Fatalf("Subscribe = %d, %v; want 1 and the cause", n, err)
	}
}

func TestMessagesIterator(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "it")
	for i := range 3 {
		publish(t, h, "it", strconv.Itoa(i), nil)
	}
	var got []string
	for m, err := range ch.Messages(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, string(m.Content)); len(got) == 3 {
			break
		}
	}
	if !reflect.DeepEqual(got, []string{"0", "1", "2"}) {
		t.Fatalf("got %q", got)
	}
	publish(t, h, "it", "after break", nil)
	if string(fetch(t, ch).Content) != "after break" {
		t.Fatal("channel unusable after breaking out of Messages")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for m, err := range ch.Messages(ctx) {
		if m != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("yielded %v, %v; want nil, context.Canceled", m, err)
		}
	}
}

// A channel whose directory someone else removed closes without error.
func TestCloseAfterDirectoryRemoved(t *testing.T) {
	h, _ := newHome(t)
	ch, err := h.NewChannel("t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(ch.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// A home removed from under a Home is reported, not silently empty.
func TestRemovedHome(t *testing.T) {
	h, _ := newHome(t)
	if err := os.RemoveAll(h.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Publish("t", nil, nil); err == nil || !strings.Contains(err.Error(), "was removed") {
		t.Fatalf("Publish into a removed home: %v", err)
	}
}

// Close waits for nothing and breaks no call in flight: publishers racing
// a Close get ErrClosed or succeed, never a descriptor of another file.
func TestHomeCloseRacesPublish(t *testing.T) {
	h, _ := newHome(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := h.Publish("t", []byte("x"), nil); err != nil {
					if !errors.Is(err, pubsub.ErrClosed) {
						t.Error(err)
					}
					return
				}
			}
		}()
	}
	h.Close()
	wg.Wait()
}

// A subscriber whose context ends while it handles a message drains what
// is pending with Fetch, as the bridge's exporter does when it stops.
func TestFetchDrainsAfterNextsContextEnds(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "x")
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() {
		_, err := ch.Next(ctx) // parks, if it gets there before "first"
		got <- err
	}()
	publish(t, h, "x", "first", nil)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		publish(t, h, "x", s, nil)
	}
	cancel()
	var drained []string
	for {
		m, err := ch.Fetch()
		if errors.Is(err, pubsub.ErrNoMessage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		drained = append(drained, string(m.Content))
	}
	if strings.Join(drained, " ") != "a b c" {
		t.Fatalf("drained %q after the context ended, want a b c", drained)
	}
}
