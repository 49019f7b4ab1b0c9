package bridge

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
)

// BenchmarkExportEncode measures turning a taken 256-byte message into
// the NATS message an exporter publishes.
func BenchmarkExportEncode(b *testing.B) {
	e := newEncoder("p", "0123456789abcdef")
	m := &pubsub.Message{ID: 1 << 50, Timestamp: 1 << 50, Topic: "m.t", Content: make([]byte, 256)}
	for b.Loop() {
		m.ID++
		if _, err := e.encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport measures publishing NATS messages into a home with a
// channel, 64 to a batch, as the core importer does, per message.
func BenchmarkImport(b *testing.B) {
	br, ch, sub := newImporter(b)
	e := newEncoder(br.prefix, "there")
	batch := make([]*nats.Msg, 64)
	for i := range batch {
		msg, _ := e.encode(&pubsub.Message{ID: uint64(i + 1), Timestamp: 1, Topic: "m.t", Content: make([]byte, 256)})
		hdr := nats.Header{}
		for k, v := range msg.Header {
			hdr[k] = []string{v[0]}
		}
		batch[i] = &nats.Msg{Subject: msg.Subject, Header: hdr, Data: msg.Data, Sub: sub}
	}
	ctx := context.Background()
	for b.Loop() {
		br.importMany(ctx, batch)
		b.StopTimer()
		for {
			if _, err := ch.Fetch(); err != nil {
				break
			}
		}
		b.StartTimer()
	}
	if s := br.Stats(); s.Imported == 0 || s.Rejected > 0 {
		b.Fatalf("stats %+v", s)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
}
