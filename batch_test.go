package pubsub_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
)

// batchContents returns n contents, every tenth too large to go inline.
func batchContents(n, small int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		size := small
		if i%10 == 9 {
			size = 5000
		}
		out[i] = append([]byte(strconv.Itoa(i)+":"), bytes.Repeat([]byte{'b'}, size)...)
	}
	return out
}

// expectBatch fetches want from ch and checks each, in order.
func expectBatch(t *testing.T, ch *pubsub.Channel, want [][]byte) {
	t.Helper()
	var last uint64
	for i, w := range want {
		m, err := ch.Fetch()
		if err != nil {
			t.Fatalf("%s: message %d: %v", ch.Topic(), i, err)
		}
		if !bytes.Equal(m.Content, w) || m.Headers["k"] != "v" || m.ID <= last {
			t.Fatalf("%s: message %d is %.20q (id %d after %d), want %.20q", ch.Topic(), i, m.Content, m.ID, last, w)
		}
		last = m.ID
	}
	if m, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Fatalf("%s: one more: %v, %v", ch.Topic(), m, err)
	}
}

// A batch reaches Go channels (frames packed per write, large messages as
// files) and formix-pubsub channels (files) alike, each in order.
func TestPublishBatch(t *testing.T) {
	for _, filesOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("files only %v", filesOnly), func(t *testing.T) {
			sub, _ := newHome(t)
			exact := newChannel(t, sub, "batch.x")
			wild := newChannel(t, sub, "batch.+")
			py, pyFD := fakePythonChannel(t, sub, "batch.x", true)
			h := publisherOn(t, sub, filesOnly)
			contents := batchContents(100, 200)
			n, err := h.PublishBatch("batch.x", contents, pubsub.Headers{"k": "v"})
			if err != nil || n != 3*len(contents) {
				t.Fatalf("PublishBatch = %d, %v; want %d deliveries", n, err, 3*len(contents))
			}
			expectBatch(t, exact, contents)
			expectBatch(t, wild, contents)
			ids := readIDs(t, pyFD)
			if len(ids) != len(contents) || len(pendingFiles(t, py)) != len(contents) {
				t.Fatalf("formix-pubsub channel: %d ids announced, %d files; want %d", len(ids), len(pendingFiles(t, py)), len(contents))
			}
		})
	}
}

// A batch far larger than the FIFO into a channel that is not reading:
// what does not fit goes the file path, and nothing is lost or reordered.
func TestPublishBatchOverflows(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "flood")
	contents := batchContents(5000, 300)
	n, err := h.PublishBatch("flood", contents, pubsub.Headers{"k": "v"})
	if err != nil || n != len(contents) {
		t.Fatalf("PublishBatch = %d, %v", n, err)
	}
	if len(pendingFiles(t, ch.Dir())) <= len(contents)/10 {
		t.Fatalf("only the large messages are files: the FIFO never overflowed")
	}
	expectBatch(t, ch, contents)
}

func TestPublishBatchRejects(t *testing.T) {
	h, _ := newHome(t)
	ch := newChannel(t, h, "r")
	if _, err := h.PublishBatch("r.+", [][]byte{[]byte("x")}, nil); err == nil {
		t.Error("a wildcard topic was accepted")
	}
	if _, err := h.PublishBatch("r", [][]byte{[]byte("x")}, pubsub.Headers{"bad": []int{1}}); err == nil {
		t.Error("a header that is not a scalar was accepted")
	}
	if n, err := h.PublishBatch("r", nil, nil); n != 0 || err != nil {
		t.Errorf("an empty batch: %d, %v", n, err)
	}
	if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Errorf("a rejected batch delivered something: %v", err)
	}
}

// readIDs reads the ids waiting in a FIFO opened non-blocking.
func readIDs(t *testing.T, fd int) []uint64 {
	t.Helper()
	var ids []uint64
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			return ids
		}
		for b := buf[:n]; len(b) >= 8; b = b[8:] {
			ids = append(ids, binary.BigEndian.Uint64(b))
		}
	}
}

