package bridge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub"
)

// TestMeasure measures throughput and latency from a publisher on home A
// to a subscriber on home B through two bridges and a NATS server, beside
// bare NATS through the same server. It runs only with
// PUBSUB_BRIDGE_BENCH=1 (scripts/bridge-bench.sh), without -race, on a
// machine otherwise idle:
//
//	PUBSUB_BRIDGE_BENCH=1 go test -run TestMeasure -v -timeout 30m ./bridge/
//
// PUBSUB_BRIDGE_BENCH_COUNT (default 200000) messages of
// PUBSUB_BRIDGE_BENCH_SIZE (default 256) bytes are published back to back
// for throughput, PUBSUB_BRIDGE_BENCH_RUNS (default 3) times, for each of
// PUBSUB_BRIDGE_BENCH_MODES (default "core jetstream bare local": the
// bridge in each mode, bare NATS, the local bus in this process; "packed"
// is core mode with the exporter packing (--packed); "both" is
// core mode with each bridge exporting and importing); latency is
// 2,000 messages one at a time, each published once the one before
// arrived. PUBSUB_BRIDGE_BENCH_PROFILE=DIR has the bridges write CPU
// profiles there.
func TestMeasure(t *testing.T) {
	if os.Getenv("PUBSUB_BRIDGE_BENCH") != "1" {
		t.Skip("set PUBSUB_BRIDGE_BENCH=1 to measure (scripts/bridge-bench.sh)")
	}
	count := envInt("PUBSUB_BRIDGE_BENCH_COUNT", 200000)
	size := envInt("PUBSUB_BRIDGE_BENCH_SIZE", 256)
	runs := envInt("PUBSUB_BRIDGE_BENCH_RUNS", 3)
	profile := os.Getenv("PUBSUB_BRIDGE_BENCH_PROFILE")
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	srv := startNATS(t)
	t.Logf("%d CPUs, GOMAXPROCS %d, %s; %d messages of %d B, medians of %d runs",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), count, size, runs)

	type result struct {
		rate     float64
		received int
		p50, p99 time.Duration
	}
	report := func(name string, rs []result) {
		rates := make([]float64, len(rs))
		p50s := make([]time.Duration, len(rs))
		p99s := make([]time.Duration, len(rs))
		lost := 0
		for i, r := range rs {
			rates[i], p50s[i], p99s[i] = r.rate, r.p50, r.p99
			lost += count - r.received
		}
		slices.Sort(rates)
		slices.Sort(p50s)
		slices.Sort(p99s)
		t.Logf("RESULT %-22s %9.0f msgs/s  p50 %8.1f µs  p99 %8.1f µs  lost %d of %d  (rates %v)",
			name, rates[len(rates)/2], us(p50s[len(p50s)/2]), us(p99s[len(p99s)/2]), lost, count*len(rs), rounded(rates))
	}

	measure := strings.Fields(envString("PUBSUB_BRIDGE_BENCH_MODES", "core jetstream bare local"))
	for _, m := range measure {
		if !slices.Contains([]string{"core", "packed", "both", "jetstream", "bare", "local"}, m) {
			t.Fatalf("PUBSUB_BRIDGE_BENCH_MODES: unknown %q; want some of core, packed, both, jetstream, bare, local", m)
		}
	}

	// Through the bridges, in each mode. In "both", core NATS, each
	// bridge exports and imports, as in the README's two-host example.
	for _, mode := range measure {
		if mode != "core" && mode != "packed" && mode != "both" && mode != "jetstream" {
			continue
		}
		var rs []result
		for run := range runs {
			a, b := newHome(t), newHome(t)
			prefix := fmt.Sprintf("m%s%d", mode[:1], run)
			common := []string{"--nats", srv.url, "--prefix", prefix}
			ea := slices.Concat(common, []string{"--export", "m.+"})
			ib := slices.Concat(common, []string{"--import", "m.+"})
			if mode == "packed" {
				ea = append(ea, "--packed")
			}
			if mode == "both" {
				ea = append(ea, "--import", "m.+")
				ib = append(ib, "--export", "m.+")
			}
			if mode == "jetstream" {
				ea = append(ea, "--durable", "a", "--stream", "M"+prefix)
				ib = append(ib, "--durable", "b", "--stream", "M"+prefix)
			}
			if profile != "" {
				ea = append(ea, "--cpuprofile", filepath.Join(profile, fmt.Sprintf("%s-export-%d.prof", mode, run)))
				ib = append(ib, "--cpuprofile", filepath.Join(profile, fmt.Sprintf("%s-import-%d.prof", mode, run)))
			}
			ba := startBridge(t, a, ea...)
			bb := startBridge(t, b, ib...)
			ch, err := b.NewChannel("m.t")
			if err != nil {
				t.Fatal(err)
			}
			var r result
			r.p50, r.p99 = homeLatency(t, a, ch, size)
			pids := map[string]int{
				"exporting bridge": ba.Cmd.Process.Pid, "nats-server": srv.proc.Cmd.Process.Pid,
				"importing bridge": bb.Cmd.Process.Pid, "publisher and subscriber (this process)": os.Getpid(),
			}
			before := cpuTimes(t, pids)
			r.rate, r.received = homeThroughput(t, a, ch, count, size)
			if run == 0 {
				reportCPU(t, mode, pids, before, r.received)
			}
			ch.Close()
			if sa := ba.stop(); sa["packs sent"] > 0 {
				t.Logf("%s run %d: the exporter sent %d messages in %d packs", mode, run, sa["exported"], sa["packs sent"])
			}
			bb.stop()
			rs = append(rs, r)
		}
		report("bridge "+mode, rs)
	}

	// Bare NATS: a publishing and a subscribing connection in this
	// process, through the same server.
	var rs []result
	for range runs * b2i(slices.Contains(measure, "bare")) {
		var r result
		r.p50, r.p99 = natsLatency(t, srv.url, size)
		r.rate, r.received = natsThroughput(t, srv.url, count, size)
		rs = append(rs, r)
	}
	if len(rs) > 0 {
		report("bare NATS", rs)
	}

	// The local bus, publisher and subscriber in this process, one home.
	rs = nil
	for range runs * b2i(slices.Contains(measure, "local")) {
		h := newHome(t)
		ch, err := h.NewChannel("m.t")
		if err != nil {
			t.Fatal(err)
		}
		var r result
		r.p50, r.p99 = homeLatency(t, h, ch, size)
		r.rate, r.received = homeThroughput(t, h, ch, count, size)
		ch.Close()
		rs = append(rs, r)
	}
	if len(rs) > 0 {
		report("local, one process", rs)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func rounded(fs []float64) []int {
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = int(f)
	}
	return out
}

