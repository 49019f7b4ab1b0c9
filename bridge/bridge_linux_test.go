package bridge_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestExportReadFailure: a passing failure to read the export channel
// (the bridge out of file descriptors as a file message comes) is retried
// with backoff, not the end of exporting: once descriptors are free
// again, the message goes.
func TestExportReadFailure(t *testing.T) {
	ow := startOneWay(t, "rf.+", "rf.+", nil, nil)
	a, ba, bb, sub := ow.a, ow.ba, ow.bb, ow.sub
	// The bridge may open no more files: the limit is its lowest free
	// descriptor number.
	pid := ba.Cmd.Process.Pid
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	for _, fd := range fds {
		open[fd.Name()] = true
	}
	free := 0
	for open[strconv.Itoa(free)] {
		free++
	}
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(free), Max: old.Max}, nil); err != nil {
		t.Fatal(err)
	}
	// Over 4 KiB, so a file the bridge must open.
	content := bytes.Repeat([]byte("f"), 8<<10)
	if _, err := a.Publish("rf.t", content, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge to report the failure", func() bool {
		return strings.Contains(ba.StderrText(), "cannot read the export channel; retrying with backoff")
	})
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	sub.waitCount(1)
	ba.stop()
	bb.stop()
	if got := sub.close(); len(got) != 1 || !bytes.Equal(got[0].Content, content) {
		t.Errorf("got %d messages", len(got))
	}
}
