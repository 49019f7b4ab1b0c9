package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pubsub-go/pubsub/bridge"
	"github.com/pubsub-go/pubsub/internal/bench"
)

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
	nats       string
	pin        bool
}

func (a *app) newBenchCmd() *cobra.Command {
	var o benchOptions
	names := bench.Scenarios()
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
  1to1-files, fanout-files, latency-files: every message a file, as a
            formix-pubsub peer gets it; 1to1-batch, fanout-batch: PublishBatch;
            1to1-async, fanout-async: PublishAsync, then Flush
  queue     one publisher, a work queue shared by four workers, each message
            acknowledged at once; queue-latency: latency through a queue;
            queue-publish, queue-backlog: Publish into a queue with no worker,
            empty, and holding 1,000,000 messages

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

With --nats URL it also runs 1to1, fanout, fanin, large and latency through
the nats-server at URL, with nats.go publishers (Publish, then Flush) and
subscribers (SubscribeSync, NextMsg): the same messages, counting and checks
(a message core NATS drops fails the run). The ratios compare the two;
scripts/nats-bench.sh starts a server and runs it.

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
  pubsub bench --nats nats://127.0.0.1:4222 1to1 1to1-async latency
  pubsub bench --from bench.json --plot latency.png   # table and plot of a saved --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			for _, s := range args {
				if !slices.Contains(names, s) {
					return fmt.Errorf("bench: unknown scenario %q: want %s", s, strings.Join(names, ", "))
				}
			}
			return nil
		},
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.homeFlag.Changed {
				return usageErrorf("bench: --home does not apply: each run uses a fresh home under --home-base")
			}
			return a.runBench(cmd.Context(), cmd, o, args)
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
	f.StringVar(&o.nats, "nats", "", "also run 1to1, fanout, fanin, large and latency through the nats-server at `URL`, with nats.go")
	f.BoolVar(&o.pin, "pin", false, "run subscribers on one CPU and every other worker on another (Linux): no woken subscriber runs where its publisher ran")
	f.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of every worker process into `DIR`")
	_ = f.MarkHidden("cpuprofile")
	cmd.AddCommand(a.newBenchWorkerCmd())
	return cmd
}

// runBench checks the flags, then measures, or with --from reads a saved
// report, and prints the report.
func (a *app) runBench(ctx context.Context, cmd *cobra.Command, o benchOptions, names []string) error {
	switch {
	case o.runs < 1:
		return usageErrorf("invalid --runs %d: want at least 1", o.runs)
	case o.count < 0:
		return usageErrorf("invalid --count %d: want a number of messages", o.count)
	case cmd.Flags().Changed("size") && o.size < bench.MinSize:
		return usageErrorf("invalid --size %d: want at least %d bytes (the send time, a sequence number and a publisher index)", o.size, bench.MinSize)
	case o.duration <= 0 || o.interval <= 0:
		return usageErrorf("invalid --duration %v or --interval %v: want positive durations", o.duration, o.interval)
	case o.plot != "" && !strings.HasSuffix(o.plot, ".svg") && !strings.HasSuffix(o.plot, ".png"):
		return usageErrorf("invalid --plot %q: want a file name ending in .svg or .png", o.plot)
	}
	if o.nats != "" {
		if err := bridge.ValidateURL(o.nats); err != nil {
			return usage(fmt.Errorf("bench --nats: %w", err))
		}
	}
	if o.from != "" {
		if cmd.Flags().NFlag() > countSet(cmd, "from", "json", "plot") || len(names) > 0 {
			return usageErrorf("bench --from takes only --json and --plot: it measures nothing")
		}
		rep, err := bench.LoadReport(o.from)
		if err != nil {
			return err
		}
		return a.benchOutput(rep, o)
	}

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("pubsub: bench: find this program to run it again: %w", err)
	}
	if fi, err := os.Stat(o.homeBase); err != nil || !fi.IsDir() {
		return fmt.Errorf("pubsub: bench: --home-base %s: not a directory", o.homeBase)
	}
	bo := bench.Options{
		Scenarios:  names,
		Count:      o.count,
		Size:       o.size,
		Duration:   o.duration,
		Interval:   o.interval,
		Runs:       o.runs,
		Floor:      o.floor,
		NATS:       o.nats,
		Pin:        o.pin,
		HomeBase:   o.homeBase,
		CPUProfile: o.cpuprofile,
		Exe:        exe,
		Command:    "pubsub " + shellJoin(os.Args[1:]),
	}
	if isTerminal(a.stderr) {
		bo.Progress = a.stderr
	}
	rep, err := bench.Run(ctx, bo)
	if err != nil {
		return err
	}
	if err := a.benchOutput(rep, o); err != nil {
		return err
	}
	return rep.Err()
}

