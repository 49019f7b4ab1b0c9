package pubsub_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub"
)

// BenchmarkIdleWakeup measures how long a subscriber parked in Next (on
// the poller, FIFO idle) takes to return a message after Publish starts.
// Reports the median and 99th percentile; the target is under 1 ms.
func BenchmarkIdleWakeup(b *testing.B) {
	h, _ := newHome(b)
	ch := newChannel(b, h, "wake")
	got := make(chan time.Time)
	go func() {
		for {
			if _, err := ch.Next(context.Background()); err != nil {
				return
			}
			got <- time.Now()
		}
	}()
	var lat []time.Duration
	for b.Loop() {
		// Let the subscriber park: it is idle when it has handed over the
		// previous message and the FIFO is empty.
		time.Sleep(200 * time.Microsecond)
		start := time.Now()
		if _, err := h.Publish("wake", []byte("ping"), nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-got).Sub(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPublish measures one Publish to one channel; the subscriber
// drains between rounds so the FIFO never fills.
func BenchmarkPublish(b *testing.B) {
	for _, size := range []int{256, 64 << 10} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			h, _ := newHome(b)
			ch := newChannel(b, h, "bench")
			body := make([]byte, size)
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				if _, err := h.Publish("bench", body, nil); err != nil {
					b.Fatal(err)
				}
				// Drain before the FIFO fills: a full one makes Publish
				// wait for room, then spill to files.
				if i++; i%100 == 0 {
					b.StopTimer()
					drain(b, ch)
					b.StartTimer()
				}
			}
		})
	}
}

// BenchmarkPublishBatch measures PublishBatch of 64 messages of 256 bytes
// to a Go channel, per message: frames packed 4 KiB to a write.
func BenchmarkPublishBatch(b *testing.B) {
	h, _ := newHome(b)
	ch := newChannel(b, h, "bench")
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = make([]byte, 256)
	}
	b.SetBytes(256 * int64(len(batch)))
	i := 0
	for b.Loop() {
		if _, err := h.PublishBatch("bench", batch, nil); err != nil {
			b.Fatal(err)
		}
		if i++; i%2 == 0 {
			b.StopTimer()
			drain(b, ch)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
}

// BenchmarkPublishIdleChannels measures Publish with 1,000 channels on
// other topics present: the routing table is cached, so it should cost
// about what it costs with none.
func BenchmarkPublishIdleChannels(b *testing.B) {
	for _, idle := range []int{0, 1000} {
		b.Run(strconv.Itoa(idle), func(b *testing.B) {
			h, _ := newHome(b)
			for i := range idle {
				newChannel(b, h, "idle."+strconv.Itoa(i))
			}
			ch := newChannel(b, h, "a.+")
			body := make([]byte, 256)
			time.Sleep(30 * time.Millisecond) // past the directory timestamp granularity, so the table is trusted
			i := 0
			for b.Loop() {
				if _, err := h.Publish("a.b", body, nil); err != nil {
					b.Fatal(err)
				}
				if i++; i%1000 == 0 {
					b.StopTimer()
					drain(b, ch)
					b.StartTimer()
				}
			}
		})
	}
}

// BenchmarkFetch measures taking one 256-byte message.
func BenchmarkFetch(b *testing.B) {
	h, _ := newHome(b)
	ch := newChannel(b, h, "bench")
	body := make([]byte, 256)
	pending := 0
	for b.Loop() {
		if pending == 0 {
			b.StopTimer()
			for range 1000 {
				h.Publish("bench", body, nil)
			}
			pending = 1000
			b.StartTimer()
		}
		if _, err := ch.Fetch(); err != nil {
			b.Fatal(err)
		}
		pending--
	}
}

func drain(b *testing.B, ch *pubsub.Channel) {
	for {
		if _, err := ch.Fetch(); err != nil {
			return
		}
	}
}

// BenchmarkStream measures one publisher and one subscriber (goroutines
// of this process) streaming 256-byte messages: inline in the FIFO, the
// default between Go processes, and as files, as formix-pubsub does.
func BenchmarkStream(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []pubsub.Option
	}{{"inline", nil}, {"files", []pubsub.Option{pubsub.WithFilesOnly()}}} {
		b.Run(mode.name, func(b *testing.B) {
			h, _ := newHome(b)
			pub, err := pubsub.Open(h.Dir(), mode.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer pub.Close()
			ch := newChannel(b, h, "stream")
			body := make([]byte, 256)
			b.SetBytes(256)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range b.N {
					if _, err := ch.Next(context.Background()); err != nil {
						b.Error(err)
						return
					}
				}
			}()
			for range b.N {
				if _, err := pub.Publish("stream", body, nil); err != nil {
					b.Fatal(err)
				}
			}
			<-done
		})
	}
}
