package bridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/pubsub-go/pubsub/bridge"
)

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"localhost", "localhost"},
		{"nats://bob:s3cret@h:4222", "nats://bob:xxxxx@h:4222"},
		{"bob:s3cret@h", "bob:xxxxx@h"},
		{"nats://t0ken@h", "nats://xxxxx@h"},
		{"t0ken@h:1", "xxxxx@h:1"},
		{"nats://bob:@h", "nats://bob:@h"},
		{"tls://bob:p%40ss@h:1,nats://t0ken@g:2,ws://g:3", "tls://bob:xxxxx@h:1,nats://xxxxx@g:2,ws://g:3"},
		// Not URLs that parse: redacted all the same.
		{"nats://bob:p@ss@h", "nats://bob:xxxxx@h"},
		{"nats://bob:s3/cret@h:port", "nats://bob:xxxxx@h:port"},
		{"nats://bob:s3cret@", "nats://bob:xxxxx@"},
	} {
		if got := bridge.RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCredentialsNotPrinted: a password or a token in the NATS URL never
// appears in what the bridge prints: its ready line, its log lines as it
// connects, reconnects and retries, its stop line, and its errors, from
// the command (usage errors) and from the library (New and Run).
func TestCredentialsNotPrinted(t *testing.T) {
	const password, token = "s3cret-pw", "t0ken-s3cret"
	secrets := []string{password, token, "s3c%2Fret"}
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s prints the secret %q:\n%s", what, secret, s)
			}
		}
	}
	t.Run("password", func(t *testing.T) {
		srv := startNATSWith(t, fmt.Sprintf("authorization { user: bob, password: %q }\n", password), nats.UserInfo("bob", password))
		url := strings.Replace(srv.url, "nats://", "nats://bob:"+password+"@", 1)
		a := newHome(t)
		b := startBridge(t, a, "--nats", url, "--import", "cr.+")
		// A restart of the server: the bridge says it reconnected.
		srv.stop()
		srv.start()
		b.waitStderr("reconnected to NATS")
		b.stop()
		check(t, "the bridge", b.StderrText())
		if !strings.Contains(b.StderrText(), "bob:xxxxx@127.0.0.1") {
			t.Errorf("the bridge does not name the server it uses:\n%s", b.StderrText())
		}
	})
	t.Run("token", func(t *testing.T) {
		srv := startNATSWith(t, fmt.Sprintf("authorization { token: %q }\n", token), nats.Token(token))
		url := strings.Replace(srv.url, "nats://", "nats://"+token+"@", 1)
		var buf logBuffer
		b, err := bridge.New(newHome(t), url, bridge.WithImport("cr.+"), bridge.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		waitFor(t, "the bridge to connect", func() bool { return strings.Contains(buf.String(), "connected to NATS") })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		check(t, "the bridge's log", buf.String())
	})
	t.Run("retries", func(t *testing.T) {
		// Nothing listens there: the bridge retries, and says so.
		url := fmt.Sprintf("nats://bob:%s@127.0.0.1:%d,nats://%s@127.0.0.1:%d", password, freePort(t), token, freePort(t))
		p := startBridgeNoWait(t, newHome(t), "--nats", url, "--export", "cr.+")
		waitFor(t, "two retry warnings", func() bool { return strings.Count(p.StderrText(), "cannot reach NATS") >= 2 })
		p.stop()
		check(t, "the bridge", p.StderrText())
		if strings.Contains(p.StderrText(), "bridge ready") {
			t.Errorf("a bridge that never connected says it is ready:\n%s", p.StderrText())
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, url := range []string{
			"nats://bob:" + password + "@127.0.0.1:port",
			"nats://bob:" + password + "@127.0.0.1:4222/path",
			"nats://bob:s3c/ret@127.0.0.1:4222",
			"nats://bob:s3c%2Fret@127.0.0.1:4222,http://" + token + "@127.0.0.1",
			"nats://" + token + "@127.0.0.1:99999",
			"nats://bob:" + password + "@[::1",
		} {
			p := startBridgeNoWait(t, newHome(t), "--nats", url, "--export", "cr.+")
			if code := p.ExitCode(); code != 2 {
				t.Errorf("--nats %s: exit status %d, want 2", bridge.RedactURL(url), code)
			}
			check(t, "a usage error", p.StderrText())
			if _, err := bridge.New(newHome(t), url, bridge.WithExport("cr.+")); err == nil {
				t.Errorf("New(%s) = nil error", bridge.RedactURL(url))
			} else {
				check(t, "New's error", err.Error())
			}
		}
	})
	t.Run("run error", func(t *testing.T) {
		url := "nats://bob:" + password + "@127.0.0.1:4222"
		b, err := bridge.New(newHome(t), url, bridge.WithExport("cr.+"), bridge.WithLogger(nil),
			bridge.WithNATSOptions(nats.RootCAs("/nonexistent/ca.pem")))
		if err != nil {
			t.Fatal(err)
		}
		err = b.Run(context.Background())
		if err == nil {
			t.Fatal("Run with a CA file that does not exist: nil error")
		}
		check(t, "Run's error", err.Error())
	})
}

// logBuffer is a strings.Builder safe for the bridge's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
