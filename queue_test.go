package pubsub_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub"
)

func newQueue(t *testing.T, h *pubsub.Home, name, topic string, opts ...pubsub.QueueOption) *pubsub.Queue {
	t.Helper()
	q, err := h.NewQueue(name, topic, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// Workers share a queue's messages: each once, whatever the number of
// workers, while every channel still gets every message; Publish counts
// the queue as one.
func TestQueueSharesWork(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "jobs.+")
	var workers []*pubsub.Queue
	for range 3 {
		workers = append(workers, newQueue(t, h, "resize", "jobs.resize"))
	}
	const jobs = 300
	for i := range jobs {
		if n := publish(t, h, "jobs.resize", strconv.Itoa(i), nil); n != 2 {
			t.Fatalf("job %d reached %d, want the channel and the queue", i, n)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	perWorker := make([]int, len(workers))
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i, q := range workers {
		wg.Go(func() {
			q.Subscribe(ctx, func(m *pubsub.Message) error {
				mu.Lock()
				defer mu.Unlock()
				seen[string(m.Content)]++
				perWorker[i]++
				if len(seen) == jobs {
					cancel()
				}
				return nil
			}, pubsub.WithoutSignalHandling())
		})
	}
	wg.Wait()
	for i := range jobs {
		if seen[strconv.Itoa(i)] != 1 {
			t.Fatalf("job %d handled %d times", i, seen[strconv.Itoa(i)])
		}
	}
	for i := range jobs {
		if m := fetch(t, ch); string(m.Content) != strconv.Itoa(i) {
			t.Fatalf("the channel's message %d is %q", i, m.Content)
		}
	}
	infos, err := h.Queues()
	if err != nil || len(infos) != 1 || infos[0].Name != "resize" || infos[0].Messages != 0 || infos[0].Backlog != 0 || infos[0].Workers != 3 {
		t.Fatalf("Queues after the work: %+v, %v", infos, err)
	}
}

// A handler's error gives the message back; after the maximum deliveries
// it is a dead letter, which can be listed, re-queued and purged.
func TestQueueRetryAndDeadLetters(t *testing.T) {
	h, _ := newHome(t)
	q := newQueue(t, h, "q", "work", pubsub.WithMaxDeliveries(2), pubsub.WithRetryDelay(time.Nanosecond))
	publish(t, h, "work", "poison", nil)
	publish(t, h, "work", "fine", nil)
	var mu sync.Mutex
	var tries []string
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	q.Subscribe(ctx, func(m *pubsub.Message) error {
		mu.Lock()
		defer mu.Unlock()
		tries = append(tries, string(m.Content)+":"+strconv.Itoa(m.Deliveries()))
		if string(m.Content) == "poison" {
			if m.Deliveries() == 2 {
				cancel() // the last delivery: it becomes a dead letter on return
			}
			return errors.New("cannot handle it")
		}
		return nil
	}, pubsub.WithoutSignalHandling())
	if got := strings.Join(tries, " "); !strings.Contains(got, "poison:1") || !strings.Contains(got, "poison:2") || !strings.Contains(got, "fine:1") {
		t.Fatalf("deliveries %s", got)
	}
	dls, err := h.DeadLetters("q")
	if err != nil || len(dls) != 1 || string(dls[0].Message.Content) != "poison" || dls[0].Deliveries != 2 {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
	if n, err := h.RequeueDeadLetters("q"); n != 1 || err != nil {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	m, err := q.Next(t.Context())
	if err != nil || string(m.Content) != "poison" || m.Deliveries() != 1 {
		t.Fatalf("requeued: %v, %v", m, err)
	}
	if err := m.Nack(0); err != nil {
		t.Fatal(err)
	}
	m, _ = q.Next(t.Context())
	if err := m.Nack(0); err != nil { // the second delivery of two: dead again
		t.Fatal(err)
	}
	if n, err := h.PurgeDeadLetters("q"); n != 1 || err != nil {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if dls, _ := h.DeadLetters("q"); len(dls) != 0 {
		t.Fatalf("dead letters after purge: %v", dls)
	}
}

// Dead letters named by key are re-queued or purged alone, whatever
// their place among the others.
func TestDeadLettersByKey(t *testing.T) {
	h, _ := newHome(t)
	q := newQueue(t, h, "q", "work", pubsub.WithMaxDeliveries(1))
	for _, c := range []string{"a", "b", "c", "d"} {
		publish(t, h, "work", c, nil)
		m, err := q.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Nack(0); err != nil {
			t.Fatal(err)
		}
	}
	dls, err := h.DeadLetters("q")
	if err != nil || len(dls) != 4 {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
	if n, err := h.PurgeDeadLetters("q", dls[1].Key); n != 1 || err != nil {
		t.Fatalf("purge b: %d, %v", n, err)
	}
	if n, err := h.RequeueDeadLetters("q", dls[0].Key); n != 1 || err != nil {
		t.Fatalf("requeue a: %d, %v", n, err)
	}
	var left []string
	dls, _ = h.DeadLetters("q")
	for _, dl := range dls {
		left = append(left, string(dl.Message.Content))
	}
	if got := strings.Join(left, " "); got != "c d" {
		t.Fatalf("dead letters left: %s, want c d", got)
	}
	if m, err := q.Fetch(); err != nil || string(m.Content) != "a" {
		t.Fatalf("requeued: %v, %v", m, err)
	}
}

// A full queue refuses by default, and the publisher is told which.
func TestQueueFullIsReported(t *testing.T) {
	h, _ := newHome(t)
	if err := h.CreateQueue("small", "t", pubsub.WithMaxMessages(2)); err != nil {
		t.Fatal(err)
	}
	publish(t, h, "t", "1", nil)
	publish(t, h, "t", "2", nil)
	n, err := h.Publish("t", []byte("3"), nil)
	var de *pubsub.DeliveryError
	if n != 0 || !errors.As(err, &de) || !errors.Is(err, pubsub.ErrQueueFull) || !strings.Contains(de.Missed[0].Channel, "queues/small") {
		t.Fatalf("publish into a full queue: %d, %v", n, err)
	}
	infos, _ := h.Queues()
	if infos[0].Rejected != 1 || infos[0].Backlog != 2 {
		t.Fatalf("after a rejection: %+v", infos[0])
	}
}

// Joining a queue checks the topic and the options given against how it
// was made.
func TestQueueJoinChecks(t *testing.T) {
	h, _ := newHome(t)
	if err := h.CreateQueue("q", "a.+", pubsub.WithMaxMessages(10)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.NewQueue("q", "b"); err == nil || !strings.Contains(err.Error(), "pattern") {
		t.Fatalf("another topic: %v", err)
	}
	if _, err := h.NewQueue("q", "a.+", pubsub.WithMaxMessages(11)); err == nil {
		t.Fatal("another bound was accepted")
	}
	q := newQueue(t, h, "q", "a.+") // options left out: the queue's own
	if q.Topic() != "a.+" {
		t.Fatalf("topic %q", q.Topic())
	}
	for _, name := range []string{"", "a_b", "a.b", strings.Repeat("x", 65)} {
		if _, err := h.NewQueue(name, "t"); err == nil {
			t.Errorf("queue name %q accepted", name)
		}
	}
	if _, err := h.NewQueue("bad", "a.+", pubsub.WithLease(-time.Second)); err == nil {
		t.Error("a negative lease accepted")
	}
}

// Removing a queue ends its workers, and its messages go with it.
func TestRemoveQueue(t *testing.T) {
	h, _ := newHome(t)
	q := newQueue(t, h, "gone", "t")
	publish(t, h, "t", "x", nil)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := q.Next(t.Context()); err != nil {
				done <- err
				return
			}
		}
	}()
	if err := h.RemoveQueue("gone"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, pubsub.ErrQueueRemoved) {
		t.Fatalf("a worker of a removed queue: %v", err)
	}
	if n := publish(t, h, "t", "y", nil); n != 0 {
		t.Fatalf("a removed queue was reached: %d", n)
	}
	if err := h.RemoveQueue("gone"); !errors.Is(err, pubsub.ErrNoQueue) {
		t.Fatalf("removing it again: %v", err)
	}
}

// A channel's message needs no acknowledgement, and cannot be given back.
func TestChannelMessageAck(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "t")
	publish(t, h, "t", "x", nil)
	m := fetch(t, ch)
	if m.Ack() != nil || m.Nack(0) == nil || m.Deliveries() != 1 {
		t.Fatal("a channel's message: Ack, Nack or Deliveries wrong")
	}
}

// A message acknowledged after its Queue was closed went back to the
// queue: Ack says so, and the next worker gets it.
func TestAckAfterClose(t *testing.T) {
	h, _ := newHome(t)
	q, err := h.NewQueue("q", "t")
	if err != nil {
		t.Fatal(err)
	}
	publish(t, h, "t", "x", nil)
	m, err := q.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if err := m.Ack(); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}
	again := newQueue(t, h, "q", "t")
	if m, err := again.Next(t.Context()); err != nil || string(m.Content) != "x" || m.Deliveries() != 2 {
		t.Fatalf("after Close: %v, %v", m, err)
	}
}
