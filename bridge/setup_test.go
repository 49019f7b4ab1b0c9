package bridge_test

import (
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/bridge"
)

// TestDurableInUse: two hosts given the same --durable name would split
// the stream's messages between them. The second is refused at start,
// naming the home that holds the name, and never says it is ready. The
// name is free again once the first stops; a bridge killed and started
// again on its own home takes its claim back at once.
func TestDurableInUse(t *testing.T) {
	srv := startNATS(t)
	a, b := newHome(t), newHome(t)
	originA, err := bridge.Origin(a.Dir())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--nats", srv.url, "--durable", "shared", "--import", "du.+"}
	first := startBridge(t, a, args...)
	second := startBridgeNoWait(t, b, args...)
	stderr := refused(t, second)
	if !strings.Contains(stderr, "durable consumer is in use by another bridge") || !strings.Contains(stderr, "durable shared") ||
		!strings.Contains(stderr, "home "+originA) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("second bridge's stderr does not say, in one line, which home holds the durable name:\n%s", stderr)
	}
	// Killed, and started again on its own home: its own claim.
	if err := first.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	first.start()
	first.stop()
	// Stopped: the name is free.
	third := startBridge(t, b, args...)
	third.stop()
}

// TestPrefixCase: prefixes "cs" and "CS" name the same default stream,
// made for one of them only; the second bridge is refused at start with
// an error saying so, whether it exports or imports, and never says it
// is ready.
func TestPrefixCase(t *testing.T) {
	srv := startNATS(t)
	a, b, c := newHome(t), newHome(t), newHome(t)
	first := startBridge(t, a, "--nats", srv.url, "--prefix", "cs", "--durable", "host-a", "--export", "x.+", "--import", "x.+")
	for _, p := range []struct {
		home *pubsub.Home
		args []string
	}{
		{b, []string{"--durable", "host-b", "--export", "x.+"}},
		{c, []string{"--durable", "host-c", "--import", "x.+"}},
	} {
		args := append([]string{"--nats", srv.url, "--prefix", "CS"}, p.args...)
		stderr := refused(t, startBridgeNoWait(t, p.home, args...))
		if !strings.Contains(stderr, "stream CS takes cs.>, not CS.>") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: stderr does not say, in one line, that the stream is another prefix's:\n%s", args, stderr)
		}
	}
	first.stop()
}

// refused waits for bridge p to exit or say it is ready, checks that it
// exited with status 1, and returns its stderr.
func refused(t *testing.T, p *bridgeProc) string {
	t.Helper()
	exited := make(chan struct{})
	go func() { _ = p.Wait(); close(exited) }()
	waitFor(t, "the bridge to exit or say it is ready", func() bool {
		select {
		case <-exited:
			return true
		default:
			return strings.Contains(p.StderrText(), "bridge ready")
		}
	})
	select {
	case <-exited:
	default:
		p.stop()
		t.Fatalf("bridge %v says it is ready; want it refused:\n%s", p.args, p.StderrText())
	}
	if code := p.ExitCode(); code != 1 {
		t.Errorf("bridge %v: exit status %d, want 1", p.args, code)
	}
	return p.StderrText()
}
