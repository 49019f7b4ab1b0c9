package bridge_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/bridge"
	"github.com/pubsub-go/pubsub/internal/proctest"
	"github.com/pubsub-go/pubsub/internal/wire"
)

// allHeaders holds a value of every type a Go publisher can send.
func allHeaders() pubsub.Headers {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	return pubsub.Headers{
		"s": "a \"quoted\"\n\ttext: é ✓ \u2028 \x00", "empty": "", "t": true, "f": false, "null": nil,
		"i": int64(-42), "imax": int64(math.MaxInt64), "imin": int64(math.MinInt64), "big": huge,
		"one": 1.0, "small": 1e-5, "large": 1e300, "negzero": math.Copysign(0, -1), "pi": math.Pi,
		"key with spaces and ünïcode": "v",
	}
}

// TestRoundTrip: two homes on one machine, each with its bridge, standing
// for two hosts. Exact and wildcard topics, every header type, binary,
// empty and 16 MiB content; id and timestamp kept; nothing comes back to
// the home it left, nothing arrives twice.
func TestRoundTrip(t *testing.T) {
	t.Run("core", func(t *testing.T) { testRoundTrip(t, nil, nil) })
	t.Run("packed", func(t *testing.T) { testRoundTrip(t, []string{"--packed"}, []string{"--packed"}) })
	t.Run("jetstream", func(t *testing.T) {
		testRoundTrip(t, []string{"--durable", "host-a"}, []string{"--durable", "host-b"})
	})
}

func testRoundTrip(t *testing.T, flagsA, flagsB []string) {
	srv := startNATS(t)
	a, b := newHome(t), newHome(t)
	flags := []string{"--nats", srv.url, "--prefix", "rt", "--export", "rt.+", "--import", "rt.+"}
	ba := startBridge(t, a, append(flags, flagsA...)...)
	bb := startBridge(t, b, append(flags, flagsB...)...)
	originA, _ := bridge.Origin(a.Dir())
	originB, _ := bridge.Origin(b.Dir())
	if originA == originB {
		t.Fatalf("two homes on one machine share origin %s", originA)
	}

	exact := collect(t, b, "rt.exact")
	one := collect(t, b, "rt.=")
	deep := collect(t, b, "rt.+.z")
	localA := collect(t, a, "rt.+")

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	huge := make([]byte, 16<<20)
	_, _ = rand.Read(huge)
	type pub struct {
		topic   string
		content []byte
		headers pubsub.Headers
	}
	pubs := []pub{
		{"rt.exact", binary, allHeaders()},
		{"rt.y.z", []byte{}, nil},
		{"rt.big", huge, pubsub.Headers{"n": int64(1)}},
		{"rt.last", []byte("last"), nil},
	}
	ids := map[string]uint64{}
	for _, p := range pubs {
		id, n, err := a.PublishID(p.topic, p.content, p.headers)
		if err != nil || n < 2 { // the bridge's channel and localA
			t.Fatalf("publish %s: %d channels, %v", p.topic, n, err)
		}
		ids[p.topic] = id
	}
	// And one from B to A.
	idB, _, err := b.PublishID("rt.fromb", []byte("from b"), pubsub.Headers{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	one.waitCount(3)    // rt.exact, rt.big, rt.last
	localA.waitCount(5) // A's four, and B's one
	deep.waitCount(1)

	sa, sb := ba.stop(), bb.stop()
	if sa["exported"] != 4 || sb["imported"] != 4 || sb["exported"] != 1 || sa["imported"] != 1 {
		t.Errorf("counts: A %v, B %v; want A exported 4 and imported 1, B the reverse", sa, sb)
	}
	if packed := slices.Contains(flagsA, "--packed"); packed && (sa["packs sent"] != 4 || sb["packs sent"] != 1) || !packed && sa["packs sent"]+sb["packs sent"] != 0 {
		t.Errorf("packs sent: A %d, B %d; want 4 and 1 with --packed (a topic each), else none", sa["packs sent"], sb["packs sent"])
	}

	check := func(where string, got *pubsub.Message, p pub, id uint64, origin string) {
		t.Helper()
		want := pubsub.Headers{}
		for k, v := range p.headers {
			want[k] = v
		}
		if origin != "" {
			want[bridge.OriginHeader] = origin
		}
		if got.Topic != p.topic || got.ID != id || !bytes.Equal(got.Content, p.content) || !reflect.DeepEqual(got.Headers, want) {
			t.Errorf("%s: got %s id %d (want %d), %d bytes, headers %v; want %s, %d bytes, headers %v",
				where, got.Topic, got.ID, id, len(got.Content), got.Headers, p.topic, len(p.content), want)
		}
		if time.Since(got.Time()) > time.Hour || got.Timestamp <= 0 {
			t.Errorf("%s: timestamp %d", where, got.Timestamp)
		}
	}
	topics := func(ms []*pubsub.Message) []string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Topic)
		}
		return s
	}
	if got := exact.close(); len(got) != 1 {
		t.Errorf("rt.exact got %v, want rt.exact once", topics(got))
	} else {
		check("rt.exact", got[0], pubs[0], ids["rt.exact"], originA)
	}
	if got := one.close(); len(got) != 4 {
		t.Errorf("rt.= got %v, want rt.exact rt.big rt.last from A and rt.fromb from B itself", topics(got))
	} else {
		var fromA []*pubsub.Message
		for _, m := range got {
			if m.Topic == "rt.fromb" {
				check("rt.= local", m, pub{"rt.fromb", []byte("from b"), pubsub.Headers{"k": "v"}}, idB, "")
			} else {
				fromA = append(fromA, m)
			}
		}
		check("rt.= exact", fromA[0], pubs[0], ids["rt.exact"], originA)
		check("rt.= big", fromA[1], pubs[2], ids["rt.big"], originA)
		check("rt.= last", fromA[2], pubs[3], ids["rt.last"], originA)
	}
	if got := deep.close(); len(got) != 1 {
		t.Errorf("rt.+.z got %v, want rt.y.z once", topics(got))
	} else {
		check("rt.+.z", got[0], pubs[1], ids["rt.y.z"], originA)
	}
	// A's own channel: its four messages as published locally (no
	// pubsub-origin, so none came back through NATS), B's one once.
	got := localA.close()
	if len(got) != 5 {
		t.Fatalf("A's rt.+ got %v, want A's four and B's one, once each", topics(got))
	}
	for _, m := range got {
		if m.Topic == "rt.fromb" {
			check("A from B", m, pub{"rt.fromb", []byte("from b"), pubsub.Headers{"k": "v"}}, idB, originB)
		} else if _, ok := m.Headers[bridge.OriginHeader]; ok {
			t.Errorf("A's own message %s came back through NATS", m.Topic)
		}
	}
}

