package main

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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// benchSpec is one thing pubsub bench measures: a scenario of this
// library, or a floor, the same traffic through bare system calls.
type benchSpec struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`               // pubsub, fifo, file or tmpfile
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
	About      string `json:"about"`
}

func (s benchSpec) interval() time.Duration { return time.Duration(s.IntervalUs) * time.Microsecond }

// benchScenarios are the scenarios in the order they run, with their
// default sizes and counts: together about 10 s a run on two cores.
var benchScenarios = []benchSpec{
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
}

// benchFloors are the floors --floor adds, for the scenarios selected.
var benchFloors = []struct {
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

type benchOptions struct {
	count      int
	size       int
	duration   time.Duration
	interval   time.Duration
	runs       int
	floor      bool
	json       bool
	plot       string
	homeBase   string
	from       string
	cpuprofile string
}

func (a *app) newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [flags] [SCENARIO...]",
		Short: "Measure throughput, latency and cost with real processes",
		Long: `Measure the bus with real processes: publishers and subscribers are this same
program run again, on a fresh home under --home-base (made for each run and
removed after it; --home and $PUBSUB_HOME do not apply). Every scenario runs
--runs times, one round of all of them after another, and the tables give the
median of the runs.

Scenarios (default: all of them, in this order):
  1to1      one publisher publishing back to back, one subscriber (256 B)
  fanout    one publisher, eight subscribers on its topic (256 B)
  fanin     eight publishers, one subscriber (256 B)
  wildcard  the subscriber on a.+, with 1,000 idle channels on other topics
            (256 B)
  large     1 MiB messages
  latency   one message every --interval (1 ms) for --duration (2 s), at light
            load; --count does not apply to it

Each message carries the time it was sent (CLOCK_MONOTONIC, which all
processes share), its publisher and a sequence number. Subscribers take
messages with Channel.Next and keep every latency. For each scenario:
  msgs/s, MB/s    messages received (summed over subscribers) per second, from
                  the first send to the last receipt; MB is 10^6 bytes of
                  content
  p50 ... max     end-to-end latency in µs: from just before Publish to just
                  after Next returned
  pub µs/call     wall time of a Publish call (the mean)
  pub, sub CPU    user+system CPU of the publishers and the subscribers while
                  they measured (getrusage), per message; and the subscribers'
                  as a share of one CPU

Every message must arrive exactly once. A message that Publish reported it
could not deliver (a *pubsub.DeliveryError) is counted as not delivered and
the run goes on; any such message makes the exit status 1, after the tables.
A message lost without a report, a duplicate or a corrupt message fails the
run at once.

With --floor it also measures the floors, the same traffic with no library:
  fifo     records of an 8-byte id and the content through one FIFO
  file     the minimal file-per-message path: create, write and close a file
           in the subscriber's directory, write its 8-byte id on a FIFO kept
           open; the subscriber reads ids, then opens, reads, closes and
           unlinks each file (for 1to1, fanout, latency and large)
  tmpfile  as file, but the file staged as Publish stages it: O_TMPFILE,
           write, link into the directory, close (for 1to1)
and prints the scenarios as ratios of them, against the project's targets.

With --json, one JSON object on stdout instead of the tables: the machine,
every scenario and floor with its median and per-run values, and the ratios.
With --plot FILE, a latency percentile plot, SVG or PNG as FILE's name ends.
Exit status: 0 when everything was measured and delivered (whether or not the
targets are met), 1 when a run failed or a message was not delivered, 2 on a
usage error.`,
		Example: `  pubsub bench                           # all scenarios, 3 runs each (about a minute)
  pubsub bench --floor --plot latency.svg
  pubsub bench --runs 1 --count 10000 1to1 fanout
  pubsub bench --json latency | jq '.scenarios[0].median.latency_us'
  pubsub bench --from bench.json --plot latency.png   # table and plot of a saved --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			for _, s := range args {
				if !slices.ContainsFunc(benchScenarios, func(b benchSpec) bool { return b.Name == s }) {
					return fmt.Errorf("bench: unknown scenario %q: want %s", s, strings.Join(benchScenarioNames(), ", "))
				}
			}
			return nil
		},
		ValidArgs: benchScenarioNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.homeFlag.Changed {
				return usageErrorf("bench: --home does not apply: each run uses a fresh home under --home-base")
			}
			return a.bench(cmd.Context(), cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.count, "count", 0, "messages per publisher in every scenario (default: 50,000 for 1to1 and wildcard, 10,000 fanout, 5,000 fanin, 500 large)")
	f.IntVar(&o.size, "size", 0, "content `BYTES` in every scenario, at least 20 (default: 256, 1 MiB for large)")
	f.DurationVar(&o.duration, "duration", 2*time.Second, "how long latency publishes")
	f.DurationVar(&o.interval, "interval", time.Millisecond, "latency: time between messages")
	f.IntVar(&o.runs, "runs", 3, "runs of each scenario; the tables give medians")
	f.BoolVar(&o.floor, "floor", false, "also measure the floors, and print ratios against them")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of tables")
	f.StringVar(&o.plot, "plot", "", "write a latency percentile plot to `FILE` (.svg or .png)")
	f.StringVar(&o.homeBase, "home-base", "/dev/shm", "make each run's home in `DIR`")
	f.StringVar(&o.from, "from", "", "measure nothing: print the tables (or --json, --plot) of a report saved with --json in `FILE`")
	f.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of every worker process into `DIR`")
	_ = f.MarkHidden("cpuprofile")
	cmd.AddCommand(a.newBenchWorkerCmd())
	return cmd
}

