package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pubsub-go/pubsub"
)

// startSubscriber runs "pubsub subscribe --format lines TOPIC" with stdout
// going to out, and waits until its channel is live.
func startSubscriber(t *testing.T, home, topic string, out *os.File) (cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	cmd = exec.CommandContext(ctx, "pubsub", "subscribe", "--format", "lines", topic)
	cmd.Env = append(os.Environ(), "PUBSUB_HOME="+home)
	cmd.Stdout = out
	stderr = new(bytes.Buffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close() // the child has its own copy
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if _, err := waitChannels(home, topic, 1); err != nil {
		t.Fatal(err)
	}
	return cmd, stderr
}

func publish(t *testing.T, home, topic, msg string) {
	t.Helper()
	cmd := exec.Command("pubsub", "publish", topic, msg)
	cmd.Env = append(os.Environ(), "PUBSUB_HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pubsub publish: %v: %s", err, out)
	}
}

// checkQuietEnd checks that the subscriber exited 0, said nothing but its
// live line, and closed its channel.
func checkQuietEnd(t *testing.T, home string, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Errorf("subscriber: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "pubsub: subscribed to ") {
		t.Errorf("stderr = %q, want the live line only", stderr)
	}
	h, err := pubsub.Open(home, pubsub.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if chans, err := h.Channels(); err != nil || len(chans) != 0 {
		t.Errorf("channels left = %v, %v; want none", chans, err)
	}
}

// TestClosedPipe is "pubsub subscribe t | head -1": once the reader has
// gone, the subscriber closes its channel and exits 0, quietly, without
// waiting for a next message to fail to write.
func TestClosedPipe(t *testing.T) {
	home := testHome(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd, stderr := startSubscriber(t, home, "pipe.t", w)
	publish(t, home, "pipe.t", "one")
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "one\n" {
		t.Fatalf("read %q, %v; want %q", line, err, "one\n")
	}
	r.Close()
	checkQuietEnd(t, home, cmd, stderr)
}

// TestClosedSocket: a write to a socket whose reader has gone fails with
// EPIPE (no poll tells in advance, unlike a pipe); the subscriber ends as
// quietly.
func TestClosedSocket(t *testing.T) {
	home := testHome(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(fds[0]) // SOCK_CLOEXEC is not on every Unix
	unix.CloseOnExec(fds[1])
	r, w := os.NewFile(uintptr(fds[0]), "reader"), os.NewFile(uintptr(fds[1]), "writer")
	defer r.Close()
	cmd, stderr := startSubscriber(t, home, "socket.t", w)
	publish(t, home, "socket.t", "one")
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "one\n" {
		t.Fatalf("read %q, %v; want %q", line, err, "one\n")
	}
	r.Close()
	publish(t, home, "socket.t", "two")
	checkQuietEnd(t, home, cmd, stderr)
}