// PublishMessages keeps each message's id, timestamp, topic and headers,
// in order across topics; one invalid message fails the call with nothing
// published.
func TestPublishMessages(t *testing.T) {
	h, _ := newHome(t)
	all := newChannel(t, h, "carried.+")
	one := newChannel(t, h, "carried.one")
	var ms []*pubsub.Message
	// Most share one headers map, as a bridge's origin: they are encoded
	// once, and each keeps its own id, timestamp and content.
	shared := pubsub.Headers{"origin": "elsewhere"}
	headers := func(i int) pubsub.Headers {
		if i%4 == 0 {
			return pubsub.Headers{"i": int64(i)}
		}
		return shared
	}
	for i := range 300 {
		topic := "carried.one"
		if i%3 == 2 {
			topic = "carried.two"
		}
		size := 100
		if i%50 == 49 {
			size = 6000
		}
		ms = append(ms, &pubsub.Message{ID: uint64(1_000_000 + i), Timestamp: int64(5_000 + i), Topic: topic,
			Headers: headers(i), Content: bytes.Repeat([]byte{byte(i)}, size)})
	}
	n, err := h.PublishMessages(ms)
	if err != nil || n != 300+200 {
		t.Fatalf("PublishMessages = %d, %v; want 500 deliveries", n, err)
	}
	for _, c := range []struct {
		ch   *pubsub.Channel
		skip func(i int) bool
	}{{all, func(int) bool { return false }}, {one, func(i int) bool { return i%3 == 2 }}} {
		for i, want := range ms {
			if c.skip(i) {
				continue
			}
			m := fetch(t, c.ch)
			if m.ID != want.ID || m.Timestamp != want.Timestamp || m.Topic != want.Topic || !maps.Equal(m.Headers, want.Headers) || !bytes.Equal(m.Content, want.Content) {
				t.Fatalf("%s: message %d is id %d ts %d %s %v, want %+v", c.ch.Topic(), i, m.ID, m.Timestamp, m.Topic, m.Headers, want)
			}
		}
		if _, err := c.ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
			t.Fatalf("%s: one more: %v", c.ch.Topic(), err)
		}
	}

	// A channel that is not reading misses messages on two topics' runs:
	// every miss is a DeliveryError the caller can list.
	fakePythonChannel(t, h, "carried.+", false)
	_, err = h.PublishMessages(ms[:4])
	if des := pubsub.DeliveryErrors(err); len(des) != 4 {
		t.Fatalf("a channel not reading: %v; want 4 delivery errors", err)
	}
	for range 4 {
		fetch(t, all)
	}
	for range 3 {
		fetch(t, one)
	}

	for _, bad := range []*pubsub.Message{
		{Topic: "carried.+"},
		{Topic: "carried.one", Headers: pubsub.Headers{"x": []int{1}}},
		{Topic: "carried.one", ID: 0xFF50470000000040},
		{Topic: "carried.one", Headers: shared, Timestamp: -1}, // as ms[1] but for it
	} {
		if n, err := h.PublishMessages([]*pubsub.Message{ms[1], bad}); err == nil || n != 0 {
			t.Errorf("PublishMessages with %+v: %d, %v; want an error and nothing sent", bad, n, err)
		}
	}
	if _, err := all.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
		t.Errorf("an invalid call published something: %v", err)
	}
}

func TestDeliveryErrors(t *testing.T) {
	a, b := &pubsub.DeliveryError{ID: 1}, &pubsub.DeliveryError{ID: 2}
	if got := pubsub.DeliveryErrors(a); len(got) != 1 || got[0] != a {
		t.Errorf("one: %v", got)
	}
	if got := pubsub.DeliveryErrors(errors.Join(a, b)); len(got) != 2 || got[1] != b {
		t.Errorf("joined: %v", got)
	}
	for _, err := range []error{nil, errors.New("full"), errors.Join(a, errors.New("full"))} {
		if got := pubsub.DeliveryErrors(err); got != nil {
			t.Errorf("DeliveryErrors(%v) = %v, want nil", err, got)
		}
	}
}

// PublishMessage with no id draws one, and a *DeliveryError names it.
func TestPublishMessageDeliveryErrorID(t *testing.T) {
	h, _ := newHome(t)
	fakePythonChannel(t, h, "py", false) // exists, FIFO not opened: ErrNotReading
	n, err := h.PublishMessage(&pubsub.Message{Topic: "py", Content: []byte("x")})
	de, ok := errors.AsType[*pubsub.DeliveryError](err)
	if n != 0 || !ok || !errors.Is(err, pubsub.ErrNotReading) {
		t.Fatalf("PublishMessage = %d, %v; want 0 and a DeliveryError", n, err)
	}
	if de.ID == 0 {
		t.Fatalf("DeliveryError.ID = 0: the id drawn for the message is lost (%v)", err)
	}
}
