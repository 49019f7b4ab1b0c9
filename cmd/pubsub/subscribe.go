package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/fsys"
	"github.com/pubsub-go/pubsub/internal/topic"
)

type subscribeOptions struct {
	count       int
	timeout     time.Duration
	format      string
	exec        string
	execTimeout time.Duration
	execGrace   time.Duration
	reply       bool

	queue     string // --queue: join this work queue instead of opening a channel
	queueOpts []pubsub.QueueOption
}

var formats = []string{"raw", "lines", "json"}

func (a *app) newSubscribeCmd() *cobra.Command {
	var (
		o      subscribeOptions
		bounds queueBounds
	)
	cmd := &cobra.Command{
		Use:                   "subscribe [--count N] [--timeout DURATION] [--queue NAME [--max-messages N ...]] [--format raw|lines|json | --exec CMD [--reply] [--exec-timeout DURATION] [--exec-grace DURATION]] TOPIC",
		Aliases:               []string{"sub"},
		DisableFlagsInUseLine: true,
		Short:                 "Open a channel on TOPIC and write each message as it arrives",
		Long: `Open a channel on TOPIC and write each message to stdout as it arrives, until
--count messages, until --timeout, or until SIGINT or SIGTERM: the message in
hand is written first, and an --exec CMD then running gets the signal too (see
below). The channel is then closed (with any message still pending in it).
Output to a pipe that nobody reads any more (pubsub subscribe t | head -1) also
ends it quietly.

The exit status is 0, unless --count messages did not all come: then it is 5
when --timeout passed first, and 130 or 143 when SIGINT or SIGTERM came first.

TOPIC may use '=' for exactly one word and '+' for one or more words:
"logs.=.error" receives logs.app.error; "logs.+" receives logs.app and
logs.app.error.

Once the channel is live, that is once every message published reaches it,
this line goes to stderr, so a script can wait for it:
  pubsub: subscribed to "TOPIC" (channel DIR)

Formats:
  lines  the content and a newline (the default)
  raw    the content bytes as they are, nothing added
  json   one object per line: {"id":ID,"timestamp":MICROSECONDS,"topic":...,
         "headers":{...},"content":"..."}, or "content_base64" for content that
         is not valid UTF-8; headers keep their JSON types, with floats written
         as Python writes them (1.0, NaN, Infinity)

With --exec, CMD runs with sh -c for each message in turn, with the content on
its stdin and its stdout and stderr ours, and this environment:
  PUBSUB_TOPIC, PUBSUB_ID, PUBSUB_TIMESTAMP (microseconds since the epoch)
  PUBSUB_HEADERS       the headers as a JSON object
  PUBSUB_HEADER_<KEY>  each header: KEY upper-cased, other than [A-Z0-9]
                       made '_'; strings as they are, other values as JSON
  PUBSUB_HOME          the home, so CMD can publish a reply
A CMD that fails is reported on stderr, and the next message goes on.

CMD runs in a process group of its own. SIGINT and SIGTERM sent to pubsub go on
to that group, and pubsub waits for CMD to exit: a CMD that catches the signal
can finish the message, and exit 0 is then no failure. With --exec-timeout,
SIGTERM goes to the group when CMD has run that long, and the message counts
as failed. Either way, whatever is left of the group gets SIGKILL --exec-grace
later (10s by default), or at a second signal. If pubsub itself is killed
(SIGKILL, a crash), its guard, a small sh process watching it, kills the group
of the CMD then running, and on Linux the kernel kills CMD's shell as well.

With --queue NAME, subscribe joins the work queue NAME as one of its workers
instead of opening a channel of its own, and makes the queue on TOPIC if there
is none: each message published on a topic the queue takes goes to one of its
workers, and stays in the queue until acknowledged. A message is acknowledged
once written to stdout, or, with --exec, once CMD exits 0; a CMD that fails,
times out or is stopped by a signal gives it back, to come again after the
queue's retry delay, until after its maximum deliveries it is a dead letter
("pubsub queue dead NAME"). A worker that dies gives back what it held. The
live line is then:
  pubsub: joined queue "NAME" on "TOPIC" (DIR)
The bounds of a queue this worker makes are --max-messages, --max-bytes,
--max-age, --drop-oldest, --lease, --max-deliveries and --retry-delay ("pubsub
queue create --help" says what each does). Given to join an existing queue,
they must agree with it: if not, or if it takes another TOPIC, subscribe exits
1. So it does when the queue is removed under it. CMD's environment also has
PUBSUB_QUEUE, the queue's name, and PUBSUB_DELIVERIES, 1 for a first delivery.

With --exec CMD --reply, subscribe answers requests ("pubsub request"): once
CMD exits 0, what it wrote on stdout, bytes as they are, is sent as the reply
to the request's response-topic, with its correlation-id. A CMD that fails
sends no reply (with --queue, the request is given back for another try). A
message that is not a request (it has no response-topic header) is said so on
stderr, and CMD's output goes to stdout.`,
		Example: `  pubsub subscribe 'logs.+'
  pubsub subscribe --count 1 --timeout 30s jobs.done
  pubsub subscribe --format json 'orders.=' | jq .headers
  pubsub subscribe --format raw --count 1 images.new > photo.jpg
  pubsub subscribe --exec 'echo "$PUBSUB_TOPIC from $PUBSUB_HEADER_HOST: $(cat)"' 'metrics.+'
  pubsub sub --exec ./handle-job --exec-timeout 5m --exec-grace 30s jobs.new

  # workers of the queue "resize": each image is resized once, by one of them
  pubsub subscribe --queue resize --exec ./resize --max-deliveries 3 'images.+'

  # answer requests: "pubsub request text.upper hello" writes HELLO
  pubsub subscribe --exec 'tr a-z A-Z' --reply text.upper

  # in a script: start a subscriber, and publish once it is live
  pubsub subscribe --count 1 jobs.done 2> sub.err > done.txt &
  until grep -q subscribed sub.err; do sleep 0.1; done
  pubsub publish jobs.done ok`,
		Args:              argCount("TOPIC", 1, 1),
		ValidArgsFunction: a.completeTopics(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if o.exec != "" && f.Changed("format") {
				return usageErrorf("--exec and --format do not go together: with --exec, CMD writes the output")
			}
			for _, name := range []string{"exec-timeout", "exec-grace", "reply"} {
				if o.exec == "" && f.Changed(name) {
					return usageErrorf("--%s needs --exec", name)
				}
			}
			for _, name := range queueBoundFlags {
				if !f.Changed("queue") && f.Changed(name) {
					return usageErrorf("--%s needs --queue: it is a bound of the queue, set when the queue is made", name)
				}
			}
			if f.Changed("queue") {
				if err := checkQueueName(o.queue); err != nil {
					return err
				}
				var err error
				if o.queueOpts, err = bounds.options(f); err != nil {
					return err
				}
			}
			return a.subscribe(cmd.Context(), o, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.count, "count", "n", 0, "stop after `N` messages (0: no limit)")
	f.DurationVar(&o.timeout, "timeout", 0, "stop after `DURATION`, such as 500ms, 30s or 5m (0: no limit)")
	f.StringVar(&o.format, "format", "lines", "output `FORMAT`: raw, lines or json")
	f.StringVar(&o.exec, "exec", "", "run `CMD` with sh -c for each message: content on stdin, headers in the environment")
	f.DurationVar(&o.execTimeout, "exec-timeout", 0, "stop CMD after `DURATION` (SIGTERM, then SIGKILL after --exec-grace); the message counts as failed (0: no limit)")
	f.DurationVar(&o.execGrace, "exec-grace", defaultExecGrace, "give CMD `DURATION` to exit after SIGTERM or a forwarded signal, then SIGKILL it")
	f.BoolVar(&o.reply, "reply", false, "with --exec: send what CMD writes on stdout as the reply to a request (pubsub request)")
	f.StringVar(&o.queue, "queue", "", "join the work queue `NAME`, making it on first use, and acknowledge each message handled")
	bounds.addFlags(f)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("queue", a.completeQueueNames(-1))
	return cmd
}

func (a *app) subscribe(ctx context.Context, o subscribeOptions, pattern string) (err error) {
	if err := topic.ValidatePattern(pattern); err != nil {
		return usage(err)
	}
	switch {
	case !slices.Contains(formats, o.format):
		return usageErrorf("invalid --format %q: want raw, lines or json", o.format)
	case o.count < 0:
		return usageErrorf("invalid --count %d: want a number of messages, or 0 for no limit", o.count)
	case o.timeout < 0:
		return usageErrorf("invalid --timeout %v: want a positive duration, or 0 for no limit", o.timeout)
	case o.execTimeout < 0:
		return usageErrorf("invalid --exec-timeout %v: want a positive duration, or 0 for no limit", o.execTimeout)
	case o.execGrace < 0:
		return usageErrorf("invalid --exec-grace %v: want a duration, or 0 to kill at once", o.execGrace)
	}

	// Catch the signals before the channel exists, so one that arrives
	// at any time closes it.
	ctx, sigs, stop := notifyInterrupt(ctx)
	defer stop()

	h, err := a.openHome()
	if err != nil {
		return err
	}
	defer h.Close()
	s := &subscriber{a: a, h: h, o: o, out: bufio.NewWriterSize(a.stdout, 64<<10)}
	if o.exec != "" {
		var guard *execGuard
		if guard, err = startGuard(a.stderr); err != nil {
			return err
		}
		defer guard.close()
		s.runner = &execRunner{
			cmdline: o.exec, home: h.Dir(), queue: o.queue, timeout: o.execTimeout, grace: o.execGrace,
			stdout: a.stdout, stderr: a.stderr, signals: sigs, guard: guard,
		}
	}
	// next takes the next message from the queue or the channel.
	var next func(context.Context) (*pubsub.Message, error)
	if o.queue != "" {
		var q *pubsub.Queue
		if q, err = h.NewQueue(o.queue, pattern, o.queueOpts...); err != nil {
			return err
		}
		defer keepFirst(&err, q.Close)
		if s.queueInfo, err = findQueue(h, o.queue); err != nil {
			return err
		}
		next = q.Next
		fmt.Fprintf(a.stderr, "pubsub: joined queue %q on %q (%s)\n", q.Name(), q.Topic(), q.Dir())
	} else {
		var ch *pubsub.Channel
		if ch, err = h.NewChannel(pattern); err != nil {
			return err
		}
		defer keepFirst(&err, ch.Close)
		next = ch.Next
		fmt.Fprintf(a.stderr, "pubsub: subscribed to %q (channel %s)\n", ch.Topic(), ch.Dir())
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if o.timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, o.timeout)
		defer cancelTimeout()
	}
	watchReader(ctx, a.stdout, cancel)

	for n := 0; o.count == 0 || n < o.count; {
		m, err := next(ctx)
		if err != nil {
			if _, bad := errors.AsType[*pubsub.MessageError](err); bad {
				continue // set aside and logged by the library
			}
			if ctx.Err() != nil {
				return stopStatus(context.Cause(ctx), o, n)
			}
			if errors.Is(err, pubsub.ErrQueueRemoved) {
				return fmt.Errorf("pubsub: queue %q was removed", o.queue)
			}
			return err
		}
		n++
		if err := s.handle(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// subscriber handles the messages of one subscribe: it writes each, or
// runs --exec for it, and acknowledges those of a queue.
type subscriber struct {
	a         *app
	h         *pubsub.Home
	o         subscribeOptions
	out       *bufio.Writer
	runner    *execRunner      // with --exec
	queueInfo pubsub.QueueInfo // with --queue: its retry delay and maximum deliveries
}

// handle writes m, or runs --exec for it, and with --queue acknowledges
// it or gives it back. Only a failure to write stdout is returned: a
// failed command is reported, and the next message goes on.
func (s *subscriber) handle(ctx context.Context, m *pubsub.Message) error {
	if s.runner == nil {
		if err := writeMessage(s.out, s.o.format, m); err != nil {
			// A queue's message goes back when the queue is closed.
			return err
		}
		s.settle(m, execResult{outcome: execOK})
		m.Release() // written out: a large message's buffer serves the next
		return nil
	}
	capture := false
	if s.o.reply {
		if _, capture = m.Headers[pubsub.ResponseTopicHeader].(string); !capture {
			fmt.Fprintf(s.a.stderr, "pubsub: --reply: message %d on %s is not a request (no %s header): CMD's output goes to stdout\n",
				m.ID, m.Topic, pubsub.ResponseTopicHeader)
		}
	}
	res := s.runner.run(ctx, m, capture)
	if res.failure != "" {
		note := s.settle(m, res)
		if capture {
			note = "; no reply sent" + note
		}
		s.runner.report(m, res.failure+note)
		return nil
	}
	if capture {
		// A reply that cannot be sent does not make the request's work
		// undone: a queue's message is acknowledged all the same.
		if err := s.h.Reply(m, res.output, nil); err != nil {
			fmt.Fprintf(s.a.stderr, "pubsub: --reply: message %d on %s: %s\n", m.ID, m.Topic, strings.TrimPrefix(err.Error(), "pubsub: "))
		}
	}
	s.settle(m, res)
	return nil
}

// settle acknowledges a message of a queue that was handled, and gives
// back one that was not, with the queue's retry delay (at once if its
// command did not run). It returns what became of a message given back,
// for the report of its failure; a failure to acknowledge, or to give
// back, is reported on its own line.
func (s *subscriber) settle(m *pubsub.Message, res execResult) (note string) {
	if s.o.queue == "" {
		return ""
	}
	var err error
	switch res.outcome {
	case execOK:
		if err = m.Ack(); err != nil {
			s.queueWarning(m, "acknowledge", err)
		}
		return ""
	case execNotRun:
		err = m.Nack(0)
		note = "; given back"
	default:
		delay := s.queueInfo.RetryDelay
		err = m.Nack(delay)
		note = fmt.Sprintf("; given back after delivery %d of %d, to come again in %s", m.Deliveries(), s.queueInfo.MaxDeliveries, formatDuration(delay))
		if m.Deliveries() >= s.queueInfo.MaxDeliveries {
			note = fmt.Sprintf("; a dead letter after %d deliveries (pubsub queue dead %s)", m.Deliveries(), s.o.queue)
		}
	}
	if err != nil {
		s.queueWarning(m, "give back", err)
		return ""
	}
	return note
}

func (s *subscriber) queueWarning(m *pubsub.Message, what string, err error) {
	fmt.Fprintf(s.a.stderr, "pubsub: queue %q: message %d on %s: %s: %s\n",
		s.o.queue, m.ID, m.Topic, what, strings.TrimPrefix(err.Error(), "pubsub: "))
}

// interrupted is the cause of a subscribe that SIGINT or SIGTERM stopped.
type interrupted struct{ sig os.Signal }

func (e *interrupted) Error() string {
	switch e.sig {
	case os.Interrupt:
		return "interrupted by SIGINT"
	case syscall.SIGTERM:
		return "interrupted by SIGTERM"
	}
	return "interrupted by " + e.sig.String()
}

// status is the exit status for the signal: 128 plus its number, as a
// shell reports a process it killed.
func (e *interrupted) status() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return exitSignal + int(s)
	}
	return exitFailure
}

// notifyInterrupt returns a copy of parent that the first SIGINT or
// SIGTERM cancels, with an *interrupted cause. Each such signal is also
// sent on sigs, without blocking, for the --exec command running then.
// stop stops catching the signals.
func notifyInterrupt(parent context.Context) (ctx context.Context, sigs <-chan os.Signal, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	in := make(chan os.Signal, 2)
	out := make(chan os.Signal, 1)
	signal.Notify(in, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-in:
				cancel(&interrupted{s})
				select {
				case out <- s:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, out, func() {
		signal.Stop(in)
		close(done)
		cancel(nil)
	}
}

// stopStatus is the outcome of a subscribe that stopped before --count
// messages, for the reason cause. Without --count, a signal or the
// timeout is how it is meant to end; and a reader that went away
// (subscribe | head -1) ends it quietly.
func stopStatus(cause error, o subscribeOptions, n int) error {
	if o.count == 0 || errors.Is(cause, errStdoutClosed) {
		return nil
	}
	if e, ok := errors.AsType[*interrupted](cause); ok {
		return &statusError{e.status(), fmt.Errorf("pubsub: %v after %d of %d messages", e, n, o.count)}
	}
	if errors.Is(cause, context.DeadlineExceeded) {
		return &statusError{exitTimeout, fmt.Errorf("pubsub: --timeout %v passed after %d of %d messages", o.timeout, n, o.count)}
	}
	return nil
}

// writeMessage writes one message in format, and flushes it so that a
// reader sees each message as it arrives.
func writeMessage(w *bufio.Writer, format string, m *pubsub.Message) error {
	switch format {
	case "raw":
		_, _ = w.Write(m.Content)
	case "lines":
		_, _ = w.Write(m.Content)
		_ = w.WriteByte('\n')
	case "json":
		_, _ = w.Write(appendMessageJSON(nil, m))
		_ = w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil { // bufio keeps the first write error
		return stdoutError(err)
	}
	return nil
}

// watchReader cancels ctx when stdout is a pipe that nobody reads any more
// (in "pubsub subscribe t | head -1", once head has exited). Writing would
// fail with EPIPE as well, but only at the next message, which may never
// come; meanwhile the channel would be held open for nothing.
func watchReader(ctx context.Context, w io.Writer, cancel context.CancelCauseFunc) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	if fi, err := f.Stat(); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return
	}
	go func() {
		if fsys.WaitReaderGone(ctx, fd) {
			cancel(errStdoutClosed)
		}
	}()
}

func sortedKeys(h pubsub.Headers) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendMessageJSON appends the --format json object for m.
func appendMessageJSON(b []byte, m *pubsub.Message) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, m.ID, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, m.Timestamp, 10)
	b = append(b, `,"topic":`...)
	b = appendString(b, m.Topic)
	b = append(b, `,"headers":`...)
	b = appendHeadersJSON(b, m.Headers)
	if utf8.Valid(m.Content) {
		b = append(b, `,"content":`...)
		b = appendString(b, string(m.Content))
	} else {
		b = append(b, `,"content_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, m.Content)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendHeadersJSON appends the headers as a JSON object, keys sorted,
// each value keeping its type: an integer stays an integer however large,
// a float stays a float (1.0, not 1).
func appendHeadersJSON(b []byte, h pubsub.Headers) []byte {
	b = append(b, '{')
	for i, k := range sortedKeys(h) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendValueJSON(b, h[k])
	}
	return append(b, '}')
}

// appendValueJSON appends one header value as the types a received
// message holds (see pubsub.Headers). Lists and objects from a Python
// publisher are json.RawMessage, written as they came; so are NaN and
// the infinities, as Python writes them, which strict JSON parsers refuse.
func appendValueJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case *big.Int:
		return v.Append(b, 10)
	case float64:
		return appendFloat(b, v)
	case json.RawMessage:
		return append(b, v...)
	}
	// No other type comes out of a received message; json.Marshal is
	// the best guess for one that someday might.
	text, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, text...)
}

// appendFloat writes f as Python's repr does, so that it reads back as a
// float: 1.0, 0.0001, 1e-05, 1e+16.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	b = append(b, s...)
	if !strings.ContainsRune(s, '.') {
		b = append(b, ".0"...)
	}
	return b
}

// appendString appends s as a JSON string, leaving <, > and & alone.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}
