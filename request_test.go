package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub"
)

// respond answers every request on ch with "re:" and the request's
// content, until the channel is closed.
func respond(t *testing.T, h *pubsub.Home, ch *pubsub.Channel, tag string) {
	t.Helper()
	go func() {
		for m, err := range ch.Messages(context.Background()) {
			if err != nil {
				return
			}
			if err := h.Reply(m, []byte(tag+"re:"+string(m.Content)), pubsub.Headers{"by": tag}); err != nil {
				t.Errorf("Reply: %v", err)
			}
		}
	}()
}

func TestRequest(t *testing.T) {
	h, _ := newHome(t)
	server := newChannel(t, h, "svc.echo")
	respond(t, h, server, "")
	for i := range 3 {
		body := fmt.Sprintf("call %d", i)
		reply, err := h.Request(t.Context(), "svc.echo", []byte(body), pubsub.Headers{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		if string(reply.Content) != "re:"+body {
			t.Fatalf("reply %q to %q", reply.Content, body)
		}
		if _, ok := reply.Headers[pubsub.CorrelationIDHeader].(string); !ok || !strings.HasPrefix(reply.Topic, pubsub.InboxPrefix+".") {
			t.Fatalf("reply on %q with headers %v", reply.Topic, reply.Headers)
		}
	}
	// The request carried the caller's headers beside the two it adds.
	spy := newChannel(t, h, "svc.=")
	respondOnce := make(chan *pubsub.Message, 1)
	go func() {
		m, err := spy.Next(t.Context())
		if err == nil {
			respondOnce <- m
		}
	}()
	if _, err := h.Request(t.Context(), "svc.echo", []byte("seen"), pubsub.Headers{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	m := <-respondOnce
	if m.Headers["k"] != "v" || m.Headers[pubsub.ResponseTopicHeader] == nil || m.Headers[pubsub.CorrelationIDHeader] == nil {
		t.Fatalf("request headers %v", m.Headers)
	}
}

// A request nobody listens to fails at once: no reply can come, and
// waiting for ctx would only hide it.
func TestRequestNoResponders(t *testing.T) {
	h, _ := newHome(t)
	for _, f := range []func() error{
		func() error { _, err := h.Request(context.Background(), "nobody.home", nil, nil); return err },
		func() error { _, err := h.RequestMany(context.Background(), "nobody.home", nil, nil); return err },
	} {
		if err := f(); !errors.Is(err, pubsub.ErrNoResponders) {
			t.Fatalf("request to nobody: %v, want ErrNoResponders", err)
		}
	}
	if _, err := h.Request(t.Context(), "x", nil, pubsub.Headers{pubsub.CorrelationIDHeader: "mine"}); err == nil {
		t.Fatal("a request with its own correlation-id was sent")
	}
}

// A request whose only channel does not answer waits for ctx, and says so.
func TestRequestUnanswered(t *testing.T) {
	h, _ := newHome(t)
	silent := newChannel(t, h, "svc.silent")
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		if _, err := silent.Next(t.Context()); err == nil {
			cancel() // the request arrived: Request is waiting now
		}
	}()
	_, err := h.Request(ctx, "svc.silent", []byte("hello?"), nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no reply") {
		t.Fatalf("unanswered request: %v", err)
	}
}

// RequestMany returns once every channel the request reached has replied.
func TestRequestMany(t *testing.T) {
	h, _ := newHome(t)
	for _, tag := range []string{"a", "b", "c"} {
		respond(t, h, newChannel(t, h, "svc.all"), tag)
	}
	replies, err := h.RequestMany(context.Background(), "svc.all", []byte("ping"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range replies {
		got = append(got, string(r.Content))
	}
	slices.Sort(got)
	if want := []string{"are:ping", "bre:ping", "cre:ping"}; !slices.Equal(got, want) {
		t.Fatalf("replies %q, want %q", got, want)
	}
}

// With a responder that never answers, RequestMany returns at ctx's end
// what came, and how many are missing.
func TestRequestManyIncomplete(t *testing.T) {
	h, _ := newHome(t)
	// The responder may answer after the request has given up: that reply
	// finds no requester, which is no failure here.
	answering := newChannel(t, h, "svc.some")
	go func() {
		for m, err := range answering.Messages(context.Background()) {
			if err != nil {
				return
			}
			if err := h.Reply(m, []byte("are:"+string(m.Content)), nil); err != nil && !errors.Is(err, pubsub.ErrRequesterGone) {
				t.Errorf("Reply: %v", err)
			}
		}
	}()
	silent := newChannel(t, h, "svc.some")
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		if _, err := silent.Next(t.Context()); err == nil {
			cancel()
		}
	}()
	replies, err := h.RequestMany(ctx, "svc.some", []byte("ping"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RequestMany: %v", err)
	}
	missing := fmt.Sprintf("%d of 2 responders did not reply", 2-len(replies))
	if len(replies) > 1 || !strings.Contains(err.Error(), missing) {
		t.Fatalf("%d replies, error %q; want at most 1 and %q", len(replies), err, missing)
	}
	for _, r := range replies {
		if string(r.Content) != "are:ping" {
			t.Fatalf("reply %q", r.Content)
		}
	}
}

func TestReplyErrors(t *testing.T) {
	h, _ := newHome(t)
	if err := h.Reply(&pubsub.Message{Headers: pubsub.Headers{"x": 1}}, nil, nil); !errors.Is(err, pubsub.ErrNotRequest) {
		t.Fatalf("Reply to a plain message: %v", err)
	}
	req := &pubsub.Message{Headers: pubsub.Headers{pubsub.ResponseTopicHeader: "gone.inbox", pubsub.CorrelationIDHeader: "1"}}
	if err := h.Reply(req, nil, nil); !errors.Is(err, pubsub.ErrRequesterGone) {
		t.Fatalf("Reply to a requester gone: %v", err)
	}
}

// Close ends a request in flight, and removes the channel of the replies.
func TestCloseEndsRequest(t *testing.T) {
	h, _ := newHome(t)
	silent := newChannel(t, h, "svc.silent")
	done := make(chan error, 1)
	go func() {
		_, err := h.Request(context.Background(), "svc.silent", nil, nil)
		done <- err
	}()
	if _, err := silent.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	silent.Close()
	h.Close()
	if err := <-done; !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("request across Close: %v", err)
	}
	if _, err := h.Request(context.Background(), "svc.silent", nil, nil); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("request after Close: %v", err)
	}
	again, err := pubsub.Open(h.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if chans, err := again.Channels(); err != nil || len(chans) != 0 {
		t.Fatalf("channels left after Close: %v, %v", chans, err)
	}
}
