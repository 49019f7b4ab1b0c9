package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
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
	creds   string // a user credentials file (JWT and seed)
	nkey    string // an NKey seed file
	tlsCert string
	tlsKey  string
	tlsCA   string
	packed  bool
}

func (a *app) newBridgeCmd() *cobra.Command {
	var o bridgeOptions
	cmd := &cobra.Command{
		Use:                   "bridge [--nats URL] [--prefix P] [--export PATTERN]... [--import PATTERN]... [--durable NAME | --packed] [--creds FILE | --nkey FILE] [--tlscert FILE --tlskey FILE] [--tlsca FILE]",
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

--packed has a core bridge send what its export channel holds on one topic in
one NATS message (up to 64 KiB) instead of one NATS message each: it carries
the bus between hosts at a fraction of the cost. Every bridge reads packs, but
other NATS clients see a binary payload: do not pack a prefix they read.

Authentication and TLS, as the nats command takes them: --creds (a user
credentials file: JWT and NKey seed), --nkey (an NKey seed file), or a user
and password from the environment, never the command line, where other
users can read them: NATS_USER and NATS_PASSWORD (NATS_USER alone, or
NATS_TOKEN, is a token). --tlscert and --tlskey give a client certificate,
--tlsca the authorities that sign the server's. Each flag falls back on the
variable the nats command reads: NATS_URL, NATS_CREDS, NATS_NKEY, NATS_CERT,
NATS_KEY, NATS_CA. A password or token in the URL works too, and is printed as xxxxx.

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

  # two buses, and no other NATS client reading them: pack messages
  pubsub bridge --nats nats://nats.example:4222 --packed --export 'metrics.+' --import 'metrics.+'

  # JetStream: nothing lost across restarts; NAME unique per host
  pubsub bridge --nats nats://nats.example:4222 --durable "$(hostname)" \
      --export 'jobs.+' --import 'jobs.done.='

  # credentials and TLS
  pubsub bridge --nats tls://nats.example:4222 --creds host1.creds --tlsca ca.pem --import 'jobs.+'
  NATS_USER=host1 NATS_PASSWORD="$(cat pw)" pubsub bridge --nats nats://nats.example:4222 --import 'jobs.+'`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.bridge(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "nats", "", "the NATS server's `URL`, or several separated by commas (default $NATS_URL)")
	f.StringVar(&o.prefix, "prefix", bridge.DefaultPrefix, "the first token(s) `P` of every NATS subject")
	f.StringArrayVar(&o.export, "export", nil, "publish local messages matching `PATTERN` to NATS (repeatable)")
	f.StringArrayVar(&o.imports, "import", nil, "publish NATS messages matching `PATTERN` into the home (repeatable)")
	f.StringVar(&o.durable, "durable", "", "JetStream mode, with this host's durable consumer `NAME`")
	f.BoolVar(&o.packed, "packed", false, "core mode: send messages of one topic several to a NATS message, which only bridges read")
	f.StringVar(&o.stream, "stream", "", "the JetStream stream's `NAME` (default: the prefix upper-cased)")
	f.DurationVar(&o.maxAge, "max-age", 24*time.Hour, "how long a stream the bridge creates keeps messages (`DURATION`)")
	f.DurationVar(&o.ackWait, "ack-wait", 30*time.Second, "JetStream: redeliver a message not acknowledged within `DURATION`")
	f.StringVar(&o.creds, "creds", "", "authenticate with a user credentials `FILE` (JWT and NKey seed; default $NATS_CREDS)")
	f.StringVar(&o.nkey, "nkey", "", "authenticate with an NKey seed `FILE` (default $NATS_NKEY)")
	f.StringVar(&o.tlsCert, "tlscert", "", "TLS client certificate `FILE` (default $NATS_CERT)")
	f.StringVar(&o.tlsKey, "tlskey", "", "TLS client private key `FILE` (default $NATS_KEY)")
	f.StringVar(&o.tlsCA, "tlsca", "", "TLS certificate authorities `FILE` that sign the server's certificate (default $NATS_CA)")
	f.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile to `FILE` (for measurements)")
	_ = f.MarkHidden("cpuprofile")
	return cmd
}

func (a *app) bridge(ctx context.Context, o bridgeOptions) (err error) {
	fromEnv := false
	if o.url == "" {
		o.url, fromEnv = os.Getenv("NATS_URL"), true
	}
	if o.url == "" {
		return usageErrorf("bridge: --nats URL is required (or NATS_URL in the environment)")
	}
	if err := bridge.ValidateURL(o.url); err != nil {
		if fromEnv {
			err = fmt.Errorf("%w (from NATS_URL)", err)
		}
		return usage(err)
	}
	if o.stream != "" && o.durable == "" {
		return usageErrorf("bridge: --stream needs --durable (JetStream mode)")
	}
	if o.packed && o.durable != "" {
		return usageErrorf("bridge: --packed is for core NATS; --durable (JetStream) sends one NATS message a message")
	}
	natsOpts, auth, err := natsAuth(&o, os.Getenv)
	if err != nil {
		return err
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
	if o.packed {
		mode += ", packed"
	}
	if auth != "" {
		mode += ", " + auth
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
		packing(o.packed),
		bridge.WithLogger(slog.New(&lineHandler{w: a.stderr})),
		bridge.WithNATSOptions(natsOpts...),
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
	fmt.Fprintf(a.stderr, "pubsub: bridge stopped: exported %d, in atomic batches %d, imported %d, echoes dropped %d, duplicates dropped %d, too large %d, rejected %d, partly delivered %d, channel misses %d, slow consumer drops %d, packs sent %d\n",
		s.Exported, s.Batched, s.Imported, s.Echoes, s.Duplicates, s.TooLarge, s.Rejected, s.Partial, s.Missed, s.SlowConsumer, s.Packs)
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

// packing is bridge.WithPacking when on, else no option.
func packing(on bool) bridge.Option {
	if on {
		return bridge.WithPacking()
	}
	return nil
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

// natsAuth returns the NATS options for the credentials and TLS files of
// o, each flag falling back on the environment variable the nats command
// reads (getenv), and for a user and password from the environment, with
// a word on them for the ready line (never a secret). A file that cannot
// be read, a key without its certificate, or two ways to authenticate at
// once, is a usage error.
func natsAuth(o *bridgeOptions, getenv func(string) string) (opts []nats.Option, auth string, err error) {
	for _, f := range []struct {
		flag, env string
		v         *string
	}{
		{"creds", "NATS_CREDS", &o.creds}, {"nkey", "NATS_NKEY", &o.nkey},
		{"tlscert", "NATS_CERT", &o.tlsCert}, {"tlskey", "NATS_KEY", &o.tlsKey}, {"tlsca", "NATS_CA", &o.tlsCA},
	} {
		if *f.v == "" {
			*f.v = getenv(f.env)
		}
		if *f.v == "" {
			continue
		}
		// Read now: nats.go reads some of them only as it connects, and
		// would retry for ever on a file that is not there.
		if _, err := os.ReadFile(*f.v); err != nil {
			return nil, "", usageErrorf("bridge: --%s: %v", f.flag, err)
		}
	}
	user, password, token := getenv("NATS_USER"), getenv("NATS_PASSWORD"), getenv("NATS_TOKEN")
	if user != "" && password == "" && token == "" {
		token, user = user, "" // as the nats command reads NATS_USER alone
	}
	var ways []string
	if o.creds != "" {
		opts = append(opts, nats.UserCredentials(o.creds))
		ways = append(ways, "credentials "+o.creds)
	}
	if o.nkey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.nkey)
		if err != nil {
			return nil, "", usageErrorf("bridge: --nkey %s: %v", o.nkey, err)
		}
		opts = append(opts, opt)
		ways = append(ways, "nkey "+o.nkey)
	}
	if user != "" || password != "" {
		opts = append(opts, nats.UserInfo(user, password))
		ways = append(ways, "user "+user+" from NATS_USER and NATS_PASSWORD")
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
		ways = append(ways, "token from the environment")
	}
	if len(ways) > 1 {
		return nil, "", usageErrorf("bridge: give one way to authenticate, not %s", strings.Join(ways, ", "))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, "", usageErrorf("bridge: --tlscert and --tlskey go together")
	}
	if o.tlsCert != "" {
		opts = append(opts, nats.ClientCert(o.tlsCert, o.tlsKey))
		ways = append(ways, "TLS certificate "+o.tlsCert)
	}
	if o.tlsCA != "" {
		opts = append(opts, nats.RootCAs(o.tlsCA))
		ways = append(ways, "TLS authorities "+o.tlsCA)
	}
	return opts, strings.Join(ways, ", "), nil
}
