package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/engine"
	"github.com/pubsub-go/pubsub/internal/topic"
)

func (a *app) newQueueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Make, list and remove work queues; list, re-queue and purge dead letters",
		Long: `A work queue is a named, durable subscription to a topic pattern that any
number of workers share: each message that matches enters the queue once, goes
to one worker at a time, and stays until a worker acknowledges it. Workers join
with "pubsub subscribe --queue NAME PATTERN", which makes the queue on first
use; "pubsub ls" shows every queue's backlog. See docs/QUEUES.md.

A message given back more times than the queue's --max-deliveries becomes a
dead letter: "queue dead" lists them, "queue requeue" makes them ready again,
"queue purge" removes them.

Only "queue create" makes a home that does not exist; the others say there is
none and exit 3, as they do for a queue NAME the home does not have.`,
		Example: `  pubsub queue create resize 'images.+' --max-messages 1000 --max-deliveries 3
  pubsub queue ls
  pubsub queue dead resize
  pubsub queue requeue resize
  pubsub queue purge resize 17e3a9c2b4d5f6a80006421c7b3e9f10
  pubsub queue rm resize`,
		Args: unknownSubcommand,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		a.newQueueCreateCmd(),
		a.newQueueLsCmd(),
		a.newQueueDeadCmd(),
		a.newQueueDeadLettersCmd("requeue"),
		a.newQueueDeadLettersCmd("purge"),
		a.newQueueRmCmd(),
	)
	return cmd
}

// queueBounds are the flags that say how a queue is made, which
// "subscribe --queue" and "queue create" take. Only the flags given are
// passed on, so that joining an existing queue checks those alone.
type queueBounds struct {
	maxMessages   int64
	maxBytes      byteSize
	maxAge        time.Duration
	dropOldest    bool
	lease         time.Duration
	maxDeliveries int
	retryDelay    time.Duration
}

// queueBoundFlags names the flags of queueBounds.
var queueBoundFlags = []string{"max-messages", "max-bytes", "max-age", "drop-oldest", "lease", "max-deliveries", "retry-delay"}

// maxDeliveriesLimit is the most deliveries the library lets a queue
// make; it says so too, as a runtime error, but a flag out of range is a
// usage error.
const maxDeliveriesLimit = 1000

func (b *queueBounds) addFlags(f *pflag.FlagSet) {
	b.maxBytes = engine.DefaultMaxBytes
	f.Int64Var(&b.maxMessages, "max-messages", engine.DefaultMaxMessages, "a new queue holds at most `N` messages, ready, delayed or in flight")
	f.Var(&b.maxBytes, "max-bytes", "a new queue holds at most `SIZE` bytes of messages: a number of bytes, or with KiB, MiB, GiB or TiB")
	f.DurationVar(&b.maxAge, "max-age", 0, "a new queue's messages expire `DURATION` after they entered it, if no worker took them (0: never)")
	f.BoolVar(&b.dropOldest, "drop-oldest", false, "a new queue, when full, drops its oldest ready message for a new one, instead of refusing the new one")
	f.DurationVar(&b.lease, "lease", engine.DefaultLease, "a new queue gives a message back when a worker held it `DURATION` without acknowledging it")
	f.IntVar(&b.maxDeliveries, "max-deliveries", engine.DefaultMaxDeliveries, "a new queue makes a message a dead letter after `N` deliveries never acknowledged")
	f.DurationVar(&b.retryDelay, "retry-delay", engine.DefaultRetryDelay, "a new queue delivers a message given back again after `DURATION`")
}