// homeLatency publishes 2,000 messages on pub, one at a time, each once
// the one before arrived on ch, and returns the p50 and p99 of publish
// start to receipt.
func homeLatency(t *testing.T, pub *pubsub.Home, ch *pubsub.Channel, size int) (p50, p99 time.Duration) {
	t.Helper()
	content := make([]byte, size)
	var lat []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for i := range 2200 {
		start := time.Now()
		if _, err := pub.Publish("m.t", content, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Next(ctx); err != nil {
			t.Fatalf("latency message %d: %v", i, err)
		}
		if i >= 200 { // warm-up
			lat = append(lat, time.Since(start))
		}
	}
	return percentiles(lat)
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// homeThroughput publishes count messages back to back on pub and
// returns the rate at which they arrived on ch (first publish to last
// receipt), and how many did (core NATS may drop some).
func homeThroughput(t *testing.T, pub *pubsub.Home, ch *pubsub.Channel, count, size int) (float64, int) {
	t.Helper()
	content := make([]byte, size)
	var got atomic.Int64
	var last atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	// One context for the run, as pubsub bench's subscriber has (a timer
	// per message would cost the chain CPU): a watchdog ends it once
	// nothing has come for 3 s, when core NATS lost the rest.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		seen := int64(-1)
		for idle := time.Duration(0); idle < 3*time.Second; idle += 100 * time.Millisecond {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if n := got.Load(); n != seen {
				seen, idle = n, 0
			}
		}
		cancel()
	}()
	go func() {
		defer close(done)
		for int(got.Load()) < count {
			if _, err := ch.Next(ctx); err != nil {
				return
			}
			got.Add(1)
			last.Store(int64(time.Since(start)))
		}
	}()
	for range count {
		if _, err := pub.Publish("m.t", content, nil); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	n := int(got.Load())
	return float64(n) / time.Duration(last.Load()).Seconds(), n
}

func natsLatency(t *testing.T, url string, size int) (p50, p99 time.Duration) {
	t.Helper()
	pc, sc := natsConn(t, url), natsConn(t, url)
	sub, err := sc.SubscribeSync("bare.lat")
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	content := make([]byte, size)
	var lat []time.Duration
	for i := range 2200 {
		start := time.Now()
		if err := pc.Publish("bare.lat", content); err != nil {
			t.Fatal(err)
		}
		if err := pc.Flush(); err != nil { // a lone message goes out at once
			t.Fatal(err)
		}
		if _, err := sub.NextMsg(waitLimit); err != nil {
			t.Fatal(err)
		}
		if i >= 200 {
			lat = append(lat, time.Since(start))
		}
	}
	return percentiles(lat)
}

func natsThroughput(t *testing.T, url string, count, size int) (float64, int) {
	t.Helper()
	pc, sc := natsConn(t, url), natsConn(t, url)
	msgs := make(chan *nats.Msg, 1<<16)
	if _, err := sc.ChanSubscribe("bare.tp", msgs); err != nil {
		t.Fatal(err)
	}
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	content := make([]byte, size)
	done := make(chan struct{})
	var got int
	var last time.Duration
	start := time.Now()
	go func() {
		defer close(done)
		timer := time.NewTimer(3 * time.Second)
		for got < count {
			select {
			case <-msgs:
				got++
				last = time.Since(start)
				timer.Reset(3 * time.Second)
			case <-timer.C:
				return
			}
		}
	}()
	for range count {
		if err := pc.Publish("bare.tp", content); err != nil {
			t.Fatal(err)
		}
	}
	_ = pc.Flush()
	<-done
	return float64(got) / last.Seconds(), got
}

func natsConn(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// cpuTimes reads the CPU time each process has used so far.
func cpuTimes(t *testing.T, pids map[string]int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range pids {
		out[name] = cpuTime(t, pid)
	}
	return out
}

// reportCPU reports the CPU time each process spent per message since
// before, over n messages.
func reportCPU(t *testing.T, mode string, pids map[string]int, before map[string]time.Duration, n int) {
	var total time.Duration
	for name, pid := range pids {
		d := cpuTime(t, pid) - before[name]
		total += d
		t.Logf("RESULT CPU per message, %s throughput run: %-40s %5.1f µs", mode, name, us(d)/float64(n))
	}
	t.Logf("RESULT CPU per message, %s throughput run: %-40s %5.1f µs", mode, "in all", us(total)/float64(n))
}

// cpuTime is the user and system time a process has used so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them, in clock ticks (100 a second).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}