func benchScenarioNames() []string {
	var names []string
	for _, s := range benchScenarios {
		names = append(names, s.Name)
	}
	return names
}

// benchPlan returns what to measure: the scenarios named (all when none
// is), with the flags applied, and their floors with --floor.
func benchPlan(o benchOptions, names []string) (scenarios, floors []benchSpec) {
	for _, s := range benchScenarios {
		if len(names) > 0 && !slices.Contains(names, s.Name) {
			continue
		}
		if o.size > 0 {
			s.Size = o.size
		}
		if s.IntervalUs > 0 {
			s.IntervalUs = o.interval.Microseconds()
			s.Count = max(1, int(o.duration/o.interval))
		} else if o.count > 0 {
			s.Count = o.count
		}
		scenarios = append(scenarios, s)
	}
	if !o.floor {
		return scenarios, nil
	}
	for _, f := range benchFloors {
		i := slices.IndexFunc(scenarios, func(s benchSpec) bool { return s.Name == f.scenario })
		if i < 0 {
			continue
		}
		s := scenarios[i]
		floors = append(floors, benchSpec{
			Name: f.kind + "/" + s.Name, Kind: f.kind, Scenario: s.Name,
			Publishers: s.Publishers, Subs: s.Subs, Size: s.Size, Count: s.Count, IntervalUs: s.IntervalUs,
			About: f.about,
		})
	}
	return scenarios, floors
}

func (a *app) bench(ctx context.Context, cmd *cobra.Command, o benchOptions, names []string) error {
	switch {
	case o.runs < 1:
		return usageErrorf("invalid --runs %d: want at least 1", o.runs)
	case o.count < 0:
		return usageErrorf("invalid --count %d: want a number of messages", o.count)
	case cmd.Flags().Changed("size") && o.size < benchMinSize:
		return usageErrorf("invalid --size %d: want at least %d bytes (the send time, a sequence number and a publisher index)", o.size, benchMinSize)
	case o.duration <= 0 || o.interval <= 0:
		return usageErrorf("invalid --duration %v or --interval %v: want positive durations", o.duration, o.interval)
	case o.plot != "" && !strings.HasSuffix(o.plot, ".svg") && !strings.HasSuffix(o.plot, ".png"):
		return usageErrorf("invalid --plot %q: want a file name ending in .svg or .png", o.plot)
	}
	if o.from != "" {
		if cmd.Flags().NFlag() > countSet(cmd, "from", "json", "plot") || len(names) > 0 {
			return usageErrorf("bench --from takes only --json and --plot: it measures nothing")
		}
		rep, err := loadBenchReport(o.from)
		if err != nil {
			return err
		}
		return a.benchOutput(rep, o)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("pubsub: bench: find this program to run it again: %w", err)
	}
	if fi, err := os.Stat(o.homeBase); err != nil || !fi.IsDir() {
		return fmt.Errorf("pubsub: bench: --home-base %s: not a directory", o.homeBase)
	}
	if o.cpuprofile != "" {
		if err := os.MkdirAll(o.cpuprofile, 0o777); err != nil {
			return fmt.Errorf("pubsub: bench: %w", err)
		}
	}
	scenarios, floors := benchPlan(o, names)
	r := &benchRunner{exe: exe, o: o}
	if isTerminal(a.stderr) {
		r.progress = a.stderr
	}
	results := make([][]benchRun, len(scenarios)+len(floors))
	all := append(slices.Clone(scenarios), floors...)
	for run := 1; run <= o.runs; run++ {
		for i, s := range all {
			res, err := r.run(ctx, s, run)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("pubsub: bench: %v", context.Cause(ctx))
				}
				return fmt.Errorf("pubsub: bench: %s, run %d: %w", s.Name, run, err)
			}
			results[i] = append(results[i], res)
		}
	}
	rep := newBenchReport(o, os.Args[1:])
	for i, s := range all {
		br := benchResult{benchSpec: s, Median: medianRun(results[i]), Runs: results[i]}
		if i < len(scenarios) {
			rep.Scenarios = append(rep.Scenarios, br)
		} else {
			rep.Floors = append(rep.Floors, br)
		}
	}
	rep.Ratios = benchRatios(rep)
	if err := a.benchOutput(rep, o); err != nil {
		return err
	}
	if lost, first := rep.losses(); len(lost) > 0 {
		return fmt.Errorf("pubsub: bench: Publish reported messages it could not deliver: %s; the first: %s", strings.Join(lost, ", "), first)
	}
	return nil
}

