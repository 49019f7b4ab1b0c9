package bridge_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// waitLimit bounds every wait for a condition; reaching it fails the test.
const waitLimit = 60 * time.Second

var natsServerBin string

// TestMain builds the NATS server from the nested module in
// testdata/natsserver, which pins it, so that the core module does not
// depend on it.
func TestMain(m *testing.M) {
	// A -race binary sleeps a second before exiting unless told not to.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	dir, err := os.MkdirTemp("", "bridge-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	natsServerBin = filepath.Join(dir, "nats-server")
	cmd := exec.Command("go", "build", "-C", "testdata/natsserver", "-o", natsServerBin, "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building nats-server: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	proctest.Cleanup()
	os.Exit(code)
}

// natsServer is a nats-server process on a loopback port.
type natsServer struct {
	t     *testing.T
	port  int
	url   string
	conf  string
	proc  *proctest.Proc
	store string
	// client holds what a client needs to connect, for the readiness
	// check, when the server asks for credentials or TLS.
	client []nats.Option
}

// startNATS starts a NATS server with JetStream and a max_payload of
// 32 MiB, so that 16 MiB messages pass.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	return startNATSWith(t, "")
}

// startNATSWith is startNATS with conf added to the server's
// configuration (authorization, TLS, ...) and opts for a client to
// connect (the test's own clients, and the readiness check).
func startNATSWith(t *testing.T, conf string, opts ...nats.Option) *natsServer {
	t.Helper()
	port := freePort(t)
	dir := t.TempDir()
	s := &natsServer{t: t, port: port, url: fmt.Sprintf("nats://127.0.0.1:%d", port), store: filepath.Join(dir, "js"), client: opts}
	s.conf = filepath.Join(dir, "nats.conf")
	conf = fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: %d\njetstream {\n  store_dir: %q\n}\n", port, 32<<20, s.store) + conf
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	return s
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *natsServer) start() {
	s.t.Helper()
	s.proc = proctest.Start(s.t, nil, natsServerBin, "-c", s.conf)
	// Ready when a client can connect and JetStream answers.
	waitFor(s.t, "NATS server ready", func() bool {
		nc, err := nats.Connect(s.url, append([]nats.Option{nats.Timeout(time.Second)}, s.client...)...)
		if err != nil {
			return false
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err == nil
	})
}

// stop ends the server with SIGTERM, its clean shutdown, and waits.
func (s *natsServer) stop() {
	s.t.Helper()
	s.proc.Signal(syscall.SIGTERM)
	_ = s.proc.Wait()
}

// jetStreamClient connects to the server at url for the test's own
// JetStream calls (streams made or changed under the bridge), each bounded
// by the returned context; both end with the test.
func jetStreamClient(t *testing.T, url string) (jetstream.JetStream, context.Context) {
	t.Helper()
	js, err := jetstream.New(natsConn(t, url))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return js, ctx
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newHome makes a home on tmpfs standing for one host.
func newHome(t *testing.T) *pubsub.Home {
	t.Helper()
	parent := "/dev/shm"
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "pubsub-bridge-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h, err := pubsub.Open(dir, pubsub.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// pubsubBin is the pubsub command, built once.
func pubsubBin(t *testing.T) string {
	return proctest.Build(t, "github.com/pubsub-go/pubsub/cmd/pubsub")
}

// pubsubFastBin is the pubsub command without the race detector, for
// tests whose point is load.
func pubsubFastBin(t *testing.T) string {
	return proctest.BuildFast(t, "github.com/pubsub-go/pubsub/cmd/pubsub")
}

// bridgeProc is a "pubsub bridge" process.
type bridgeProc struct {
	*proctest.Proc
	t    *testing.T
	home string
	args []string
	wrap []string // a command the bridge runs under (ip netns exec NS)
	bin  string   // the pubsub command, if not pubsubBin's
	env  []string // added to its environment
}

// startBridge runs "pubsub --home HOME bridge ARGS..." and waits for its
// ready line.
func startBridge(t *testing.T, h *pubsub.Home, args ...string) *bridgeProc {
	t.Helper()
	b := &bridgeProc{t: t, home: h.Dir(), args: args}
	b.start()
	return b
}

// startBridgeIn is startBridge with the bridge run under wrap, a command
// such as "ip netns exec NS" that runs its arguments.
func startBridgeIn(t *testing.T, wrap []string, h *pubsub.Home, args ...string) *bridgeProc {
	t.Helper()
	b := &bridgeProc{t: t, home: h.Dir(), args: args, wrap: wrap}
	b.start()
	return b
}

// oneWay is the usual set-up of a test: a NATS server, home A whose
// bridge exports a pattern, home B whose bridge imports it, and a
// collector on B.
type oneWay struct {
	srv    *natsServer
	a, b   *pubsub.Home
	ba, bb *bridgeProc
	sub    *collector
}

// startOneWay starts a oneWay for pattern, collecting subPattern on B;
// flagsA and flagsB go to the bridges after --nats URL.
func startOneWay(t *testing.T, pattern, subPattern string, flagsA, flagsB []string) oneWay {
	t.Helper()
	w := oneWay{srv: startNATS(t), a: newHome(t), b: newHome(t)}
	w.ba = startBridge(t, w.a, slices.Concat([]string{"--nats", w.srv.url}, flagsA, []string{"--export", pattern})...)
	w.bb = startBridge(t, w.b, slices.Concat([]string{"--nats", w.srv.url}, flagsB, []string{"--import", pattern})...)
	w.sub = collect(t, w.b, subPattern)
	return w
}

func (b *bridgeProc) start() {
	b.t.Helper()
	bin := b.bin
	if bin == "" {
		bin = pubsubBin(b.t)
	}
	cmd := append(append(b.wrap[:len(b.wrap):len(b.wrap)], bin, "--home", b.home, "bridge"), b.args...)
	b.Proc = proctest.Start(b.t, b.env, cmd[0], cmd[1:]...)
	b.waitStderr("pubsub: bridge ready")
}

// waitStderr waits until the bridge wrote s on stderr.
func (b *bridgeProc) waitStderr(s string) {
	b.t.Helper()
	done := make(chan struct{})
	p := b.Proc
	go func() { _ = p.Wait(); close(done) }()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(p.StderrText(), s) {
		select {
		case <-done:
			if strings.Contains(p.StderrText(), s) {
				return
			}
			b.t.Fatalf("bridge %v exited before writing %q; stderr:\n%s", b.args, s, p.StderrText())
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("bridge %v: no %q after %v; stderr:\n%s", b.args, s, waitLimit, p.StderrText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM, checks the bridge exits 0 and returns its counts.
func (b *bridgeProc) stop() map[string]int {
	b.t.Helper()
	b.Signal(syscall.SIGTERM)
	if err := b.Wait(); err != nil {
		b.t.Fatalf("bridge %v: %v; stderr:\n%s", b.args, err, b.StderrText())
	}
	if testing.Verbose() {
		b.t.Logf("bridge %v stderr:\n%s", b.args, b.StderrText())
	}
	return stats(b.t, b.StderrText())
}

var statsLine = regexp.MustCompile(`pubsub: bridge stopped: (.*)`)

// stats reads the counts of the "bridge stopped" line.
func stats(t *testing.T, stderr string) map[string]int {
	t.Helper()
	m := statsLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no stats line in stderr:\n%s", stderr)
	}
	out := map[string]int{}
	for _, f := range strings.Split(m[1], ", ") {
		i := strings.LastIndexByte(f, ' ')
		n, err := strconv.Atoi(f[i+1:])
		if err != nil {
			t.Fatalf("stats line %q: %v", m[0], err)
		}
		out[f[:i]] = n
	}
	return out
}

// collector takes every message of a channel in the background.
type collector struct {
	t    *testing.T
	ch   *pubsub.Channel
	mu   sync.Mutex
	msgs []*pubsub.Message
	errs []error
	done chan struct{}
	stop context.CancelFunc
}

func collect(t *testing.T, h *pubsub.Home, pattern string) *collector {
	t.Helper()
	ch, err := h.NewChannel(pattern)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{t: t, ch: ch, done: make(chan struct{}), stop: cancel}
	go func() {
		defer close(c.done)
		for {
			m, err := ch.Next(ctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, pubsub.ErrClosed) {
					return
				}
				c.mu.Lock()
				c.errs = append(c.errs, err)
				c.mu.Unlock()
				continue
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.close() })
	return c
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// waitCount waits until at least n messages arrived.
func (c *collector) waitCount(n int) {
	c.t.Helper()
	waitFor(c.t, fmt.Sprintf("%d messages on %s", n, c.ch.Topic()), func() bool { return c.count() >= n })
}

// close stops collecting, takes whatever is still pending (after the
// bridges stopped, nothing more can come), and returns every message.
func (c *collector) close() []*pubsub.Message {
	c.stop()
	<-c.done
	for {
		m, err := c.ch.Fetch()
		if err != nil {
			break
		}
		c.msgs = append(c.msgs, m)
	}
	c.ch.Close()
	if len(c.errs) > 0 {
		c.t.Errorf("channel %s: errors %v", c.ch.Topic(), c.errs)
		c.errs = nil
	}
	return c.msgs
}

// publishLines runs "pubsub publish --lines TOPIC" on home: one process
// publishing each line written to the returned writer, in order.
func publishLines(t *testing.T, h *pubsub.Home, topic string) (w *bufio.Writer, finish func()) {
	t.Helper()
	cmd := exec.Command(pubsubBin(t), "--home", h.Dir(), "publish", "--lines", topic)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	w = bufio.NewWriter(stdin)
	return w, func() {
		t.Helper()
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("pubsub publish --lines: %v\n%s", err, stderr.String())
		}
	}
}
