package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub"
)

// demoWait bounds each wait of the demo: for a subscriber to be live, for a
// publisher, for the subscribers to receive everything.
const demoWait = 10 * time.Second

func (a *app) newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Watch two subscribers and a publisher at work, each a process of its own",
		Long: `Show the bus at work on the home (the default one unless --home or
$PUBSUB_HOME says otherwise): start two subscriber processes, one on an exact
topic and one on a wildcard topic, wait until both are live, publish three
messages from other processes, and show what each subscriber received. It takes
well under a second, and leaves nothing behind: each subscriber closes its
channel.

Every step runs this same pubsub binary, so what the demo prints is what the
commands do from a shell.`,
		Example: `  pubsub demo
  go run ./cmd/pubsub demo    # from a checkout: what "make demo" runs`,
		Args: argCount("", 0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.demo(cmd.Context())
		},
	}
}

type demoSub struct {
	name  string
	topic string
	why   string
	count int

	args []string
	cmd  *exec.Cmd
	out  bytes.Buffer  // its stdout, complete once cmd.Wait returns
	live chan struct{} // closed when it says it is live
	eof  chan struct{} // closed when its stderr ends
}

var demoMessages = []struct {
	topic   string
	order   int
	content string
}{
	{"demo.orders.created", 1, "order 1 created"},
	{"demo.orders.shipped", 1, "order 1 shipped"},
	{"demo.orders.created", 2, "order 2 created"},
}

func (a *app) demo(ctx context.Context) (err error) {
	h, err := a.openHome() // a bad home is reported here, once, not by every child
	if err != nil {
		return err
	}
	defer h.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("pubsub: demo: find this program to run it again: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stderr := &syncWriter{w: a.stderr}

	subs := []*demoSub{
		{name: "A", topic: "demo.orders.created", why: "an exact topic", count: 2},
		{name: "B", topic: "demo.orders.+", why: "'+' stands for one or more words", count: 3},
	}
	dir := h.Dir()
	fmt.Fprintf(a.stdout, "pubsub demo on home %s\n\nTwo subscribers, each a process of its own:\n", dir)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 3, ' ', 0)
	for _, s := range subs {
		s.args = []string{"subscribe", "--count", strconv.Itoa(s.count), "--timeout", demoWait.String(), "--format", "json", s.topic}
		if err := s.start(ctx, exe, dir, stderr); err != nil {
			return err
		}
		// However this ends, the subscribers are stopped (SIGTERM: they
		// close their channels) and waited for.
		defer keepFirst(&err, s.wait)
		defer cancel()
		fmt.Fprintf(tw, "  %s\tpubsub %s\t%s\n", s.name, shellJoin(s.args), s.why)
	}
	tw.Flush()

	for _, s := range subs {
		select {
		case <-s.live:
		case <-s.eof:
			return fmt.Errorf("pubsub: demo: subscriber %s exited before it was live", s.name)
		case <-ctx.Done():
			return fmt.Errorf("pubsub: demo: %v", context.Cause(ctx))
		case <-time.After(demoWait):
			return fmt.Errorf("pubsub: demo: subscriber %s not live after %v", s.name, demoWait)
		}
	}
	fmt.Fprintf(a.stdout, "Both are live.\n\nThree messages, each published by a process of its own:\n")
	for _, m := range demoMessages {
		args := []string{"publish", "-H", "order:=" + strconv.Itoa(m.order), m.topic, m.content}
		n, err := demoPublish(ctx, exe, dir, args)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "  pubsub %s\treached %d channel%s\n", shellJoin(args), n, plural(n))
	}
	tw.Flush()

	fmt.Fprintf(a.stdout, "\nWhat each subscriber received:\n")
	var short []string
	for _, s := range subs {
		if err := s.wait(); err != nil {
			return err
		}
		got := 0
		for line := range bytes.Lines(s.out.Bytes()) {
			var m struct {
				Topic   string          `json:"topic"`
				Headers json.RawMessage `json:"headers"`
				Content string          `json:"content"`
			}
			if err := json.Unmarshal(line, &m); err != nil {
				return fmt.Errorf("pubsub: demo: subscriber %s wrote %q: %w", s.name, line, err)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.name, m.Topic, m.Headers, m.Content)
			got++
		}
		if got != s.count {
			short = append(short, fmt.Sprintf("%s received %d of %d messages", s.name, got, s.count))
		}
	}
	tw.Flush()
	if len(short) > 0 {
		return fmt.Errorf("pubsub: demo: %s", strings.Join(short, "; "))
	}
	if err := demoLeftovers(h, subs); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nBoth subscribers closed their channels and exited.\n")
	return nil
}

func (s *demoSub) start(ctx context.Context, exe, home string, stderr io.Writer) error {
	s.cmd = exec.CommandContext(ctx, exe, append([]string{"--home", home}, s.args...)...)
	// SIGTERM, not SIGKILL, so that it closes its channel.
	s.cmd.Cancel = func() error { return s.cmd.Process.Signal(syscall.SIGTERM) }
	s.cmd.WaitDelay = demoWait
	s.cmd.Stdout = &s.out
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pubsub: demo: start subscriber %s: %w", s.name, err)
	}
	s.live = make(chan struct{})
	s.eof = make(chan struct{})
	go func() {
		defer close(s.eof)
		sc := bufio.NewScanner(pipe)
		live := false
		for sc.Scan() {
			if !live && strings.HasPrefix(sc.Text(), "pubsub: subscribed to ") {
				live = true
				close(s.live)
				continue
			}
			fmt.Fprintf(stderr, "%s (subscriber %s)\n", sc.Text(), s.name)
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	return nil
}

// wait waits for the subscriber to exit; it may be called more than once.
func (s *demoSub) wait() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	<-s.eof // the stderr pipe must be read to its end before Wait
	if err := s.cmd.Wait(); err != nil {
		return fmt.Errorf("pubsub: demo: subscriber %s: %w", s.name, err)
	}
	return nil
}

// demoPublish runs "pubsub publish --json" and returns how many channels
// the message reached.
func demoPublish(ctx context.Context, exe, home string, args []string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, demoWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"--home", home, "publish", "--json"}, args[1:]...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("pubsub: demo: pubsub %s: %v: %s", shellJoin(args), err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r struct{ Channels int }
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("pubsub: demo: pubsub %s wrote %q: %w", shellJoin(args), out, err)
	}
	return r.Channels, nil
}

// demoLeftovers checks that the subscribers left no channel behind.
func demoLeftovers(h *pubsub.Home, subs []*demoSub) error {
	chans, err := h.Channels()
	if err != nil {
		return err
	}
	for _, c := range chans {
		for _, s := range subs {
			if c.PID == s.cmd.Process.Pid {
				return fmt.Errorf("pubsub: demo: subscriber %s left its channel %s behind", s.name, c.Dir)
			}
		}
	}
	return nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%^,-]+$`)

// shellJoin writes args as they would be typed in a shell.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, s := range args {
		if shellSafe.MatchString(s) {
			q[i] = s
		} else {
			q[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// syncWriter serialises writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
