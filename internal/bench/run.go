package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// spec is one thing pubsub bench measures: a scenario of this
// library, or a floor, the same traffic through bare system calls.
type spec struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`               // pubsub, fifo, file, tmpfile or nats
	Scenario   string `json:"scenario,omitempty"` // for a floor, the scenario it is the floor of
	Publishers int    `json:"publishers"`
	Subs       int    `json:"subscribers"`
	Size       int    `json:"size"`
	Count      int    `json:"count"` // messages per publisher
	IntervalUs int64  `json:"interval_us,omitempty"`
	Idle       int    `json:"idle_channels,omitempty"`
	Topic      string `json:"topic,omitempty"`
	Pattern    string `json:"pattern,omitempty"`
	Files      bool   `json:"files_only,omitempty"` // every message a file, as a Python peer gets them
	Batch      int    `json:"batch,omitempty"`      // messages per PublishBatch call; 0: Publish
	Async      bool   `json:"async,omitempty"`      // PublishAsync, then Flush
	Queue      bool   `json:"queue,omitempty"`      // the subscribers are workers of one queue
	Backlog    int    `json:"backlog,omitempty"`    // messages the queue holds before the run
	About      string `json:"about"`
}

func (s spec) interval() time.Duration { return time.Duration(s.IntervalUs) * time.Microsecond }

// scenarioSpecs are the scenarios in the order they run, with their
// default sizes and counts: together about 10 s a run on two cores.
var scenarioSpecs = []spec{
	{Name: "1to1", Publishers: 1, Subs: 1, Size: 256, Count: 50_000, Topic: "bench.one", Pattern: "bench.one",
		About: "one publisher, back to back, one subscriber"},
	{Name: "fanout", Publishers: 1, Subs: 8, Size: 256, Count: 10_000, Topic: "bench.fan", Pattern: "bench.fan",
		About: "one publisher, eight subscribers on its topic"},
	{Name: "fanin", Publishers: 8, Subs: 1, Size: 256, Count: 5_000, Topic: "bench.in", Pattern: "bench.in",
		About: "eight publishers, one subscriber"},
	{Name: "wildcard", Publishers: 1, Subs: 1, Size: 256, Count: 50_000, Idle: 1000, Topic: "a.b", Pattern: "a.+",
		About: "the subscriber on a.+, 1,000 idle channels on other topics"},
	{Name: "large", Publishers: 1, Subs: 1, Size: 1 << 20, Count: 500, Topic: "bench.large", Pattern: "bench.large",
		About: "1 MiB messages"},
	{Name: "latency", Publishers: 1, Subs: 1, Size: 256, IntervalUs: 1000, Topic: "bench.lat", Pattern: "bench.lat",
		About: "one message every millisecond, the subscriber parked in Next"},
	// Between Go processes small messages go inline in the FIFO; these are
	// the same scenarios on the plain formix-pubsub path, one file each.
	{Name: "1to1-files", Publishers: 1, Subs: 1, Size: 256, Count: 50_000, Topic: "bench.one", Pattern: "bench.one", Files: true,
		About: "1to1 with every message a file, as a formix-pubsub peer gets them"},
	{Name: "fanout-files", Publishers: 1, Subs: 8, Size: 256, Count: 10_000, Topic: "bench.fan", Pattern: "bench.fan", Files: true,
		About: "fanout with every message a file"},
	{Name: "latency-files", Publishers: 1, Subs: 1, Size: 256, IntervalUs: 1000, Topic: "bench.lat", Pattern: "bench.lat", Files: true,
		About: "latency with every message a file"},
	// Go to Go, several messages a FIFO write.
	{Name: "1to1-batch", Publishers: 1, Subs: 1, Size: 256, Count: 200_000, Topic: "bench.one", Pattern: "bench.one", Batch: 64,
		About: "1to1 with PublishBatch, 64 messages a call"},
	{Name: "fanout-batch", Publishers: 1, Subs: 8, Size: 256, Count: 20_000, Topic: "bench.fan", Pattern: "bench.fan", Batch: 64,
		About: "fanout with PublishBatch, 64 messages a call"},
	// Go to Go, PublishAsync: its writer sends several messages a FIFO
	// write when they come faster than it writes.
	{Name: "1to1-async", Publishers: 1, Subs: 1, Size: 256, Count: 50_000, Topic: "bench.one", Pattern: "bench.one", Async: true,
		About: "1to1 with PublishAsync, then Flush"},
	{Name: "fanout-async", Publishers: 1, Subs: 8, Size: 256, Count: 10_000, Topic: "bench.fan", Pattern: "bench.fan", Async: true,
		About: "fanout with PublishAsync, then Flush"},
	// Work queues: the subscribers are the workers of one queue, each
	// message handled by one of them and acknowledged at once.
	{Name: "queue", Publishers: 1, Subs: 4, Size: 256, Count: 50_000, Topic: "bench.q", Pattern: "bench.q", Queue: true,
		About: "one publisher, a queue of four workers acknowledging each message"},
	{Name: "queue-latency", Publishers: 1, Subs: 1, Size: 256, IntervalUs: 1000, Topic: "bench.ql", Pattern: "bench.ql", Queue: true,
		About: "latency through a queue, its one worker parked in Next"},
	{Name: "queue-publish", Publishers: 1, Size: 256, Count: 50_000, Topic: "bench.qp", Pattern: "bench.qp", Queue: true,
		About: "Publish into a queue with no worker, empty at the start"},
	{Name: "queue-backlog", Publishers: 1, Size: 256, Count: 50_000, Topic: "bench.qp", Pattern: "bench.qp", Queue: true, Backlog: 1_000_000,
		About: "queue-publish into a queue holding 1,000,000 messages"},
}

// floorSpecs are the floors --floor adds, for the scenarios selected.
var floorSpecs = []struct {
	kind, scenario, about string
}{
	{"fifo", "1to1", "records of 8 bytes of id and the content through one FIFO"},
	{"file", "1to1", "create, write, close a file in the subscriber's directory, its id on a FIFO; the subscriber reads ids, opens, reads, closes, unlinks"},
	{"file", "fanout", "as file/1to1, the publisher writing a file into each of eight subscribers' directories"},
	{"tmpfile", "1to1", "as file, but staged as Publish does: O_TMPFILE, write, link into the directory, close"},
	{"fifo", "latency", "as fifo/1to1, one message every millisecond"},
	{"file", "latency", "as file/1to1, one message every millisecond"},
	{"file", "large", "as file/1to1, 1 MiB messages"},
}

// natsScenarios are the scenarios --nats runs through a NATS server too.
var natsScenarios = []string{"1to1", "fanout", "fanin", "large", "latency"}

// Options says what Run measures and how.
type Options struct {
	// Scenarios names the scenarios to run, in any order; none: all of
	// them. [Scenarios] lists the names.
	Scenarios []string
	Count     int           // messages per publisher; 0: each scenario's default
	Size      int           // content bytes, at least MinSize; 0: each scenario's default
	Duration  time.Duration // how long the latency scenarios publish
	Interval  time.Duration // the latency scenarios: time between messages
	Runs      int           // runs of each scenario; the report gives medians
	Floor     bool          // also measure the floors
	// NATS, if not empty, is the URL of a nats-server: the scenarios that
	// NATS core can carry run through it too, with nats.go publishers and
	// subscribers.
	NATS     string
	HomeBase string // the directory each run's home is made in
	// Pin runs the publishers (and every other worker) on one CPU and the
	// subscribers on another (Linux only): the scheduler then cannot run
	// a woken subscriber on the CPU its publisher is about to leave, which
	// favours a publisher that goes to sleep soonest after its write.
	Pin bool
	// CPUProfile, if not empty, is a directory for a CPU profile of every
	// worker process.
	CPUProfile string
	// Exe is the pubsub program. Run starts each worker as
	//	Exe --home HOME bench worker ROLE FLAGS...
	// with the flags of [Worker.Args].
	Exe string
	// Command is the command line, as the report shows it.
	Command string
	// Progress, if not nil, gets a line for each run as it ends.
	Progress io.Writer
}

// Scenarios returns the names of the scenarios, in the order they run.
func Scenarios() []string {
	var names []string
	for _, s := range scenarioSpecs {
		names = append(names, s.Name)
	}
	return names
}

// plan returns what to measure: the scenarios named (all when none
// is), with the options applied, their floors with o.Floor, and their
// NATS runs with o.NATS.
func plan(o Options) (scenarios, floors, peers []spec) {
	for _, s := range scenarioSpecs {
		if len(o.Scenarios) > 0 && !slices.Contains(o.Scenarios, s.Name) {
			continue
		}
		if o.Size > 0 {
			s.Size = o.Size
		}
		if s.IntervalUs > 0 {
			s.IntervalUs = o.Interval.Microseconds()
			s.Count = max(1, int(o.Duration/o.Interval))
		} else if o.Count > 0 {
			s.Count = o.Count
		}
		scenarios = append(scenarios, s)
	}
	if o.NATS != "" {
		for _, s := range scenarios {
			if slices.Contains(natsScenarios, s.Name) {
				s.Name, s.Kind, s.About = "nats/"+s.Name, "nats", "as "+s.Name+", through a nats-server: nats.go Publish, SubscribeSync and NextMsg"
				peers = append(peers, s)
			}
		}
	}
	if !o.Floor {
		return scenarios, nil, peers
	}
	for _, f := range floorSpecs {
		i := slices.IndexFunc(scenarios, func(s spec) bool { return s.Name == f.scenario })
		if i < 0 {
			continue
		}
		s := scenarios[i]
		floors = append(floors, spec{
			Name: f.kind + "/" + s.Name, Kind: f.kind, Scenario: s.Name,
			Publishers: s.Publishers, Subs: s.Subs, Size: s.Size, Count: s.Count, IntervalUs: s.IntervalUs,
			About: f.about,
		})
	}
	return scenarios, floors, peers
}

// Run measures the scenarios o asks for, o.Runs times each, one round of
// all of them after another, and returns the report. A message that
// Publish reported it could not deliver does not fail the run: the
// report counts it, and [Report.Err] returns it. Any other failure, or
// ctx ending, ends Run with an error. SIGINT and SIGTERM end it too, after
// the workers are stopped and the homes removed.
func Run(ctx context.Context, o Options) (*Report, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.CPUProfile != "" {
		if err := os.MkdirAll(o.CPUProfile, 0o777); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	r := &runner{o: o, pubCPU: -1, subCPU: -1}
	if o.Pin {
		var err error
		if r.pubCPU, r.subCPU, err = twoCPUs(); err != nil {
			return nil, fmt.Errorf("bench: --pin: %w", err)
		}
	}
	scenarios, floors, peers := plan(o)
	all := slices.Concat(scenarios, floors, peers)
	results := make([][]figures, len(all))
	for run := 1; run <= o.Runs; run++ {
		for i, s := range all {
			res, err := r.run(ctx, s, run)
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("bench: %v", context.Cause(ctx))
				}
				return nil, fmt.Errorf("bench: %s, run %d: %w", s.Name, run, err)
			}
			results[i] = append(results[i], res)
		}
	}
	rep := newReport(o)
	for i, s := range all {
		br := result{spec: s, Median: medianRun(results[i]), Runs: results[i]}
		switch {
		case i < len(scenarios):
			rep.Scenarios = append(rep.Scenarios, br)
		case i < len(scenarios)+len(floors):
			rep.Floors = append(rep.Floors, br)
		default:
			rep.NATS = append(rep.NATS, br)
		}
	}
	rep.Ratios = ratios(rep)
	return &Report{rep}, nil
}

// figures is what one run of a scenario or floor measured.
type figures struct {
	Deliveries int64  `json:"deliveries"`           // messages received, summed over subscribers
	Lost       int64  `json:"lost"`                 // deliveries Publish reported it could not make
	LostError  string `json:"lost_error,omitempty"` // the first such report
	// PublishShort counts Publish calls that returned fewer channels than
	// there were subscribers, without an error, although every subscriber
	// received the message (or the run would have failed).
	PublishShort int64          `json:"publish_short,omitempty"`
	Duplicates   int64          `json:"duplicates"`
	Seconds      float64        `json:"seconds"` // first send to last receipt
	MsgsPerS     float64        `json:"msgs_per_s"`
	MBPerS       float64        `json:"mb_per_s"`
	SendRate     float64        `json:"send_rate"` // messages per second the publishers sent, together
	LatencyUs    latencySummary `json:"latency_us"`
	PublishUs    float64        `json:"publish_us_per_call"` // mean wall time of a Publish (or floor send)
	PublishP50   float64        `json:"publish_us_p50"`
	PublishP99   float64        `json:"publish_us_p99"`
	PubCPUUs     float64        `json:"pub_cpu_us_per_msg"`
	SubCPUUs     float64        `json:"sub_cpu_us_per_msg"`
	SubCPUPct    float64        `json:"sub_cpu_pct"` // of one CPU, summed over subscribers
	SubMaxRSSKB  int64          `json:"sub_max_rss_kb"`
}

// medianRun takes the median of every figure over the runs.
func medianRun(runs []figures) figures {
	m := func(f func(r figures) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	lat := make([]float64, len(percentileRanks))
	for i := range lat {
		lat[i] = m(func(r figures) float64 { return r.LatencyUs.values()[i] })
	}
	return figures{
		Deliveries:  int64(m(func(r figures) float64 { return float64(r.Deliveries) })),
		Lost:        int64(m(func(r figures) float64 { return float64(r.Lost) })),
		Duplicates:  int64(m(func(r figures) float64 { return float64(r.Duplicates) })),
		Seconds:     m(func(r figures) float64 { return r.Seconds }),
		MsgsPerS:    m(func(r figures) float64 { return r.MsgsPerS }),
		MBPerS:      m(func(r figures) float64 { return r.MBPerS }),
		SendRate:    m(func(r figures) float64 { return r.SendRate }),
		LatencyUs:   latencyFromValues(lat),
		PublishUs:   m(func(r figures) float64 { return r.PublishUs }),
		PublishP50:  m(func(r figures) float64 { return r.PublishP50 }),
		PublishP99:  m(func(r figures) float64 { return r.PublishP99 }),
		PubCPUUs:    m(func(r figures) float64 { return r.PubCPUUs }),
		SubCPUUs:    m(func(r figures) float64 { return r.SubCPUUs }),
		SubCPUPct:   m(func(r figures) float64 { return r.SubCPUPct }),
		SubMaxRSSKB: int64(m(func(r figures) float64 { return float64(r.SubMaxRSSKB) })),
	}
}

// runner runs the worker processes of one scenario at a time.
type runner struct {
	o              Options
	pubCPU, subCPU int // with Pin, where the workers run; -1 otherwise
}

// Bounds on the waits of a run. Nothing sleeps: these only turn a hang
// into an error.
const (
	readyWait = 30 * time.Second // for a worker to be set up
	sendWait  = 10 * time.Minute // for the publishers to finish
	drainWait = 30 * time.Second // then for the subscribers, plus drainPer each message
	drainPer  = 100 * time.Microsecond
)

// run runs spec once, on a fresh directory under o.HomeBase.
func (r *runner) run(ctx context.Context, spec spec, run int) (res figures, err error) {
	if p := r.o.Progress; p != nil {
		fmt.Fprintf(p, "pubsub: bench: run %d/%d: %-14s", run, r.o.Runs, spec.Name)
		defer func() {
			if err == nil {
				fmt.Fprintf(p, " %12s msgs/s  p50 %8s µs\n", thousands(res.MsgsPerS), fmtUs(res.LatencyUs.P50))
			} else {
				fmt.Fprintln(p)
			}
		}()
	}
	dir, err := os.MkdirTemp(r.o.HomeBase, "pubsub-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	home := filepath.Join(dir, "home")
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	start := func(what string, w Worker) (*proc, error) {
		w.Size, w.Count, w.Dir = spec.Size, spec.Count, dir
		if r.o.CPUProfile != "" {
			name := fmt.Sprintf("%s-%s-%s-run%d.prof", strings.ReplaceAll(spec.Name, "/", "-"), strings.ReplaceAll(what, " ", ""), w.Role, run)
			w.CPUProfile = filepath.Join(r.o.CPUProfile, name)
		}
		cpu := r.pubCPU
		if strings.HasSuffix(w.Role, "sub") {
			cpu = r.subCPU
		}
		p, err := startProc(r.o.Exe, what, w.Samples, append([]string{"--home", home, "bench", "worker"}, w.Args()...), cpu)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		return p, p.waitReady(ctx)
	}

	if spec.Queue {
		// The queue, made (and filled with its backlog) before anyone
		// joins it.
		setup, err := start("queue", Worker{Role: "qsetup", Topic: spec.Pattern,
			Backlog: spec.Backlog, Pubs: spec.Publishers})
		if err != nil {
			return res, err
		}
		if err := waitProcs(ctx, []*proc{setup}, nil, readyWait+time.Duration(spec.Backlog)*drainPer); err != nil {
			return res, err
		}
	}
	var idle *proc
	if spec.Idle > 0 {
		if idle, err = start("idle channels", Worker{Role: "idle", Channels: spec.Idle}); err != nil {
			return res, err
		}
	}
	subRole, pubRole := "sub", "pub"
	switch spec.Kind {
	case "fifo":
		subRole, pubRole = "fifo-sub", "fifo-pub"
	case "file", "tmpfile":
		subRole, pubRole = "file-sub", "file-pub"
	case "nats":
		subRole, pubRole = "nats-sub", "nats-pub"
	}
	reach := spec.Subs
	if spec.Queue {
		subRole, reach = "qsub", 1 // a queue counts once, whatever its workers
	}
	subs := make([]*proc, spec.Subs)
	for i := range subs {
		subs[i], err = start(fmt.Sprintf("subscriber %d", i+1), Worker{
			Role: subRole, Topic: spec.Pattern, Pubs: spec.Publishers, Index: i, NATS: r.o.NATS,
			Samples: filepath.Join(dir, fmt.Sprintf("sub%d.lat", i))})
		if err != nil {
			return res, err
		}
	}
	pubs := make([]*proc, spec.Publishers)
	for i := range pubs {
		pubs[i], err = start(fmt.Sprintf("publisher %d", i+1), Worker{
			Role: pubRole, Topic: spec.Topic, Index: i, Reach: reach, Interval: spec.interval(),
			Files: spec.Files, Batch: spec.Batch, Async: spec.Async, Tmpfile: spec.Kind == "tmpfile", NATS: r.o.NATS,
			Samples: filepath.Join(dir, fmt.Sprintf("pub%d.calls", i))})
		if err != nil {
			return res, err
		}
	}
	for _, p := range pubs {
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			return res, fmt.Errorf("%s: start: %w", p.what, err)
		}
	}
	// The publishers finish first; a subscriber that exits before them
	// failed.
	if err := waitProcs(ctx, pubs, subs, sendWait); err != nil {
		return res, err
	}
	// Tell each subscriber how many messages to wait for: fewer when
	// Publish reported deliveries it could not make.
	missed := map[string]int{}
	for _, p := range pubs {
		w, err := p.result()
		if err != nil {
			return res, err
		}
		for dir, n := range w.Missed {
			missed[dir] += n
		}
	}
	switch subRole {
	case "sub":
		for _, s := range subs {
			fmt.Fprintf(s.stdin, "expect %d\n", spec.Publishers*spec.Count-missed[s.info])
		}
	case "qsub":
		for _, s := range subs {
			fmt.Fprintln(s.stdin, "drain") // take what is left, then stop
		}
	}
	perSub := spec.Publishers * spec.Count
	if err := waitProcs(ctx, subs, nil, drainWait+time.Duration(perSub)*drainPer); err != nil {
		return res, err
	}
	if idle != nil {
		idle.stdin.Close()
		if err := waitProcs(ctx, []*proc{idle}, nil, drainWait); err != nil {
			return res, err
		}
	}
	return measure(spec, pubs, subs, missed)
}

// measure computes a run's figures from what its workers reported.
func measure(spec spec, pubs, subs []*proc, missed map[string]int) (figures, error) {
	var res figures
	var sent, callNs, loopNs int64
	var pubCPU time.Duration
	var calls []int64
	for _, p := range pubs {
		w, err := p.result()
		if err != nil {
			return res, err
		}
		sent += int64(w.Sent)
		res.PublishShort += int64(w.Short)
		if res.LostError == "" {
			res.LostError = w.MissedError
		}
		callNs += w.CallNs
		loopNs = max(loopNs, w.LoopNs)
		pubCPU += time.Duration(w.CPUNs)
		c, err := readSamples(p.samples())
		if err != nil {
			return res, err
		}
		calls = append(calls, c...)
	}
	var first, last int64
	var subCPU time.Duration
	var lat []int64
	for i, p := range subs {
		w, err := p.result()
		if err != nil {
			return res, err
		}
		if spec.Queue {
			w.Expected = w.Received // shared: checked in all below
		}
		if w.Excused != missed[p.info] || w.Received != w.Expected-w.Excused || w.Duplicates > 0 {
			return res, fmt.Errorf("%s received %d of %d messages (%d reported missed), %d duplicates",
				p.what, w.Received, w.Expected, missed[p.info], w.Duplicates)
		}
		res.Deliveries += int64(w.Received)
		res.Duplicates += int64(w.Duplicates)
		if i == 0 || w.FirstSendNs < first {
			first = w.FirstSendNs
		}
		last = max(last, w.LastRecvNs)
		subCPU += time.Duration(w.CPUNs)
		res.SubMaxRSSKB = max(res.SubMaxRSSKB, p.maxRSS())
		l, err := readSamples(p.samples())
		if err != nil {
			return res, err
		}
		lat = append(lat, l...)
	}
	want := int64(spec.Subs * spec.Publishers * spec.Count)
	if spec.Queue {
		want = int64(min(spec.Subs, 1) * spec.Publishers * spec.Count) // each message once, to one worker
	}
	res.Lost = want - res.Deliveries
	var reported int64
	for _, n := range missed {
		reported += int64(n)
	}
	if res.Lost != reported || sent != int64(spec.Publishers*spec.Count) {
		return res, fmt.Errorf("sent %d, received %d of %d deliveries, %d reported missed", sent, res.Deliveries, want, reported)
	}
	res.Seconds = float64(last-first) / 1e9
	if res.Seconds > 0 {
		res.MsgsPerS = float64(res.Deliveries) / res.Seconds
		res.MBPerS = float64(res.Deliveries) * float64(spec.Size) / res.Seconds / 1e6
		res.SubCPUPct = subCPU.Seconds() / res.Seconds * 100
	}
	if loopNs > 0 {
		res.SendRate = float64(sent) / (float64(loopNs) / 1e9)
	}
	res.LatencyUs = summarize(lat)
	if sent > 0 {
		res.PublishUs = float64(callNs) / float64(sent) / 1e3
		res.PubCPUUs = float64(pubCPU.Microseconds()) / float64(sent)
	}
	slices.Sort(calls)
	res.PublishP50 = float64(percentile(calls, 50)) / 1e3
	res.PublishP99 = float64(percentile(calls, 99)) / 1e3
	if res.Deliveries > 0 {
		res.SubCPUUs = float64(subCPU.Microseconds()) / float64(res.Deliveries)
	}
	return res, nil
}

// proc is one worker process.
type proc struct {
	what   string // "subscriber 2"
	sfile  string // its --samples file
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	ready  chan struct{} // closed when it prints "ready"
	info   string        // what follows "ready" on that line
	done   chan struct{} // closed once it has exited
	last   string        // its last line on stdout, once done
	err    error         // how it exited, once done
	errBuf bytes.Buffer
}

// startProc starts a worker, on CPU cpu alone unless it is negative.
func startProc(exe, what, samples string, args []string, cpu int) (*proc, error) {
	p := &proc{what: what, sfile: samples, ready: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(exe, args...)
	p.cmd.SysProcAttr = workerAttr()
	p.cmd.Stderr = &p.errBuf
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := startOn(p.cmd, cpu); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		readied := false
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "ready"); !readied && ok {
				readied = true
				p.info = strings.TrimSpace(rest)
				close(p.ready)
				continue
			}
			p.last = sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.err = p.cmd.Wait()
	}()
	return p, nil
}

// failure describes how the worker failed, with what it said on stderr.
func (p *proc) failure(err error) error {
	msg := strings.TrimSpace(p.errBuf.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:] // its last line says why
	}
	if msg != "" {
		return fmt.Errorf("%s: %v: %s", p.what, err, msg)
	}
	return fmt.Errorf("%s: %v", p.what, err)
}

func (p *proc) waitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		if p.err == nil {
			p.err = errors.New("exited before it was ready")
		}
		return p.failure(p.err)
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(readyWait):
		return fmt.Errorf("%s: not ready after %v", p.what, readyWait)
	}
}

// waitProcs waits for every process in procs to exit, for at most limit;
// a process in watch that fails meanwhile fails the wait.
func waitProcs(ctx context.Context, procs, watch []*proc, limit time.Duration) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	failed := anyFailed(watch)
	for _, p := range procs {
		select {
		case <-p.done:
			if p.err != nil {
				return p.failure(p.err)
			}
		case <-deadline.C:
			// A subscriber told to stop says what it is missing.
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
				if p.err != nil {
					return p.failure(p.err)
				}
			case <-time.After(5 * time.Second):
			}
			return fmt.Errorf("%s: not done after %v", p.what, limit)
		case <-ctx.Done():
			return context.Cause(ctx)
		case w := <-failed:
			return w.failure(w.err)
		}
	}
	return nil
}

// anyFailed returns a channel that delivers the first of procs to exit
// with an error.
func anyFailed(procs []*proc) <-chan *proc {
	c := make(chan *proc, len(procs))
	for _, p := range procs {
		go func() {
			<-p.done
			if p.err != nil {
				c <- p
			}
		}()
	}
	return c
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// result decodes the JSON line the worker printed last.
func (p *proc) result() (workerResult, error) {
	var w workerResult
	if err := json.Unmarshal([]byte(p.last), &w); err != nil {
		return w, fmt.Errorf("%s: result %q: %w", p.what, p.last, err)
	}
	return w, nil
}

func (p *proc) samples() string { return p.sfile }

func (p *proc) maxRSS() int64 { return maxRSSKiB(p.cmd.ProcessState) }