func countSet(cmd *cobra.Command, names ...string) int {
	n := 0
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			n++
		}
	}
	return n
}

// benchRun is what one run of a scenario or floor measured.
type benchRun struct {
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
func medianRun(runs []benchRun) benchRun {
	m := func(f func(r benchRun) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	lat := make([]float64, len(percentileRanks))
	for i := range lat {
		lat[i] = m(func(r benchRun) float64 { return r.LatencyUs.values()[i] })
	}
	return benchRun{
		Deliveries:  int64(m(func(r benchRun) float64 { return float64(r.Deliveries) })),
		Lost:        int64(m(func(r benchRun) float64 { return float64(r.Lost) })),
		Duplicates:  int64(m(func(r benchRun) float64 { return float64(r.Duplicates) })),
		Seconds:     m(func(r benchRun) float64 { return r.Seconds }),
		MsgsPerS:    m(func(r benchRun) float64 { return r.MsgsPerS }),
		MBPerS:      m(func(r benchRun) float64 { return r.MBPerS }),
		SendRate:    m(func(r benchRun) float64 { return r.SendRate }),
		LatencyUs:   latencyFromValues(lat),
		PublishUs:   m(func(r benchRun) float64 { return r.PublishUs }),
		PublishP50:  m(func(r benchRun) float64 { return r.PublishP50 }),
		PublishP99:  m(func(r benchRun) float64 { return r.PublishP99 }),
		PubCPUUs:    m(func(r benchRun) float64 { return r.PubCPUUs }),
		SubCPUUs:    m(func(r benchRun) float64 { return r.SubCPUUs }),
		SubCPUPct:   m(func(r benchRun) float64 { return r.SubCPUPct }),
		SubMaxRSSKB: int64(m(func(r benchRun) float64 { return float64(r.SubMaxRSSKB) })),
	}
}

// benchRunner runs the worker processes of one scenario at a time.
type benchRunner struct {
	exe      string
	o        benchOptions
	progress io.Writer // nil: quiet
}

// Bounds on the waits of a run. Nothing sleeps: these only turn a hang
// into an error.
const (
	benchReadyWait = 30 * time.Second // for a worker to be set up
	benchSendWait  = 10 * time.Minute // for the publishers to finish
	benchDrainWait = 30 * time.Second // then for the subscribers, plus benchDrainPer each message
	benchDrainPer  = 100 * time.Microsecond
)

// run runs spec once, on a fresh directory under --home-base.
func (r *benchRunner) run(ctx context.Context, spec benchSpec, run int) (res benchRun, err error) {
	if r.progress != nil {
		fmt.Fprintf(r.progress, "pubsub: bench: run %d/%d: %-14s", run, r.o.runs, spec.Name)
		defer func() {
			if err == nil {
				fmt.Fprintf(r.progress, " %12s msgs/s  p50 %8s µs\n", thousands(res.MsgsPerS), fmtUs(res.LatencyUs.P50))
			} else {
				fmt.Fprintln(r.progress)
			}
		}()
	}
	dir, err := os.MkdirTemp(r.o.homeBase, "pubsub-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	home := filepath.Join(dir, "home")
	var procs []*benchProc
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	start := func(what, role string, args ...string) (*benchProc, error) {
		full := []string{"--home", home, "bench", "worker", role,
			"--size", strconv.Itoa(spec.Size), "--count", strconv.Itoa(spec.Count), "--dir", dir}
		if r.o.cpuprofile != "" {
			name := fmt.Sprintf("%s-%s-%s-run%d.prof", strings.ReplaceAll(spec.Name, "/", "-"), strings.ReplaceAll(what, " ", ""), role, run)
			full = append(full, "--cpuprofile", filepath.Join(r.o.cpuprofile, name))
		}
		p, err := startBenchProc(r.exe, what, append(full, args...))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		return p, p.waitReady(ctx)
	}

	var idle *benchProc
	if spec.Idle > 0 {
		if idle, err = start("idle channels", "idle", "--channels", strconv.Itoa(spec.Idle)); err != nil {
			return res, err
		}
	}
	subRole, pubRole := "sub", "pub"
	var pubArgs []string
	if spec.Files {
		pubArgs = []string{"--files"}
	}
	if spec.Batch > 0 {
		pubArgs = append(pubArgs, "--batch", strconv.Itoa(spec.Batch))
	}
	switch spec.Kind {
	case "fifo":
		subRole, pubRole = "fifo-sub", "fifo-pub"
	case "file":
		subRole, pubRole = "file-sub", "file-pub"
	case "tmpfile":
		subRole, pubRole = "file-sub", "file-pub"
		pubArgs = []string{"--tmpfile"}
	}
	subs := make([]*benchProc, spec.Subs)
	for i := range subs {
		subs[i], err = start(fmt.Sprintf("subscriber %d", i+1), subRole,
			"--topic", spec.Pattern, "--pubs", strconv.Itoa(spec.Publishers), "--index", strconv.Itoa(i),
			"--samples", filepath.Join(dir, fmt.Sprintf("sub%d.lat", i)))
		if err != nil {
			return res, err
		}
	}
	pubs := make([]*benchProc, spec.Publishers)
	for i := range pubs {
		pubs[i], err = start(fmt.Sprintf("publisher %d", i+1), pubRole, append([]string{
			"--topic", spec.Topic, "--index", strconv.Itoa(i), "--reach", strconv.Itoa(spec.Subs),
			"--interval", spec.interval().String(),
			"--samples", filepath.Join(dir, fmt.Sprintf("pub%d.calls", i))}, pubArgs...)...)
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
	if err := waitProcs(ctx, pubs, subs, benchSendWait); err != nil {
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
	if subRole == "sub" {
		for _, s := range subs {
			fmt.Fprintf(s.stdin, "expect %d\n", spec.Publishers*spec.Count-missed[s.info])
		}
	}
	perSub := spec.Publishers * spec.Count
	if err := waitProcs(ctx, subs, nil, benchDrainWait+time.Duration(perSub)*benchDrainPer); err != nil {
		return res, err
	}
	if idle != nil {
		idle.stdin.Close()
		if err := waitProcs(ctx, []*benchProc{idle}, nil, benchDrainWait); err != nil {
			return res, err
		}
	}
	return benchMeasure(spec, pubs, subs, missed)
}

// benchMeasure computes a run's figures from what its workers reported.
func benchMeasure(spec benchSpec, pubs, subs []*benchProc, missed map[string]int) (benchRun, error) {
	var res benchRun
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

// benchProc is one worker process.
type benchProc struct {
	what   string // "subscriber 2"
	args   []string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	ready  chan struct{} // closed when it prints "ready"
	info   string        // what follows "ready" on that line
	done   chan struct{} // closed once it has exited
	last   string        // its last line on stdout, once done
	err    error         // how it exited, once done
	errBuf bytes.Buffer
}

func startBenchProc(exe, what string, args []string) (*benchProc, error) {
	p := &benchProc{what: what, args: args, ready: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(exe, args...)
	// Its own process group, so a ^C reaches only pubsub bench, which
	// stops the workers and removes the home; and killed if we die.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.cmd.Stderr = &p.errBuf
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
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
func (p *benchProc) failure(err error) error {
	msg := strings.TrimSpace(p.errBuf.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:] // its last line says why
	}
	if msg != "" {
		return fmt.Errorf("%s: %v: %s", p.what, err, msg)
	}
	return fmt.Errorf("%s: %v", p.what, err)
}

func (p *benchProc) waitReady(ctx context.Context) error {
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
	case <-time.After(benchReadyWait):
		return fmt.Errorf("%s: not ready after %v", p.what, benchReadyWait)
	}
}

// waitProcs waits for every process in procs to exit, for at most limit;
// a process in watch that fails meanwhile fails the wait.
func waitProcs(ctx context.Context, procs, watch []*benchProc, limit time.Duration) error {
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
func anyFailed(procs []*benchProc) <-chan *benchProc {
	c := make(chan *benchProc, len(procs))
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

func (p *benchProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// result decodes the JSON line the worker printed last.
func (p *benchProc) result() (workerResult, error) {
	var w workerResult
	if err := json.Unmarshal([]byte(p.last), &w); err != nil {
		return w, fmt.Errorf("%s: result %q: %w", p.what, p.last, err)
	}
	return w, nil
}

func (p *benchProc) samples() string {
	i := slices.Index(p.args, "--samples")
	return p.args[i+1]
}

func (p *benchProc) maxRSS() int64 {
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss // kilobytes on Linux
	}
	return 0
}
