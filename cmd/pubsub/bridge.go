package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub/bridge"
)

type bridgeOptions struct {
	url     string
	prefix  string
	export  []string
	imports []string
	durable string
	stream  string
	maxAge  time.Duration
	ackWait time.Duration
	profile string
}

func (a *app) newBridgeCmd() *cobra.Command {
	var o bridgeOptions
	cmd := &cobra.Command{
		Use:                   "bridge --nats URL [--prefix P] [--export PATTERN]... [--import PATTERN]... [--durable NAME]",
		DisableFlagsInUseLine: true,
		Short:                 "Carry the bus to and from other machines over NATS",
		Long: `Carry messages between the home and a NATS system, so that processes on
several machines share one bus. Run one bridge per machine (per home).

Every local message on a topic matching an --export pattern is published to
the NATS subject PREFIX.TOPIC, with its headers, id and timestamp in NATS
headers. Every NATS message on PREFIX.TOPIC whose TOPIC matches an --import
pattern is published into the home with its original topic, headers, id and
timestamp, plus the reserved header pubsub-origin naming the home it came from.
Topic words are NATS tokens; '=' becomes '*' and '+' becomes '>'.

A message never comes back to the home it left, and a message a bridge brought
into a home is never exported again.

Delivery:
  core NATS (the default)  at most once, lowest latency; what is published
                           while a host is cut off from NATS is not delivered
                           to it
  --durable NAME           JetStream: a stream for the prefix and a durable
                           consumer NAME for this host (unique per host);
                           messages are acknowledged once in the home, so a
                           restart of the bridge or of the server loses
                           nothing, and a host that was down catches up

An unreachable server is retried with backoff; exported messages wait in the
bridge's channels meanwhile. SIGINT or SIGTERM stops the bridge: it hands on
what it has taken, closes its channels and exits 0. It prints one line to
stderr once it carries messages both ways:
  pubsub: bridge ready: ...
and one with its counts when it stops. Unless GOGC is set, the bridge runs
with GOGC=400: its heap is small, and collecting less often saves CPU. Unless
GOMAXPROCS is set, a bridge that only exports runs its Go code on one thread,
which saves the wake-ups of a second one.`,
		Example: `  # on each host
  pubsub bridge --nats nats://nats.example:4222 --export 'orders.+' --import 'orders.+'

  # JetStream: nothing lost across restarts; NAME unique per host
  pubsub bridge --nats nats://nats.example:4222 --durable "$(hostname)" \
      --export 'jobs.+' --import 'jobs.done.='`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.bridge(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "nats", "", "the NATS server's `URL`, or several separated by commas (required)")
	f.StringVar(&o.prefix, "prefix", bridge.DefaultPrefix, "the first token(s) `P` of every NATS subject")
	f.StringArrayVar(&o.export, "export", nil, "publish local messages matching `PATTERN` to NATS (repeatable)")
	f.StringArrayVar(&o.imports, "import", nil, "publish NATS messages matching `PATTERN` into the home (repeatable)")
	f.StringVar(&o.durable, "durable", "", "JetStream mode, with this host's durable consumer `NAME`")
	f.StringVar(&o.stream, "stream", "", "the JetStream stream's `NAME` (default: the prefix upper-cased)")
	f.DurationVar(&o.maxAge, "max-age", 24*time.Hour, "how long a stream the bridge creates keeps messages (`DURATION`)")
	f.DurationVar(&o.ackWait, "ack-wait", 30*time.Second, "JetStream: redeliver a message not acknowledged within `DURATION`")
	f.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile to `FILE` (for measurements)")
	_ = f.MarkHidden("cpuprofile")
	return cmd
}

// bridgeGOGC is the bridge's garbage collection target unless GOGC is set.
const bridgeGOGC = 400

func (a *app) bridge(ctx context.Context, o bridgeOptions) (err error) {
	if o.url == "" {
		return usageErrorf("bridge: --nats URL is required")
	}
	if err := bridge.ValidateURL(o.url); err != nil {
		return usage(err)
	}
	if o.stream != "" && o.durable == "" {
		return usageErrorf("bridge: --stream needs --durable (JetStream mode)")
	}
	if os.Getenv("GOGC") == "" {
		// A bridge keeps little and allocates some per message: with the
		// default GOGC=100 it collected every few MiB, and the collector
		// and malloc took a fifth of its CPU (docs/PERFORMANCE.md). GOGC
		// overrides.
		debug.SetGCPercent(bridgeGOGC)
	}
	if n := bridgeMaxProcs(o, os.Getenv("GOMAXPROCS")); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile, err := startCPUProfile(o.profile)
	if err != nil {
		return err
	}
	defer keepFirst(&err, stopProfile)

	h, err := a.openHome()
	if err != nil {
		return err
	}
	defer h.Close()
	mode := "core NATS, at most once"
	if o.durable != "" {
		mode = "JetStream, durable " + o.durable
	}
	var b *bridge.Bridge
	b, err = bridge.New(h, o.url,
		bridge.WithPrefix(o.prefix),
		bridge.WithExport(o.export...),
		bridge.WithImport(o.imports...),
		bridge.WithDurable(o.durable),
		bridge.WithStream(o.stream),
		bridge.WithMaxAge(o.maxAge),
		bridge.WithAckWait(o.ackWait),
		bridge.WithLogger(slog.New(&lineHandler{w: a.stderr})),
		bridge.WithReadyFunc(func() {
			fmt.Fprintf(a.stderr, "pubsub: bridge ready: home %s (origin %s), NATS %s, prefix %s, %s, export %s, import %s\n",
				h.Dir(), b.Origin(), bridge.RedactURL(o.url), b.Prefix(), mode, list(o.export), list(o.imports))
		}),
	)
	if err != nil {
		return usage(err)
	}
	if err := b.Run(ctx); err != nil {
		return err
	}
	s := b.Stats()
	fmt.Fprintf(a.stderr, "pubsub: bridge stopped: exported %d, in atomic batches %d, imported %d, echoes dropped %d, duplicates dropped %d, too large %d, rejected %d, partly delivered %d, channel misses %d, slow consumer drops %d\n",
		s.Exported, s.Batched, s.Imported, s.Echoes, s.Duplicates, s.TooLarge, s.Rejected, s.Partial, s.Missed, s.SlowConsumer)
	return nil
}

// bridgeMaxProcs returns the GOMAXPROCS a bridge sets, or 0 to leave the
// runtime's: 1 for a bridge that only exports, unless GOMAXPROCS is set
// (env). An export-only bridge is one pipeline, channel to socket. With a
// second thread, each publish wakes it for the client's flusher to write
// a few messages; with one, the flusher writes what the exporter took
// when it next waits, which cuts the CPU of the whole chain by a seventh
// (docs/PERFORMANCE.md). An importer needs the second thread to keep up.
func bridgeMaxProcs(o bridgeOptions, env string) int {
	if env != "" || len(o.imports) > 0 {
		return 0
	}
	return 1
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}