// TestOrder: one publisher on A, one subscriber on B: every message, in
// the order published.
func TestOrder(t *testing.T) {
	ow := startOneWay(t, "ord.+", "ord.t", nil, nil)
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	const n = 10000
	w, finish := publishLines(t, a, "ord.t")
	for i := range n {
		fmt.Fprintln(w, i)
	}
	finish()
	sub.waitCount(n)
	ba.stop()
	bb.stop()
	checkSequence(t, sub.close(), 0, n)
}

// TestPackedOrder: a packing exporter, one publisher on A alternating
// between two topics in runs of 1 to 300 messages (so that packs end at
// topic changes), a subscriber on B of both: every message, on its topic,
// in the order published, in fewer NATS messages than messages. A NATS client on the prefix sees each pack as one
// message with the Pubsub-Packed header.
func TestPackedOrder(t *testing.T) {
	ow := startOneWay(t, "po.+", "po.+", []string{"--packed"}, nil)
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	nc, err := nats.Connect(ow.srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var natsMsgs atomic.Int64
	var natsBad atomic.Value
	if _, err := nc.Subscribe("pubsub.po.>", func(m *nats.Msg) {
		natsMsgs.Add(1)
		if m.Header.Get(bridge.HeaderPacked) != "1" || m.Header.Get(bridge.HeaderOrigin) == "" {
			natsBad.Store(fmt.Sprintf("%s with headers %v", m.Subject, m.Header))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	content := bytes.Repeat([]byte{'x'}, 200)
	ms := make([]*pubsub.Message, 0, n)
	topics := make([]string, 0, n)
	topic := "po.a"
	for len(ms) < n {
		run := 1 + len(ms)*7919%300
		for range min(run, n-len(ms)) {
			ms = append(ms, &pubsub.Message{Topic: topic, Content: append(strconv.AppendInt(nil, int64(len(ms)), 10), content...)})
			topics = append(topics, topic)
		}
		topic = map[string]string{"po.a": "po.b", "po.b": "po.a"}[topic]
	}
	for len(ms) > 0 {
		k := min(len(ms), 64)
		if _, err := a.PublishMessages(ms[:k]); err != nil {
			t.Fatal(err)
		}
		ms = ms[k:]
	}
	sub.waitCount(n)
	sa, sb := ba.stop(), bb.stop()
	got := sub.close()
	if len(got) != n {
		t.Fatalf("got %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if !bytes.HasPrefix(m.Content, append(strconv.AppendInt(nil, int64(i), 10), 'x')) || m.Topic != topics[i] {
			t.Fatalf("message %d is %.20q on %s, want it to start %d, on %s (out of order, lost or duplicated)", i, m.Content, m.Topic, i, topics[i])
		}
		if i > 0 && got[i-1].ID >= m.ID {
			t.Fatalf("message %d: id %d after %d", i, m.ID, got[i-1].ID)
		}
	}
	if sa["exported"] != n || sb["imported"] != n || sa["packs sent"] == 0 || sa["packs sent"] >= n {
		t.Errorf("exporter %v, importer %v; want %d exported in fewer packs, and imported", sa, sb, n)
	}
	waitFor(t, "the NATS client to get every pack", func() bool { return natsMsgs.Load() == int64(sa["packs sent"]) })
	if bad := natsBad.Load(); bad != nil {
		t.Errorf("a NATS client got %s, want a pack", bad)
	}
}

// TestPackedIntoJetStream: packs a core exporter sends land in the stream
// of a JetStream importer on the same prefix, which publishes each of
// their messages, in order.
func TestPackedIntoJetStream(t *testing.T) {
	ow := startOneWay(t, "pj.+", "pj.t", []string{"--packed"}, []string{"--durable", "b"})
	const n = 3000
	w, finish := publishLines(t, ow.a, "pj.t")
	for i := range n {
		fmt.Fprintln(w, i)
	}
	finish()
	ow.sub.waitCount(n)
	sa, sb := ow.ba.stop(), ow.bb.stop()
	checkSequence(t, ow.sub.close(), 0, n)
	if sa["packs sent"] == 0 || sb["imported"] != n {
		t.Errorf("exporter %v, importer %v; want packs, and %d imported", sa, sb, n)
	}
}

// checkSequence checks that ms hold the contents from..to-1, in order,
// once each.
func checkSequence(t *testing.T, ms []*pubsub.Message, from, to int) {
	t.Helper()
	if len(ms) != to-from {
		t.Errorf("got %d messages, want %d", len(ms), to-from)
	}
	for i, m := range ms {
		if want := strconv.Itoa(from + i); string(m.Content) != want {
			t.Fatalf("message %d is %q, want %q (out of order, lost or duplicated)", i, m.Content, want)
		}
	}
}

// TestOverlap: overlapping export patterns export a message once;
// overlapping import patterns, and a '+' that is not last (broader on
// NATS, filtered by the bridge), publish it once.
func TestOverlap(t *testing.T) {
	srv := startNATS(t)
	a, b := newHome(t), newHome(t)
	ba := startBridge(t, a, "--nats", srv.url, "--export", "ov.+", "--export", "ov.a")
	bb := startBridge(t, b, "--nats", srv.url, "--import", "ov.a", "--import", "ov.+.z", "--import", "ov.=")
	sub := collect(t, b, "ov.+")
	for _, tp := range []string{"ov.a", "ov.x.y", "ov.x.z", "ov.b"} {
		if _, err := a.Publish(tp, []byte(tp), nil); err != nil {
			t.Fatal(err)
		}
	}
	sub.waitCount(3)
	sa, sb := ba.stop(), bb.stop()
	var got []string
	for _, m := range sub.close() {
		got = append(got, m.Topic)
	}
	if strings.Join(got, " ") != "ov.a ov.x.z ov.b" {
		t.Errorf("B got %v, want ov.a ov.x.z ov.b, once each", got)
	}
	if sa["exported"] != 4 || sb["imported"] != 3 {
		t.Errorf("A exported %d (want 4), B imported %d (want 3)", sa["exported"], sb["imported"])
	}
}

// TestOneBridgePerPrefix: a second bridge on the same home and prefix
// would export every message twice; it is refused, naming the first.
func TestOneBridgePerPrefix(t *testing.T) {
	srv := startNATS(t)
	a := newHome(t)
	first := startBridge(t, a, "--nats", srv.url, "--export", "x.+")
	second := startBridgeNoWait(t, a, "--nats", srv.url, "--export", "x.+")
	if code := second.ExitCode(); code != 1 {
		t.Errorf("second bridge exit status %d, want 1; stderr:\n%s", code, second.StderrText())
	}
	want := fmt.Sprintf("pid %d holds", first.Cmd.Process.Pid)
	if s := second.StderrText(); !strings.Contains(s, "another bridge already runs") || !strings.Contains(s, want) {
		t.Errorf("second bridge stderr %q, want it to say another bridge runs and %q", s, want)
	}
	// Another prefix is another bus: allowed.
	other := startBridge(t, a, "--nats", srv.url, "--prefix", "other", "--export", "x.+")
	other.stop()
	first.stop()
}

func startBridgeNoWait(t *testing.T, h *pubsub.Home, args ...string) *bridgeProc {
	b := &bridgeProc{t: t, home: h.Dir(), args: args}
	b.Proc = proctest.Start(t, nil, pubsubBin(t), append([]string{"--home", h.Dir(), "bridge"}, args...)...)
	return b
}

// TestTooLarge: a message over the server's max_payload cannot ever be
// sent; the exporter says so, naming the limit, and goes on.
func TestTooLarge(t *testing.T) {
	ow := startOneWay(t, "big.+", "big.+", nil, nil)
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	if _, err := a.Publish("big.over", make([]byte, 33<<20), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish("big.after", []byte("after"), nil); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(1)
	sa := ba.stop()
	bb.stop()
	if got := sub.close(); len(got) != 1 || got[0].Topic != "big.after" {
		t.Errorf("B got %d messages, want big.after only", len(got))
	}
	if sa["too large"] != 1 || !strings.Contains(ba.StderrText(), "max_payload=33554432") {
		t.Errorf("A: too large %d, stderr:\n%s\nwant one too large, naming max_payload=33554432", sa["too large"], ba.StderrText())
	}
}

// TestPackedTooLarge: a packing exporter sends a message over the
// server's max_payload in a pack of its own, which fails alone: what
// came before and after it on the same topic arrives, in order.
func TestPackedTooLarge(t *testing.T) {
	ow := startOneWay(t, "big.+", "big.+", []string{"--packed"}, nil)
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	ms := []*pubsub.Message{
		{Topic: "big.t", Content: []byte("before")},
		{Topic: "big.t", Content: make([]byte, 33<<20)},
		{Topic: "big.t", Content: []byte("after")},
	}
	if _, err := a.PublishMessages(ms); err != nil { // one call: the exporter finds all three at once
		t.Fatal(err)
	}
	sub.waitCount(2)
	sa := ba.stop()
	bb.stop()
	got := sub.close()
	if len(got) != 2 || string(got[0].Content) != "before" || string(got[1].Content) != "after" {
		t.Errorf("B got %d messages, want before and after", len(got))
	}
	if sa["too large"] != 1 || sa["exported"] != 2 || sa["packs sent"] != 2 || !strings.Contains(ba.StderrText(), "max_payload=33554432") {
		t.Errorf("A: %v, stderr:\n%s\nwant two exported in two packs and one too large, naming max_payload=33554432", sa, ba.StderrText())
	}
}

// TestPackedSmallMaxPayload: a packing exporter keeps its packs within a
// server's max_payload of 16 KiB: 200 messages of 200 B found at once
// arrive, in packs of several.
func TestPackedSmallMaxPayload(t *testing.T) {
	srv := startNATSWith(t, "max_payload: 16384\n")
	a, b := newHome(t), newHome(t)
	ba := startBridge(t, a, "--nats", srv.url, "--packed", "--export", "mp.+")
	bb := startBridge(t, b, "--nats", srv.url, "--import", "mp.+")
	sub := collect(t, b, "mp.+")
	ms := make([]*pubsub.Message, 200)
	for i := range ms {
		ms[i] = &pubsub.Message{Topic: "mp.t", Content: append([]byte(strconv.Itoa(i)), bytes.Repeat([]byte{'x'}, 200)...)}
	}
	if _, err := a.PublishMessages(ms); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(len(ms))
	sa, sb := ba.stop(), bb.stop()
	got := sub.close()
	for i, m := range got {
		if !bytes.HasPrefix(m.Content, append([]byte(strconv.Itoa(i)), 'x')) {
			t.Fatalf("message %d is %.10q: out of order, lost or duplicated", i, m.Content)
		}
	}
	if len(got) != len(ms) || sa["too large"] != 0 || sa["packs sent"] < 4 || sa["packs sent"] >= len(ms) || sb["imported"] != len(ms) {
		t.Errorf("got %d of %d; exporter %v; importer %v; want every message, in packs of under 16 KiB", len(got), len(ms), sa, sb)
	}
}

// TestPackedOverMaxPayload: a pack filled for a server with a larger
// max_payload than the one it meets (a reconnection) goes a message a
// NATS message; only the message too large alone is dropped.
func TestPackedOverMaxPayload(t *testing.T) {
	srv := startNATSWith(t, "max_payload: 16384\n")
	nc := natsConn(t, srv.url)
	got := make(chan *nats.Msg, 300)
	if _, err := nc.ChanSubscribe("pubsub.op.t", got); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	home := newHome(t)
	b, err := bridge.New(home, srv.url, bridge.WithExport("op.+"), bridge.WithPacking(), bridge.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	ms := make([]*pubsub.Message, 200)
	for i := range ms {
		ms[i] = &pubsub.Message{ID: uint64(i + 1), Timestamp: 1, Topic: "op.t", Content: bytes.Repeat([]byte{'x'}, 200)}
	}
	ms[100].Content = make([]byte, 20000) // over 16 KiB alone
	at, err := bridge.SendOverPack(b, srv.url, ms)
	if err != nil || at != -1 {
		t.Fatalf("SendOverPack: %d, %v; want -1 (all handed on)", at, err)
	}
	s := b.Stats()
	if s.Exported != 199 || s.Packs != 199 || s.TooLarge != 1 {
		t.Fatalf("stats %+v; want 199 exported in 199 packs, 1 too large", s)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "199 packs at a NATS client", func() bool { return len(got) == 199 })
	for range 199 {
		m := <-got
		if len(m.Data) > 16384 || m.Header.Get(bridge.HeaderPacked) != "1" {
			t.Fatalf("a NATS message of %d bytes, headers %v; want a pack under 16 KiB", len(m.Data), m.Header)
		}
	}
}

// TestPackedStopWhileCutOff: a packing exporter cut off from NATS holds a
// pack when SIGTERM comes; the server is back within the drain timeout:
// every message reaches NATS once, in order, the pack it held included. A
// stream on the prefix, made before the server went down, keeps what
// arrives whenever it arrives.
func TestPackedStopWhileCutOff(t *testing.T) {
	srv := startNATS(t)
	js, ctx := jetStreamClient(t, srv.url)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SD", Subjects: []string{"pubsub.sd.>"}}); err != nil {
		t.Fatal(err)
	}
	a := newHome(t)
	ba := startBridge(t, a, "--nats", srv.url, "--packed", "--export", "sd.+")
	srv.stop()
	ba.waitStderr("disconnected from NATS")

	const n = 500
	ms := make([]*pubsub.Message, n)
	for i := range ms {
		ms[i] = &pubsub.Message{Topic: []string{"sd.a", "sd.b"}[i/70%2], Content: []byte(strconv.Itoa(i))}
	}
	pending := func() int {
		infos, err := a.Channels()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range infos {
			if c.Topic == "sd.+" {
				return c.Queued + c.Pending
			}
		}
		t.Fatal("no export channel")
		return 0
	}
	// The first 50, on one topic, go in one FIFO write: the exporter takes
	// them all in a pack, and waits for NATS holding it.
	if _, err := a.PublishMessages(ms[:50]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the exporter to take a pack", func() bool { return pending() == 0 })
	if _, err := a.PublishMessages(ms[50:]); err != nil {
		t.Fatal(err)
	}

	ba.Signal(syscall.SIGTERM)
	srv.start()
	if err := ba.Wait(); err != nil {
		t.Fatalf("bridge: %v\n%s", err, ba.StderrText())
	}
	if st := stats(t, ba.StderrText()); st["exported"] != n || strings.Contains(ba.StderrText(), "lost") {
		t.Fatalf("exporter %v; want %d exported, none lost; stderr:\n%s", st, n, ba.StderrText())
	}

	js, ctx = jetStreamClient(t, srv.url)
	stream, err := js.Stream(ctx, "SD")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		for data := raw.Data; len(data) > 0; {
			size := int(binary.BigEndian.Uint32(data))
			m, err := wire.Decode(data[4 : 4+size])
			if err != nil || "pubsub."+m.Topic != raw.Subject {
				t.Fatalf("pack %d on %s: %v, topic %q", seq, raw.Subject, err, m.Topic)
			}
			got = append(got, string(m.Content))
			data = data[4+size:]
		}
	}
	if len(got) != n {
		t.Fatalf("%d messages reached NATS, want %d", len(got), n)
	}
	for i, c := range got {
		if c != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: lost, repeated or out of order", i, c)
		}
	}
}

// TestFromNATSClients: a plain NATS client can publish into the bus; what
// the home cannot take (headers Python may send but Publish refuses, a
// subject that is no topic) is dropped with a log line, and the bridge
// goes on.
func TestFromNATSClients(t *testing.T) {
	srv := startNATS(t)
	b := newHome(t)
	bb := startBridge(t, b, "--nats", srv.url, "--import", "fx.+")
	sub := collect(t, b, "fx.+")
	nc, err := nats.Connect(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	send := func(subject string, hdr nats.Header, data string) {
		if err := nc.PublishMsg(&nats.Msg{Subject: subject, Header: hdr, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	send("pubsub.fx.plain", nil, "plain")
	send("pubsub.fx.nan", nats.Header{bridge.HeaderHeaders: {`{"x": NaN}`}}, "nan")
	send("pubsub.fx.bad_word", nil, "bad")
	// An id a Go channel's FIFO would read as a frame header.
	send("pubsub.fx.frameid", nats.Header{bridge.HeaderID: {"18398033675668979776"}}, "frame-like id")
	send("pubsub.fx.kept", nats.Header{bridge.HeaderID: {"77"}, bridge.HeaderTimestamp: {"1700000000000000"},
		bridge.HeaderHeaders: {`{"a": 1, "b": [1, 2]}`}, bridge.HeaderOrigin: {"elsewhere"}}, "kept")
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(3)
	s := bb.stop()
	got := sub.close()
	if len(got) != 3 {
		t.Fatalf("got %d messages, want fx.plain, fx.nan and fx.kept: %v", len(got), got)
	}
	if got[0].Topic != "fx.plain" || string(got[0].Content) != "plain" || got[0].Headers[bridge.OriginHeader] != "nats" || got[0].ID == 0 {
		t.Errorf("got %v, want fx.plain with a fresh id and pubsub-origin nats", got[0])
	}
	// What Python may send and Publish refuses crosses as it was.
	if f, ok := got[1].Headers["x"].(float64); got[1].Topic != "fx.nan" || !ok || !math.IsNaN(f) {
		t.Errorf("got %v, want fx.nan with x NaN", got[1])
	}
	if raw, ok := got[2].Headers["b"].(json.RawMessage); got[2].Topic != "fx.kept" || got[2].ID != 77 || got[2].Timestamp != 1700000000000000 || !ok || string(raw) != "[1, 2]" || got[2].Headers[bridge.OriginHeader] != "elsewhere" {
		t.Errorf("got %v, want fx.kept with id 77, its timestamp, b [1, 2] and origin elsewhere", got[2])
	}
	if s["rejected"] != 2 || !strings.Contains(bb.StderrText(), "refuses") {
		t.Errorf("rejected %d, want 2 (a bad subject, a frame-like id); stderr:\n%s", s["rejected"], bb.StderrText())
	}
}

// TestUnreachable: a server that cannot be reached is reported clearly
// and retried with backoff, not in a busy loop: the attempts a listener
// counts and the CPU time the bridge used stay small.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var attempts atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			c.Close() // no INFO: not a NATS server
		}
	}()
	url := "nats://" + l.Addr().String()
	a := newHome(t)
	p := startBridgeNoWait(t, a, "--nats", url, "--export", "u.+")
	start := time.Now()
	waitFor(t, "six connection attempts", func() bool { return attempts.Load() >= 6 })
	wall := time.Since(start)
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(); err != nil {
		t.Fatalf("bridge: %v; stderr:\n%s", err, p.StderrText())
	}
	n := attempts.Load()
	ru := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// With backoff the sixth attempt comes after at least 50+100+200+400+800
	// ms; a busy loop would make hundreds, burning a CPU all along.
	if n > 10 {
		t.Errorf("%d connection attempts in %v: not backing off", n, wall)
	}
	if cpu > wall/2+time.Second {
		t.Errorf("bridge used %v of CPU in %v: a busy loop?", cpu, wall)
	}
	stderr := p.StderrText()
	if !strings.Contains(stderr, "cannot reach NATS") || !strings.Contains(stderr, url) {
		t.Errorf("stderr does not say which server cannot be reached:\n%s", stderr)
	}
	t.Logf("%d attempts in %v, %v CPU", n, wall, cpu)
}

// TestBadURL: a URL that is no NATS URL is a usage error, at once.
func TestBadURL(t *testing.T) {
	a := newHome(t)
	for _, url := range []string{"http://127.0.0.1:4222", "nats://127.0.0.1:notaport", "nats://", ""} {
		p := startBridgeNoWait(t, a, "--nats", url, "--export", "u.+")
		if code := p.ExitCode(); code != 2 {
			t.Errorf("--nats %q: exit status %d, want 2", url, code)
		}
		if s := p.StderrText(); !strings.Contains(s, "NATS URL") && !strings.Contains(s, "--nats URL") || strings.Count(s, "\n") != 1 {
			t.Errorf("--nats %q: stderr %q, want one line about the NATS URL", url, s)
		}
	}
}

// TestCoreRestart: in core mode the bridges reconnect after the server
// restarts, and messages flow again (what was sent during the outage may
// be lost: at most once).
func TestCoreRestart(t *testing.T) {
	ow := startOneWay(t, "cr.+", "cr.+", nil, nil)
	srv, a, ba, bb, sub := ow.srv, ow.a, ow.ba, ow.bb, ow.sub
	if _, err := a.Publish("cr.before", nil, nil); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(1)
	srv.stop()
	srv.start()
	bb.waitStderr("reconnected to NATS")
	// Until B's subscription is back on the server, probes may be lost.
	i := 0
	waitFor(t, "a message through the restarted server", func() bool {
		i++
		_, err := a.Publish("cr.after", []byte(strconv.Itoa(i)), nil)
		return err == nil && sub.count() >= 2
	})
	ba.stop()
	bb.stop()
	if got := sub.close(); got[0].Topic != "cr.before" || got[1].Topic != "cr.after" {
		t.Errorf("got %s, %s", got[0].Topic, got[1].Topic)
	}
}

// TestJetStream: in JetStream mode a stream of messages from a publisher
// on A reaches a subscriber on B whole, in order and once each, across a
// restart of the NATS server, a restart of B's bridge (B catches up on
// what was published while it was down), and a restart of A's bridge.
func TestJetStream(t *testing.T) {
	ow := startOneWay(t, "js.+", "js.t", []string{"--durable", "host-a"}, []string{"--durable", "host-b"})
	srv, a, ba, bb, sub := ow.srv, ow.a, ow.ba, ow.bb, ow.sub
	w, finish := publishLines(t, a, "js.t")
	next := 0
	send := func(n int) {
		for range n {
			fmt.Fprintln(w, next)
			next++
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	const phase = 1000
	send(phase)
	sub.waitCount(phase / 2)
	// The server goes away in the middle of the stream, and comes back.
	srv.stop()
	send(phase)
	srv.start()
	send(phase)
	sub.waitCount(3 * phase)
	// B's host is down for a while, and catches up.
	bb.stop()
	send(phase)
	bb.start()
	// A's bridge restarts (the publisher waits: without a bridge's
	// channel, a local message has nobody to go to).
	sub.waitCount(4 * phase)
	// What waited while the server was away went in atomic batches.
	if s := ba.stop(); s["in atomic batches"] == 0 || s["in atomic batches"] > s["exported"] {
		t.Errorf("A's bridge before its restart: %v; want some messages in atomic batches", s)
	}
	ba.start()
	send(phase)
	finish()
	sub.waitCount(5 * phase)
	sa, sb := ba.stop(), bb.stop()
	checkSequence(t, sub.close(), 0, 5*phase)
	t.Logf("A (second run): %v; B (second run): %v", sa, sb)
}

// TestJetStreamWithoutAtomic: a stream that does not take atomic batches
// when the bridge starts, or stops taking them since, gets the messages
// one at a time, all of them, in order, and the bridge says why.
func TestJetStreamWithoutAtomic(t *testing.T) {
	for _, since := range []bool{false, true} {
		t.Run(map[bool]string{false: "at start", true: "since"}[since], func(t *testing.T) {
			srv := startNATS(t)
			js, ctx := jetStreamClient(t, srv.url)
			cfg := jetstream.StreamConfig{Name: "PUBSUB", Subjects: []string{"pubsub.>"}, AllowAtomicPublish: since}
			if _, err := js.CreateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			a, b := newHome(t), newHome(t)
			ba := startBridge(t, a, "--nats", srv.url, "--durable", "host-a", "--export", "na.+")
			bb := startBridge(t, b, "--nats", srv.url, "--durable", "host-b", "--import", "na.+")
			sub := collect(t, b, "na.t")
			if since {
				// After A's bridge looked at the stream.
				cfg.AllowAtomicPublish = false
				if _, err := js.UpdateStream(ctx, cfg); err != nil {
					t.Fatal(err)
				}
			}
			const n = 500
			publishWhileStopped(t, ba, func() {
				for i := range n {
					if _, err := a.Publish("na.t", []byte(strconv.Itoa(i)), nil); err != nil {
						t.Fatal(err)
					}
				}
			})
			sub.waitCount(n)
			sa := ba.stop()
			bb.stop()
			checkSequence(t, sub.close(), 0, n)
			if sa["in atomic batches"] != 0 || sa["exported"] != n {
				t.Errorf("A: %v; want %d exported one at a time", sa, n)
			}
			if strings.Count(ba.StderrText(), "does not allow atomic batches") != 1 {
				t.Errorf("A's bridge did not say once why it sends one at a time; stderr:\n%s", ba.StderrText())
			}
		})
	}
}

// TestJetStreamBatchWithDuplicate: a batch holding a message the stream
// already has (the drain after a stop sends a message whose ack was in
// doubt together with newer ones) is refused whole; its messages then go
// one at a time, and every one is stored once.
func TestJetStreamBatchWithDuplicate(t *testing.T) {
	srv := startNATS(t)
	a := newHome(t)
	ba := startBridge(t, a, "--nats", srv.url, "--durable", "host-a", "--export", "bd.+")
	origin, err := bridge.Origin(a.Dir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	msgs := make([]*pubsub.Message, n)
	for i := range msgs {
		msgs[i] = &pubsub.Message{ID: uint64(1_000_000 + i), Timestamp: 1_700_000_000_000_000 + int64(i), Topic: "bd.t", Content: []byte(strconv.Itoa(i))}
	}
	// The stream has message 50 already, as if an earlier attempt stored it.
	js, ctx := jetStreamClient(t, srv.url)
	dup := &nats.Msg{Subject: "pubsub.bd.t", Data: msgs[50].Content, Header: nats.Header{}}
	if _, err := js.PublishMsg(ctx, dup, jetstream.WithMsgID(bridge.MsgID(origin, msgs[50]))); err != nil {
		t.Fatal(err)
	}
	publishWhileStopped(t, ba, func() {
		for _, m := range msgs {
			if _, err := a.PublishMessage(m); err != nil {
				t.Fatal(err)
			}
		}
	})
	waitFor(t, "the stream to hold every message", func() bool { return streamMsgs(js) >= n })
	s := ba.stop()
	if got := streamMsgs(js); got != n {
		t.Errorf("the stream holds %d messages, want %d", got, n)
	}
	if s["exported"] != n || s["in atomic batches"] != 0 {
		t.Errorf("A: %v; want %d exported, one at a time", s, n)
	}
	if !strings.Contains(ba.StderrText(), "atomic batch refused; exporting its messages one at a time") {
		t.Errorf("A's bridge did not say it went one at a time; stderr:\n%s", ba.StderrText())
	}
}

// TestJetStreamBatchTooLarge: a message over the stream's max_msg_size
// (under the server's max_payload) is refused by the stream without a
// word inside a batch. Whether the limit was known when the bridge
// started or lowered since, the batch goes one message at a time: the
// large one is reported, the others are stored.
func TestJetStreamBatchTooLarge(t *testing.T) {
	for _, lowered := range []bool{false, true} {
		t.Run(map[bool]string{false: "known", true: "lowered"}[lowered], func(t *testing.T) {
			srv := startNATS(t)
			js, ctx := jetStreamClient(t, srv.url)
			cfg := jetstream.StreamConfig{Name: "PUBSUB", Subjects: []string{"pubsub.>"}, AllowAtomicPublish: true, Duplicates: 2 * time.Minute}
			if !lowered {
				cfg.MaxMsgSize = 1000
			}
			if _, err := js.CreateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			a := newHome(t)
			ba := startBridge(t, a, "--nats", srv.url, "--durable", "host-a", "--export", "tl.+")
			if lowered {
				cfg.MaxMsgSize = 1000
				if _, err := js.UpdateStream(ctx, cfg); err != nil {
					t.Fatal(err)
				}
			}
			const n = 40
			publishWhileStopped(t, ba, func() {
				for i := range n {
					content := []byte(strconv.Itoa(i))
					if i == 5 {
						content = bytes.Repeat([]byte("x"), 2000)
					}
					if _, err := a.Publish("tl.t", content, nil); err != nil {
						t.Fatal(err)
					}
				}
			})
			waitFor(t, "the stream to hold every message but the large one", func() bool { return streamMsgs(js) >= n-1 })
			s := ba.stop()
			if s["too large"] != 1 || s["exported"] != n-1 || s["in atomic batches"] != 0 {
				t.Errorf("A: %v; want %d exported one at a time and 1 too large", s, n-1)
			}
			if !strings.Contains(ba.StderrText(), "atomic batch refused") != !lowered {
				t.Errorf("A's bridge (limit lowered: %v) said:\n%s", lowered, ba.StderrText())
			}
		})
	}
}

// publishWhileStopped runs publish with b stopped by SIGSTOP, so that
// when it goes on with SIGCONT its channel holds all of it at once: one
// batch to send.
func publishWhileStopped(t *testing.T, b *bridgeProc, publish func()) {
	t.Helper()
	b.Signal(syscall.SIGSTOP)
	// kill returns before every thread has stopped.
	waitFor(t, "the bridge to stop", func() bool { return allStopped(t, b.Cmd.Process.Pid) })
	publish()
	b.Signal(syscall.SIGCONT)
}

// allStopped reports whether every thread of process pid is stopped
// (state T in /proc).
func allStopped(t *testing.T, pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false // a thread just gone
		}
		s := string(stat)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) == 0 || f[0] != "T" {
			return false
		}
	}
	return true
}

// TestJetStreamKilled: B's bridge is killed (SIGKILL) in the middle of a
// stream and started again: what it had pulled but not acknowledged comes
// again, in order, and what it had published but not acknowledged is not
// published twice (the sequence it keeps in the home), save the one
// message it may have been killed in the middle of.
func TestJetStreamKilled(t *testing.T) {
	ow := startOneWay(t, "jk.+", "jk.t", []string{"--durable", "host-a"}, []string{"--durable", "host-b", "--ack-wait", "1s"})
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	const n = 5000
	w, finish := publishLines(t, a, "jk.t")
	for i := range n {
		fmt.Fprintln(w, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(n / 5)
	if err := bb.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = bb.Wait()
	bb.start()
	finish()
	sub.waitCount(n)
	ba.stop()
	s := bb.stop()
	// A kill in the instant between publishing a message into the home
	// and recording its sequence may publish that one message again: at
	// most one repeat, right where the kill was.
	got := sub.close()
	repeats := 0
	for i := 1; i < len(got); i++ {
		if string(got[i].Content) == string(got[i-1].Content) && got[i].ID == got[i-1].ID {
			got = append(got[:i], got[i+1:]...)
			repeats++
		}
	}
	if repeats > 1 {
		t.Errorf("%d messages repeated, want at most one", repeats)
	}
	checkSequence(t, got, 0, n)
	t.Logf("B after the kill: %v; %d repeated", s, repeats)
}

// TestPackedJetStreamKilled: packs from a core exporter land in the
// stream of a JetStream importer, which is killed (SIGKILL) and started
// again: nothing is lost, and what comes twice is the part of one pack
// that was published before the kill, in one run, right where it was.
func TestPackedJetStreamKilled(t *testing.T) {
	ow := startOneWay(t, "pk.+", "pk.t", []string{"--packed"}, []string{"--durable", "host-b", "--ack-wait", "1s"})
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	const n = 5000
	w, finish := publishLines(t, a, "pk.t")
	for i := range n {
		fmt.Fprintln(w, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(n / 5)
	if err := bb.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = bb.Wait()
	bb.start()
	finish()
	sub.waitCount(n)
	sa := ba.stop()
	bb.stop()
	got := sub.close()
	// Take out what came again: a message not after the last one kept.
	var kept []*pubsub.Message
	runs, repeats, last := 0, 0, -1
	for i, m := range got {
		k := lineNumber(m)
		if k < 0 {
			t.Fatalf("message %d is %q, not a line", i, m.Content)
		}
		if k <= last {
			if repeats == 0 || k <= lineNumber(got[i-1]) {
				runs++
			}
			repeats++
			continue
		}
		kept, last = append(kept, m), k
	}
	if runs > 1 {
		t.Errorf("repeats in %d places, want at most one run (the pack being published at the kill)", runs)
	}
	checkSequence(t, kept, 0, n)
	if sa["packs sent"] == 0 {
		t.Errorf("exporter %v: no packs", sa)
	}
	t.Logf("%d repeated, in %d packs of %d messages", repeats, sa["packs sent"], n)
}

// lineNumber is the number a message of publishLines holds.
func lineNumber(m *pubsub.Message) int {
	k, err := strconv.Atoi(string(m.Content))
	if err != nil {
		return -1
	}
	return k
}

// TestJetStreamNewHost: a host whose durable consumer is new gets what is
// published from then on, not the stream's history.
func TestJetStreamNewHost(t *testing.T) {
	srv := startNATS(t)
	a, b := newHome(t), newHome(t)
	ba := startBridge(t, a, "--nats", srv.url, "--durable", "host-a", "--export", "nh.+")
	for i := range 3 {
		if _, err := a.Publish("nh.old", []byte(strconv.Itoa(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := jetStreamClient(t, srv.url)
	waitFor(t, "the stream to hold the old messages", func() bool { return streamMsgs(js) >= 3 })
	bb := startBridge(t, b, "--nats", srv.url, "--durable", "host-b", "--import", "nh.+")
	sub := collect(t, b, "nh.+")
	if _, err := a.Publish("nh.new", []byte("new"), nil); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(1)
	ba.stop()
	bb.stop()
	if got := sub.close(); len(got) != 1 || got[0].Topic != "nh.new" {
		var topics []string
		for _, m := range got {
			topics = append(topics, m.Topic)
		}
		t.Errorf("new host got %v, want nh.new only", topics)
	}
}

// streamMsgs returns how many messages the PUBSUB stream holds.
func streamMsgs(js jetstream.JetStream) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "PUBSUB")
	if err != nil {
		return 0
	}
	return s.CachedInfo().State.Msgs
}

// TestImportIntoQueue: a queue on the importing home takes what the
// bridge brings in, as any local publish: its workers share the messages,
// each once, beside a channel that gets every one. JetStream
// acknowledges a message once it entered the queue, not once a worker
// acknowledged it: the queue keeps it until then.
func TestImportIntoQueue(t *testing.T) {
	ow := startOneWay(t, "jobs.+", "jobs.t", []string{"--durable", "host-a"}, []string{"--durable", "host-b"})
	var workers []*pubsub.Queue
	for range 2 {
		q, err := ow.b.NewQueue("jobs", "jobs.+")
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		workers = append(workers, q)
	}
	const n = 500
	w, finish := publishLines(t, ow.a, "jobs.t")
	for i := range n {
		fmt.Fprintln(w, i)
	}
	finish()
	var mu sync.Mutex
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var wg sync.WaitGroup
	for _, q := range workers {
		wg.Go(func() {
			for m, err := range q.Messages(ctx) {
				if err != nil {
					return
				}
				mu.Lock()
				seen[string(m.Content)]++
				if len(seen) == n {
					cancel()
				}
				mu.Unlock()
				if err := m.Ack(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) < n {
		t.Fatalf("%d of %d messages reached the queue", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("%q taken %d times", k, c)
		}
	}
	ow.sub.waitCount(n)
}
