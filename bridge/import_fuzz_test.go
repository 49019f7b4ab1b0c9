package bridge

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
)

// FuzzImport hands the importer one NATS message as any NATS client may
// publish it: any subject, any Pubsub- headers, any payload. The importer
// never panics and never hangs; it publishes the message into the home,
// with its topic, content, id, timestamp and origin, or drops it and
// counts why (an echo, or rejected), or ignores a subject its pattern
// does not match; never two of these.
func FuzzImport(f *testing.F) {
	f.Add("pubsub.m.t", "12345", "1700000000000000", `{"k": 1}`, "elsewhere", []byte("body"))
	f.Add("pubsub.m", "", "", "", "", []byte{})
	f.Add("pubsub.m.t.u", "18446744073709551615", "-1", `{"k": NaN, "l": [1, {"a": null}]}`, "here", []byte{0})
	f.Add("pubsub.m..t", "0x10", "1e3", "{", "", []byte("z"))
	f.Add("other.m.t", "1", "1", "{}", "x", []byte("z"))
	br, ch, sub := newImporter(f)
	f.Fuzz(func(t *testing.T, subject, id, ts, headers, origin string, data []byte) {
		hdr := nats.Header{}
		for k, v := range map[string]string{HeaderID: id, HeaderTimestamp: ts, HeaderHeaders: headers, HeaderOrigin: origin} {
			if v != "" {
				hdr[k] = []string{v}
			}
		}
		msg := &nats.Msg{Subject: subject, Header: hdr, Data: data, Sub: sub}
		before := br.Stats()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		br.importMany(ctx, []*nats.Msg{msg})
		if ctx.Err() != nil {
			t.Fatalf("the import of %+v did not end", msg)
		}
		after := br.Stats()
		imported := after.Imported - before.Imported
		dropped := after.Echoes - before.Echoes + after.Rejected - before.Rejected
		got, err := ch.Fetch()
		switch {
		case imported+dropped > 1:
			t.Fatalf("imported %d and dropped %d of one message", imported, dropped)
		case imported == 0 && !errors.Is(err, pubsub.ErrNoMessage):
			t.Fatalf("not imported, yet the channel holds %+v, %v", got, err)
		case imported == 0:
			return
		case err != nil:
			t.Fatalf("imported, yet the channel gives %v", err)
		}
		if "pubsub."+got.Topic != subject || !bytes.Equal(got.Content, data) {
			t.Fatalf("subject %q, %d bytes: got topic %q, %d bytes", subject, len(data), got.Topic, len(got.Content))
		}
		if n, err := strconv.ParseUint(id, 10, 64); err == nil && n != 0 && got.ID != n {
			t.Fatalf("id header %q: got id %d", id, got.ID)
		}
		if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n > 0 && got.Timestamp != n {
			t.Fatalf("timestamp header %q: got %d", ts, got.Timestamp)
		}
		want := origin
		if want == "" {
			want = "nats"
		}
		if got.Headers[OriginHeader] != want || origin == br.origin {
			t.Fatalf("origin header %q: imported with %v", origin, got.Headers[OriginHeader])
		}
		if _, err := ch.Fetch(); !errors.Is(err, pubsub.ErrNoMessage) {
			t.Fatalf("one message imported, the channel holds more: %v", err)
		}
	})
}

// newImporter returns a bridge, never connected, that imports m.+ into a
// home of its own with origin "here": its importMany takes NATS messages
// made by hand as sub would deliver them, and ch, a channel for m.+ in
// the home, gets what it publishes.
func newImporter(tb testing.TB) (br *Bridge, ch *pubsub.Channel, sub *nats.Subscription) {
	tb.Helper()
	h, err := pubsub.Open(tb.TempDir(), pubsub.WithLogger(nil))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	if ch, err = h.NewChannel("m.+"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ch.Close() })
	if br, err = New(h, "nats://localhost", WithImport("m.+")); err != nil {
		tb.Fatal(err)
	}
	br.origin = "here"
	return br, ch, &nats.Subscription{Subject: "pubsub.m.>"}
}
