package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// inPoll reports whether a thread of process pid is in ppoll(2), where a
// subscriber of a sparse stream waits (the Go runtime itself never is).
func inPoll(pid int) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/syscall")
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		nr, _, _ := strings.Cut(string(b), " ")
		if nr == strconv.Itoa(unix.SYS_PPOLL) {
			return true
		}
	}
	return false
}

// TestSparseSubscriberProcess: a subscriber process that waits long
// between messages blocks in ppoll(2); a message published by another
// process wakes it there, and SIGTERM stops it there, quietly.
func TestSparseSubscriberProcess(t *testing.T) {
	home := testHome(t)
	// Its output a file, not a pipe: with a pipe, a thread of the command
	// waits in ppoll(2) for the reader to go.
	outPath := filepath.Join(t.TempDir(), "out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd, stderr := startSubscriber(t, home, "sparse.t", out)
	if inPoll(cmd.Process.Pid) {
		t.Fatal("a subscriber writing to a file has a thread in ppoll(2) before any wait")
	}
	// Idle, it lists its directory once a second, and each such wait
	// counts as long: it blocks in ppoll(2) within a few seconds whatever
	// the pace of the messages.
	blocked := func() {
		for !inPoll(cmd.Process.Pid) {
			runtime.Gosched()
		}
	}
	want := ""
	for _, msg := range []string{"one", "two"} {
		blocked()
		publish(t, home, "sparse.t", msg)
		want += msg + "\n"
		for {
			got, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) == want {
				break
			}
			if !strings.HasPrefix(want, string(got)) {
				t.Fatalf("output %q; want %q", got, want)
			}
			runtime.Gosched()
		}
	}
	blocked()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	checkQuietEnd(t, home, cmd, stderr)
}