// options returns the options for the flags given in f, or a usage error
// for a value out of range. The library would take 0 for its default, so
// 0 is refused where it is not a value of its own.
func (b *queueBounds) options(f *pflag.FlagSet) ([]pubsub.QueueOption, error) {
	var opts []pubsub.QueueOption
	set := f.Changed
	if set("max-messages") {
		if b.maxMessages < 1 {
			return nil, usageErrorf("invalid --max-messages %d: want at least 1", b.maxMessages)
		}
		opts = append(opts, pubsub.WithMaxMessages(b.maxMessages))
	}
	if set("max-bytes") {
		if b.maxBytes < 1 {
			return nil, usageErrorf("invalid --max-bytes %d: want at least 1", b.maxBytes)
		}
		opts = append(opts, pubsub.WithMaxBytes(int64(b.maxBytes)))
	}
	if set("max-age") {
		if b.maxAge < 0 {
			return nil, usageErrorf("invalid --max-age %v: want a positive duration, or 0 for never", b.maxAge)
		}
		opts = append(opts, pubsub.WithMaxAge(b.maxAge))
	}
	if set("drop-oldest") && b.dropOldest {
		opts = append(opts, pubsub.WithDropOldest())
	}
	if set("lease") {
		if b.lease < time.Millisecond {
			return nil, usageErrorf("invalid --lease %v: want at least 1ms", b.lease)
		}
		opts = append(opts, pubsub.WithLease(b.lease))
	}
	if set("max-deliveries") {
		if b.maxDeliveries < 1 || b.maxDeliveries > maxDeliveriesLimit {
			return nil, usageErrorf("invalid --max-deliveries %d: want 1 to %d", b.maxDeliveries, maxDeliveriesLimit)
		}
		opts = append(opts, pubsub.WithMaxDeliveries(b.maxDeliveries))
	}
	if set("retry-delay") {
		if b.retryDelay <= 0 {
			return nil, usageErrorf("invalid --retry-delay %v: want a positive duration", b.retryDelay)
		}
		opts = append(opts, pubsub.WithRetryDelay(b.retryDelay))
	}
	return opts, nil
}

// byteSize is a flag's number of bytes, written as bytes or with a binary
// unit: 1048576, 1024KiB, 1MiB.
type byteSize int64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}

