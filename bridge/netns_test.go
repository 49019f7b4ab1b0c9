package bridge_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/proctest"
)

// TestTwoNetworks: two network namespaces, each with its own address on
// a virtual Ethernet link between them, stand for two machines. The NATS
// server and host A's bridge run in one, host B's bridge in the other and
// reaches the server over the link only. Messages go both ways, in order,
// with their headers, and none comes back.
func TestTwoNetworks(t *testing.T) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		proctest.SkipOutsideCI(t, "no ip command (iproute2) to make network namespaces")
	}
	if os.Geteuid() != 0 {
		proctest.SkipOutsideCI(t, "making network namespaces needs root")
	}
	nsA, nsB := netns(t, ip, "a"), netns(t, ip, "b")
	// A veth pair, made here and moved, one end into each namespace.
	endA, endB := fmt.Sprintf("ps%da", os.Getpid()), fmt.Sprintf("ps%db", os.Getpid())
	run(t, ip, "link", "add", endA, "type", "veth", "peer", "name", endB)
	run(t, ip, "link", "set", endA, "netns", nsA)
	run(t, ip, "link", "set", endB, "netns", nsB)
	for _, c := range []struct{ ns, dev, addr string }{{nsA, endA, "10.99.0.1/24"}, {nsB, endB, "10.99.0.2/24"}} {
		run(t, ip, "-n", c.ns, "addr", "add", c.addr, "dev", c.dev)
		run(t, ip, "-n", c.ns, "link", "set", c.dev, "up")
		run(t, ip, "-n", c.ns, "link", "set", "lo", "up")
	}
	// B cannot reach A's loopback: only the link joins them.
	if out, err := exec.Command(ip, "netns", "exec", nsB, ip, "route", "get", "10.99.0.1").CombinedOutput(); err != nil || !strings.Contains(string(out), endB) {
		t.Fatalf("route from B to A does not take the link: %v\n%s", err, out)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("listen: 10.99.0.1:4222\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proctest.Start(t, nil, ip, "netns", "exec", nsA, natsServerBin, "-c", conf)
	url := "nats://10.99.0.1:4222"

	a, b := newHome(t), newHome(t)
	flags := []string{"--nats", url, "--export", "net.+", "--import", "net.+"}
	// The bridges retry until the server listens, then say they are ready.
	ba := startBridgeIn(t, []string{ip, "netns", "exec", nsA}, a, flags...)
	bb := startBridgeIn(t, []string{ip, "netns", "exec", nsB}, b, flags...)
	onA, onB := collect(t, a, "net.+"), collect(t, b, "net.+")

	const n = 1000
	for i := range n {
		if _, err := a.Publish("net.from-a", fmt.Appendf(nil, "%d", i), pubsub.Headers{"n": int64(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Publish("net.from-b", fmt.Appendf(nil, "%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	onA.waitCount(2 * n)
	onB.waitCount(2 * n)
	sa, sb := ba.stop(), bb.stop()
	for _, c := range []struct {
		name    string
		got     []*pubsub.Message
		local   string
		distant string
	}{{"A", onA.close(), "net.from-a", "net.from-b"}, {"B", onB.close(), "net.from-b", "net.from-a"}} {
		var local, distant []*pubsub.Message
		for _, m := range c.got {
			_, carried := m.Headers["pubsub-origin"]
			switch {
			case m.Topic == c.local && !carried:
				local = append(local, m)
			case m.Topic == c.distant && carried:
				distant = append(distant, m)
			default:
				t.Errorf("%s got %s with headers %v: a message back from NATS, or unexpected", c.name, m.Topic, m.Headers)
			}
		}
		checkSequence(t, local, 0, n)
		checkSequence(t, distant, 0, n)
		if c.distant == "net.from-a" && len(distant) > 0 && distant[n-1].Headers["n"] != int64(n-1) {
			t.Errorf("%s: headers %v", c.name, distant[n-1].Headers)
		}
	}
	if sa["exported"] != n || sa["imported"] != n || sb["exported"] != n || sb["imported"] != n {
		t.Errorf("counts: A %v, B %v", sa, sb)
	}
}

// netns makes a network namespace, deleted when the test ends.
func netns(t *testing.T, ip, suffix string) string {
	t.Helper()
	name := fmt.Sprintf("pubsub-test-%d-%s", os.Getpid(), suffix)
	run(t, ip, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", name, err, out)
		}
	})
	return name
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