// benchOutput writes the plot, then the tables or the JSON.
func (a *app) benchOutput(rep *bench.Report, o benchOptions) error {
	if o.plot != "" {
		if err := rep.WritePlot(o.plot); err != nil {
			return fmt.Errorf("pubsub: bench: plot: %w", err)
		}
	}
	write := rep.WriteTables
	if o.json {
		write = rep.WriteJSON
	}
	return write(stdoutWriter{a.stdout})
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

func (a *app) newBenchWorkerCmd() *cobra.Command {
	var w bench.Worker
	cmd := &cobra.Command{
		Use:    "worker ROLE [flags]",
		Hidden: true,
		Short:  "One process of a pubsub bench run",
		Long: `One process of a pubsub bench run; pubsub bench starts these, not people.

ROLE is pub or sub (this library), idle (holds --channels channels on other
topics), fifo-pub and fifo-sub (the bare FIFO floor), file-pub and file-sub
(the minimal file-per-message floor).

A worker prints "ready" on stdout once it is set up; a publisher then waits
for a line on stdin before it sends, and an idle worker holds its channels
until stdin ends. When done, a worker prints one JSON object on stdout and
writes its samples (latencies, or the durations of its sends, in
nanoseconds, 8 bytes little-endian each) to --samples.`,
		Example: `  pubsub --home /dev/shm/b bench worker sub --topic t --size 256 --count 1000 --pubs 1 --samples /tmp/lat
  echo go | pubsub --home /dev/shm/b bench worker pub --topic t --size 256 --count 1000 --reach 1`,
		Args: argCount("ROLE", 1, 1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			w.Role = args[0]
			if err := w.Check(); err != nil {
				return usage(err)
			}
			stopProfile, err := startCPUProfile(w.CPUProfile)
			if err != nil {
				return err
			}
			defer keepFirst(&err, stopProfile)
			return w.Run(cmd.Context(), a.stdin, stdoutWriter{a.stdout}, a.openHome)
		},
	}
	benchWorkerFlags(cmd.Flags(), &w)
	return cmd
}

// benchWorkerFlags binds the flags of bench.Worker.Args to w.
func benchWorkerFlags(f *pflag.FlagSet, w *bench.Worker) {
	f.StringVar(&w.Topic, "topic", "", "the topic to publish to, or to open a channel on")
	f.StringVar(&w.Dir, "dir", "", "floors: the directory the processes meet in")
	f.BoolVar(&w.Files, "files", false, "pub: send every message as a file, never inline")
	f.IntVar(&w.Batch, "batch", 0, "pub: publish this many messages a PublishBatch call (0: one Publish each)")
	f.BoolVar(&w.Async, "async", false, "pub: PublishAsync each message, then Flush")
	f.IntVar(&w.Backlog, "backlog", 0, "qsetup: messages to put in the queue")
	f.IntVar(&w.Size, "size", 256, "content bytes")
	f.IntVar(&w.Count, "count", 1000, "messages per publisher")
	f.IntVar(&w.Pubs, "pubs", 1, "sub: publishers sending to it")
	f.IntVar(&w.Index, "index", 0, "pub: its index")
	f.DurationVar(&w.Interval, "interval", 0, "pub: one message per interval (0: back to back)")
	f.IntVar(&w.Reach, "reach", 1, "pub: channels every message must reach")
	f.IntVar(&w.Channels, "channels", 1000, "idle: channels to hold")
	f.BoolVar(&w.Tmpfile, "tmpfile", false, "file-pub: stage in an O_TMPFILE and link it, as Publish does")
	f.StringVar(&w.Samples, "samples", "", "write the samples to this file")
	f.StringVar(&w.CPUProfile, "cpuprofile", "", "write a CPU profile to this file")
	f.StringVar(&w.NATS, "nats", "", "nats-pub, nats-sub: the server's URL")
}

// stdoutWriter is standard output for the bench lab: a failed write
// returns stdoutError's error, so that a command whose reader went away
// exits quietly.
type stdoutWriter struct{ w io.Writer }

func (s stdoutWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = stdoutError(err)
	}
	return n, err
}