func (s *byteSize) Set(text string) error {
	digits, shift := text, uint(0)
	for _, u := range byteUnits {
		if d, ok := strings.CutSuffix(text, u.suffix); ok {
			digits, shift = d, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return errors.New("want a number of bytes, or one with KiB, MiB, GiB or TiB, such as 64MiB")
	}
	*s = byteSize(n << shift)
	return nil
}

func (s *byteSize) String() string { return formatBytes(int64(*s)) }
func (s *byteSize) Type() string   { return "size" }

// formatBytes writes n as byteSize reads it, in the largest unit that
// divides it: 1GiB, 1536KiB, 5000.
func formatBytes(n int64) string {
	for _, u := range byteUnits {
		if n > 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration writes d without the zero units Duration.String adds:
// 1m, 24h, 1h30m, 1.5s; "-" for 0, which a queue's bound means "never".
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkQueueName says, as a usage error, what is wrong with a queue name.
func checkQueueName(name string) error {
	if !engine.ValidQueueName(name) {
		return usageErrorf("invalid queue name %q: a queue name is %s", name, engine.QueueNameRule)
	}
	return nil
}

// noQueueError turns the library's "no such queue" into the exit status
// the CLI gives it: nothing there to act on, as for a home.
func noQueueError(h *pubsub.Home, name string, err error) error {
	if errors.Is(err, pubsub.ErrNoQueue) {
		return &statusError{exitNoQueue, fmt.Errorf("pubsub: no queue %q in %s", name, h.Dir())}
	}
	return err
}

// findQueue returns what Home.Queues says of the queue name, or an error
// that wraps pubsub.ErrNoQueue.
func findQueue(h *pubsub.Home, name string) (pubsub.QueueInfo, error) {
	queues, err := h.Queues()
	for _, q := range queues {
		if q.Name == name {
			return q, nil
		}
	}
	if err != nil {
		return pubsub.QueueInfo{}, err
	}
	return pubsub.QueueInfo{}, fmt.Errorf("%w: %s", pubsub.ErrNoQueue, name)
}

func (a *app) newQueueCreateCmd() *cobra.Command {
	var b queueBounds
	cmd := &cobra.Command{
		Use:                   "create NAME PATTERN [--max-messages N] [--max-bytes SIZE] [--max-age DURATION] [--drop-oldest] [--lease DURATION] [--max-deliveries N] [--retry-delay DURATION]",
		DisableFlagsInUseLine: true,
		Short:                 "Make a work queue, so that messages wait in it before any worker runs",
		Long: `Make the queue NAME on PATTERN, with the bounds given, without attaching a
worker: messages published on a topic PATTERN matches enter it from now on, and
wait for the workers ("pubsub subscribe --queue NAME PATTERN"). A queue is also
made by its first worker; create is for a queue that must take messages before
then, or whose bounds should not depend on which worker starts first.

NAME is 1 to 64 characters of [A-Za-z0-9-]; PATTERN may use '=' and '+' as a
subscriber's topic does. The bounds are the queue's for its lifetime:
  --max-messages N       messages held, ready, delayed or in flight (100000)
  --max-bytes SIZE       bytes of messages held (1GiB)
  --max-age DURATION     a message no worker took by then expires (never)
  --drop-oldest          when full, drop the oldest ready message for the new
                         one, instead of refusing the new one to its publisher
  --lease DURATION       a message held that long unacknowledged goes back (30s)
  --max-deliveries N     deliveries before a message is a dead letter (5)
  --retry-delay DURATION how long a message given back waits (1s)

A queue NAME that exists already is not an error if it takes PATTERN and agrees
with the flags given; if not, create says how it differs and exits 1: remove it
("pubsub queue rm") to change it. A value out of range is a usage error (2).
create makes the home if there is none, as a subscriber does.`,
		Example: `  pubsub queue create resize 'images.+'
  pubsub queue create --max-messages 1000 --drop-oldest --max-age 1h metrics 'metrics.+'
  pubsub queue create --lease 5m --max-deliveries 3 --retry-delay 30s jobs 'jobs.new'`,
		Args:              argCount("NAME PATTERN", 2, 2),
		ValidArgsFunction: a.completeQueueCreate,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, pattern := args[0], args[1]
			if err := checkQueueName(name); err != nil {
				return err
			}
			if err := topic.ValidatePattern(pattern); err != nil {
				return usage(err)
			}
			opts, err := b.options(cmd.Flags())
			if err != nil {
				return err
			}
			h, err := a.openHome()
			if err != nil {
				return err
			}
			defer h.Close()
			_, err = findQueue(h, name)
			existed := err == nil
			if err := h.CreateQueue(name, pattern, opts...); err != nil {
				return err
			}
			info, err := findQueue(h, name)
			if err != nil {
				return err
			}
			if existed {
				fmt.Fprintf(a.stderr, "pubsub: queue %q on %q exists already (%s)\n", info.Name, info.Topic, info.Dir)
			} else {
				fmt.Fprintf(a.stderr, "pubsub: created queue %q on %q (%s)\n", info.Name, info.Topic, info.Dir)
			}
			return nil
		},
	}
	b.addFlags(cmd.Flags())
	return cmd
}

func (a *app) newQueueLsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [--json] [NAME...]",
		Short: "List the work queues in the home, with their bounds",
		Long: `List the work queues in the home (or those named), one line each, with what
they hold and how they were made:

  QUEUE           the queue's name
  TOPIC           the pattern of the topics it takes
  WORKERS         workers attached, alive
  MESSAGES        messages that count against its bounds: ready, delayed and
                  in flight, not dead letters; BYTES their size
  MAX-MESSAGES, MAX-BYTES, MAX-AGE (- for never), POLICY (reject or
  drop-oldest), LEASE, MAX-DELIVERIES, RETRY-DELAY
                  its bounds, set when it was made

"pubsub ls" shows what the queues are doing: backlog, in flight, dead letters.
With --json, an array of objects instead, the same as "pubsub ls --queues
--json" prints: name, dir, topic, workers, backlog, in_flight, delayed,
dead_letters, messages, bytes, dropped, expired, rejected, max_messages,
max_bytes, max_age_seconds (0: never), policy, lease_seconds, max_deliveries
and retry_delay_seconds.

A home that does not exist is not made: ls says so and exits 3, as it does
for a NAME the home has no queue of.`,
		Example: `  pubsub queue ls
  pubsub queue ls resize
  pubsub queue ls --json | jq -r '.[] | select(.dead_letters > 0) | .name'`,
		ValidArgsFunction: a.completeQueueNames(-1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			for _, name := range args {
				if err := checkQueueName(name); err != nil {
					return err
				}
			}
			h, err := a.openExistingHome()
			if err != nil {
				return err
			}
			defer h.Close()
			// A queue that cannot be read fails ls after what could be
			// listed, not instead of it.
			queues, qerr := h.Queues()
			defer keepFirst(&err, func() error { return qerr })
			if qerr != nil && len(queues) == 0 {
				return nil
			}
			if len(args) > 0 {
				var named []pubsub.QueueInfo
				for _, name := range args {
					i := slices.IndexFunc(queues, func(q pubsub.QueueInfo) bool { return q.Name == name })
					if i < 0 && qerr != nil {
						return qerr // it may be the queue that could not be read
					}
					if i < 0 {
						return noQueueError(h, name, pubsub.ErrNoQueue)
					}
					named = append(named, queues[i])
				}
				queues = named
			}
			if asJSON {
				return a.writeQueuesJSON(queues)
			}
			if len(queues) == 0 {
				fmt.Fprintf(a.stderr, "pubsub: no queues in %s\n", h.Dir())
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "QUEUE\tTOPIC\tWORKERS\tMESSAGES\tBYTES\tMAX-MESSAGES\tMAX-BYTES\tMAX-AGE\tPOLICY\tLEASE\tMAX-DELIVERIES\tRETRY-DELAY")
			for _, q := range queues {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\n",
					q.Name, q.Topic, q.Workers, q.Messages, q.Bytes, q.MaxMessages, formatBytes(q.MaxBytes),
					formatDuration(q.MaxAge), policy(q), formatDuration(q.Lease), q.MaxDeliveries, formatDuration(q.RetryDelay))
			}
			if err := tw.Flush(); err != nil {
				return stdoutError(err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	return cmd
}

func policy(q pubsub.QueueInfo) string {
	if q.DropOldest {
		return "drop-oldest"
	}
	return "reject"
}

// queueJSON is a queue as "ls --queues --json" and "queue ls --json"
// print it.
type queueJSON struct {
	Name              string  `json:"name"`
	Dir               string  `json:"dir"`
	Topic             string  `json:"topic"`
	Workers           int     `json:"workers"`
	Backlog           int     `json:"backlog"`
	InFlight          int     `json:"in_flight"`
	Delayed           int     `json:"delayed"`
	DeadLetters       int     `json:"dead_letters"`
	Messages          int64   `json:"messages"`
	Bytes             int64   `json:"bytes"`
	Dropped           int64   `json:"dropped"`
	Expired           int64   `json:"expired"`
	Rejected          int64   `json:"rejected"`
	MaxMessages       int64   `json:"max_messages"`
	MaxBytes          int64   `json:"max_bytes"`
	MaxAgeSeconds     float64 `json:"max_age_seconds"`
	Policy            string  `json:"policy"`
	LeaseSeconds      float64 `json:"lease_seconds"`
	MaxDeliveries     int     `json:"max_deliveries"`
	RetryDelaySeconds float64 `json:"retry_delay_seconds"`
}

func (a *app) writeQueuesJSON(queues []pubsub.QueueInfo) error {
	out := make([]queueJSON, 0, len(queues))
	for _, q := range queues {
		out = append(out, queueJSON{
			Name: q.Name, Dir: q.Dir, Topic: q.Topic, Workers: q.Workers,
			Backlog: q.Backlog, InFlight: q.InFlight, Delayed: q.Delayed, DeadLetters: q.DeadLetters,
			Messages: q.Messages, Bytes: q.Bytes, Dropped: q.Dropped, Expired: q.Expired, Rejected: q.Rejected,
			MaxMessages: q.MaxMessages, MaxBytes: q.MaxBytes, MaxAgeSeconds: q.MaxAge.Seconds(), Policy: policy(q),
			LeaseSeconds: q.Lease.Seconds(), MaxDeliveries: q.MaxDeliveries, RetryDelaySeconds: q.RetryDelay.Seconds(),
		})
	}
	return a.writeJSON(out)
}

// deadFormats are the formats of "queue dead".
var deadFormats = []string{"table", "json"}

func (a *app) newQueueDeadCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:                   "dead [--format table|json] NAME",
		DisableFlagsInUseLine: true,
		Short:                 "List the dead letters of a work queue",
		Long: `List the dead letters of the queue NAME, oldest first: the messages it gave up
on after its maximum deliveries. Each has a KEY, which "pubsub queue requeue"
and "pubsub queue purge" take.

Formats:
  table  KEY, DELIVERIES, TOPIC, AGE (since it was published) and the start of
         its CONTENT, quoted, with its size when it is longer (the default)
  json   one object per line, as "pubsub subscribe --format json" writes a
         message, with "key" and "deliveries" first; a dead letter that cannot
         be read has "key", "deliveries" and "error" alone

A queue without dead letters prints nothing (a note on stderr with the table).
A home that does not exist is not made, and a queue that does not exist is
not either: dead says so and exits 3.`,
		Example: `  pubsub queue dead resize
  pubsub queue dead --format json resize | jq -r 'select(.headers.tenant == "acme") | .key' |
      xargs pubsub queue requeue resize`,
		Args:              argCount("NAME", 1, 1),
		ValidArgsFunction: a.completeQueueNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := checkQueueName(name); err != nil {
				return err
			}
			if !slices.Contains(deadFormats, format) {
				return usageErrorf("invalid --format %q: want table or json", format)
			}
			h, err := a.openExistingHome()
			if err != nil {
				return err
			}
			defer h.Close()
			dls, err := h.DeadLetters(name)
			if err != nil {
				return noQueueError(h, name, err)
			}
			if format == "json" {
				return a.writeDeadJSON(dls)
			}
			if len(dls) == 0 {
				fmt.Fprintf(a.stderr, "pubsub: no dead letters in queue %q\n", name)
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tDELIVERIES\tTOPIC\tAGE\tCONTENT")
			for _, dl := range dls {
				if dl.Err != nil {
					fmt.Fprintf(tw, "%s\t%d\t-\t-\t(unreadable: %s)\n", dl.Key, dl.Deliveries, strings.TrimPrefix(dl.Err.Error(), "pubsub: "))
					continue
				}
				m := dl.Message
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", dl.Key, dl.Deliveries, m.Topic,
					age(now, time.UnixMicro(m.Timestamp)), contentSummary(m.Content))
			}
			if err := tw.Flush(); err != nil {
				return stdoutError(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output `FORMAT`: table or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(deadFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) writeDeadJSON(dls []pubsub.DeadLetter) error {
	var b []byte
	for _, dl := range dls {
		b = append(b, `{"key":`...)
		b = appendString(b, dl.Key)
		b = append(b, `,"deliveries":`...)
		b = strconv.AppendInt(b, int64(dl.Deliveries), 10)
		if dl.Err != nil {
			b = append(b, `,"error":`...)
			b = appendString(b, dl.Err.Error())
			b = append(b, "}\n"...)
			continue
		}
		b = append(b, ',')
		b = append(b, appendMessageJSON(nil, dl.Message)[1:]...) // without its '{'
		b = append(b, '\n')
	}
	if _, err := a.stdout.Write(b); err != nil {
		return stdoutError(err)
	}
	return nil
}

// contentSummary is the start of a message's content for a table: quoted,
// so that a newline or a tab does not break the line, and followed by its
// size when it is longer than what is shown.
func contentSummary(content []byte) string {
	const shown = 40 // characters
	if !utf8.Valid(content) {
		return fmt.Sprintf("(%d bytes, not UTF-8)", len(content))
	}
	s := string(content)
	if utf8.RuneCountInString(s) <= shown {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(string([]rune(s)[:shown])), len(content))
}

// newQueueDeadLettersCmd makes "queue requeue" and "queue purge", which
// differ in what they do to each dead letter.
func (a *app) newQueueDeadLettersCmd(verb string) *cobra.Command {
	var (
		short, long, done string
		do                func(h *pubsub.Home, name string, keys ...string) (int, error)
	)
	switch verb {
	case "requeue":
		do, done = (*pubsub.Home).RequeueDeadLetters, "requeued"
		short = "Make dead letters of a work queue ready again"
		long = `Make the dead letters of the queue NAME with the KEYs given ("pubsub queue
dead NAME" lists them), or all of them if no KEY is, ready again, to be
delivered to a worker, their deliveries counted anew. Each counts against the
queue's bounds again: one that does not fit stays a dead letter, and the exit
status is 1.`
	case "purge":
		do, done = (*pubsub.Home).PurgeDeadLetters, "purged"
		short = "Remove dead letters of a work queue"
		long = `Remove the dead letters of the queue NAME with the KEYs given ("pubsub queue
dead NAME" lists them), or all of them if no KEY is. The queue's other messages
are left alone; "pubsub queue rm" removes the queue with all it holds.`
	}
	return &cobra.Command{
		Use:   verb + " NAME [KEY...]",
		Short: short,
		Long: long + `

How many went goes to stderr ("pubsub: ` + done + ` 2 dead letters of queue "NAME""). A KEY that
names no dead letter (another command re-queued or purged it meanwhile) is an
error: the others are ` + done + ` all the same, and the exit status is 1. A home
or a queue that does not exist is not made: ` + verb + ` says so and exits 3.`,
		Example: `  pubsub queue ` + verb + ` resize
  pubsub queue ` + verb + ` resize 17e3a9c2b4d5f6a80006421c7b3e9f10 17e3a9c2b4d61b270006421c7b3ea001`,
		Args:              argCount("NAME [KEY...]", 1, math.MaxInt),
		ValidArgsFunction: a.completeQueueNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, keys := args[0], args[1:]
			if err := checkQueueName(name); err != nil {
				return err
			}
			h, err := a.openExistingHome()
			if err != nil {
				return err
			}
			defer h.Close()
			n, err := do(h, name, keys...)
			if errors.Is(err, pubsub.ErrNoQueue) {
				return noQueueError(h, name, err)
			}
			fmt.Fprintf(a.stderr, "pubsub: %s %d dead letter%s of queue %q\n", done, n, plural(n), name)
			return err
		},
	}
}

func (a *app) newQueueRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove work queues, with every message in them",
		Long: `Remove each queue NAME with every message in it: ready, in flight, delayed and
dead letters. Its workers stop: "pubsub subscribe --queue NAME" says the queue
was removed and exits 1. Publishers no longer reach it. To change a queue's
bounds, remove it, then make it again.

A home that does not exist is not made, nor is a queue: rm says so and exits
3, after removing the other queues named.`,
		Example: `  pubsub queue rm resize
  pubsub queue rm resize thumbnails
  pubsub queue rm old-jobs || [ $? -eq 3 ]   # gone already is fine`,
		Args:              argCount("NAME [NAME...]", 1, math.MaxInt),
		ValidArgsFunction: a.completeQueueNames(-1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range args {
				if err := checkQueueName(name); err != nil {
					return err
				}
			}
			h, err := a.openExistingHome()
			if err != nil {
				return err
			}
			defer h.Close()
			var missing error
			for _, name := range args {
				err := h.RemoveQueue(name)
				switch {
				case errors.Is(err, pubsub.ErrNoQueue):
					if missing == nil {
						missing = noQueueError(h, name, err)
					}
				case err != nil:
					return err
				default:
					fmt.Fprintf(a.stderr, "pubsub: removed queue %q\n", name)
				}
			}
			return missing
		},
	}
}

// completeQueueNames completes queue names for the first n arguments (all
// of them if n < 0), and for a later argument of requeue and purge, the
// keys of the queue's dead letters.
func (a *app) completeQueueNames(n int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		h, err := a.openExistingHome(pubsub.WithLogger(nil))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer h.Close()
		var out []cobra.Completion
		if n >= 0 && len(args) >= n {
			if cmd.Name() == "requeue" || cmd.Name() == "purge" {
				dls, _ := h.DeadLetters(args[0])
				for _, dl := range dls {
					if strings.HasPrefix(dl.Key, prefix) && !slices.Contains(args[1:], dl.Key) {
						out = append(out, dl.Key)
					}
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		queues, _ := h.Queues()
		for _, q := range queues {
			if strings.HasPrefix(q.Name, prefix) && !slices.Contains(args, q.Name) {
				out = append(out, cobra.CompletionWithDesc(q.Name, q.Topic))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeQueueCreate completes "queue create NAME PATTERN": no NAME, which
// is new, and the topics of the home for PATTERN.
func (a *app) completeQueueCreate(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) != 1 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeTopics(true)(cmd, nil, prefix)
}
