package bridge

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestImportQueueFull: the core importer's queue holds what a NATS
// subscription would; what arrives beyond it is dropped, counted in
// Stats.SlowConsumer, and logged with the count. The NATS subscription's
// channel is filled here before the importer starts, as when the home was
// slow to take what came before.
func TestImportQueueFull(t *testing.T) {
	h := testHome(t)
	var logs syncBuffer
	b, err := New(h, "nats://127.0.0.1", WithImport("q.+"), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	b.origin = "here"
	const sent, queue = 1000, 100
	b.queueMsgs = queue
	ch, err := h.NewChannel("q.+")
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	msgs := make(chan *nats.Msg, sent)
	for i := range sent {
		msgs <- &nats.Msg{Subject: "pubsub.q.t", Data: []byte(strconv.Itoa(i))}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.importCore(ctx, msgs, nil) })
	deadline := time.Now().Add(time.Minute)
	for s := b.Stats(); s.Imported+s.SlowConsumer < sent; s = b.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v after a minute; want %d messages imported or dropped", s, sent)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	s := b.Stats()
	if s.Imported != queue || s.SlowConsumer != sent-queue {
		t.Errorf("imported %d, slow consumer drops %d; want %d and %d", s.Imported, s.SlowConsumer, queue, sent-queue)
	}
	// The first messages are kept, the newest dropped, as NATS does.
	for i := range queue {
		m, err := ch.Fetch()
		if err != nil || string(m.Content) != strconv.Itoa(i) {
			t.Fatalf("message %d: %v, %v", i, m, err)
		}
	}
	if !strings.Contains(logs.String(), "slow consumer") || !strings.Contains(logs.String(), "total=900") {
		t.Errorf("the drops are not logged with their count:\n%s", logs.String())
	}
}

func TestImportQueue(t *testing.T) {
	q := importQueue{maxMsgs: 3, maxBytes: 1 << 20}
	msg := func(i int) *nats.Msg { return &nats.Msg{Subject: "s", Data: []byte(strconv.Itoa(i))} }
	next := 0
	var got []string
	for round := range 5000 {
		for q.len() < 3 {
			if !q.push(msg(next)) {
				t.Fatalf("push refused with %d queued", q.len())
			}
			next++
		}
		if q.push(msg(-1)) {
			t.Fatal("push accepted a fourth message")
		}
		for _, m := range q.take(nil, 1+round%3) {
			got = append(got, string(m.Data))
		}
	}
	for _, m := range q.take(nil, 10) {
		got = append(got, string(m.Data))
	}
	if q.len() != 0 || q.bytes != 0 {
		t.Errorf("empty queue: len %d, bytes %d", q.len(), q.bytes)
	}
	for i, s := range got {
		if s != strconv.Itoa(i) {
			t.Fatalf("message %d is %s: out of order", i, s)
		}
	}
	if len(got) != next {
		t.Errorf("took %d of %d", len(got), next)
	}
	bq := importQueue{maxMsgs: 100, maxBytes: 100}
	if !bq.push(&nats.Msg{Subject: "s", Data: make([]byte, 50)}) || bq.push(&nats.Msg{Subject: "s", Data: make([]byte, 50)}) {
		t.Error("the byte bound does not hold")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
