package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pubsub-go/pubsub"
)

// TestMain makes the test binary also the pubsub command: a script's
// "exec pubsub ..." runs it again, in a process of its own, as "pubsub".
func TestMain(m *testing.M) {
	// A binary built with -race sleeps a second before it exits
	// (GORACE atexit_sleep_ms), which the tests would pay for every
	// pubsub they run.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	testscript.Main(m, map[string]func(){
		"pubsub": func() {
			os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// waitLimit bounds every wait for an event in the tests: a channel
// appearing, a file appearing, a process exiting.
const waitLimit = 20 * time.Second

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Condition: func(cond string) (bool, error) {
			if cond == "sysfs" { // a file system that refuses mkdir, even to root
				fi, err := os.Stat("/sys/kernel")
				return err == nil && fi.IsDir(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("GORACE", os.Getenv("GORACE"))
			dir, err := makeTestDir()
			if err != nil {
				return err
			}
			env.Defer(func() { os.RemoveAll(dir) })
			env.Setenv("PUBSUB_HOME", filepath.Join(dir, "home"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitchan":  cmdWaitChan,
			"waitfile":  cmdWaitFile,
			"signal":    cmdSignal,
			"genfile":   cmdGenFile,
			"cmpbytes":  cmdCmpBytes,
			"status":    cmdStatus,
			"waitgone":  cmdWaitGone,
			"waitqueue": cmdWaitQueue,
		},
	})
}

// makeTestDir makes a directory for one test's home on tmpfs, where
// homes belong.
func makeTestDir() (string, error) {
	parent := "/dev/shm"
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		parent = os.TempDir()
	}
	return os.MkdirTemp(parent, "pubsub-cmd-test-")
}

// testHome returns a home for one Go test, removed after it.
func testHome(t *testing.T) string {
	t.Helper()
	dir, err := makeTestDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "home")
}

// waitChannels waits until the home holds n live channels on topic, and
// returns them.
func waitChannels(home, topic string, n int) ([]pubsub.ChannelInfo, error) {
	return waitLiveChannels(home, fmt.Sprintf("on %q", topic), func(t string) bool { return t == topic }, n)
}

// waitLiveChannels waits until the home holds n live channels whose topic
// match accepts, and returns them; what describes them for an error.
func waitLiveChannels(home, what string, match func(topic string) bool, n int) ([]pubsub.ChannelInfo, error) {
	h, err := pubsub.Open(home, pubsub.WithLogger(nil))
	if err != nil {
		return nil, err
	}
	defer h.Close()
	deadline := time.Now().Add(waitLimit)
	for {
		chans, err := h.Channels()
		if err != nil {
			return nil, err
		}
		var live []pubsub.ChannelInfo
		for _, c := range chans {
			if match(c.Topic) && c.Live {
				live = append(live, c)
			}
		}
		if len(live) >= n {
			return live, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d live channels %s after %v, want %d", len(live), what, waitLimit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitchan TOPIC [N]: wait until N (default 1) live channels on TOPIC are
// in $PUBSUB_HOME. A channel is in the home once every message published
// reaches it, which is when subscribe says it is live.
func cmdWaitChan(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitchan TOPIC [N]")
	}
	n := 1
	if len(args) == 2 {
		var err error
		n, err = strconv.Atoi(args[1])
		ts.Check(err)
	}
	_, err := waitChannels(ts.Getenv("PUBSUB_HOME"), args[0], n)
	ts.Check(err)
}

// waitfile FILE: wait until FILE exists.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(waitLimit)
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no %s after %v", args[0], waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitgone PIDFILE...: wait until the process whose pid each file holds
// has exited. A zombie counts as gone: it runs nothing, and only its
// parent, which may be init or a test's shell, decides when to reap it.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: waitgone PIDFILE...")
	}
	deadline := time.Now().Add(waitLimit)
	for _, file := range args {
		text, err := os.ReadFile(ts.MkAbs(file))
		ts.Check(err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(text)))
		ts.Check(err)
		for processRuns(pid) {
			if time.Now().After(deadline) {
				ts.Fatalf("process %d (%s) still runs after %v", pid, file, waitLimit)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// processRuns reports whether process pid exists and is not a zombie.
func processRuns(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: it exists, zombie or not
	}
	// "pid (comm) S ...": the state follows the last ')', as comm may
	// hold one.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// signal INT|TERM|KILL TARGET: send the signal (testscript's kill sends
// only INT and KILL) to the process that owns the live channel on the
// topic TARGET; with TARGET "queue:NAME", to every live worker of the
// queue NAME, once it has one; with TARGET "inbox", to the process whose
// request waits for its replies (pubsub request), once it does.
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	sigs := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL}
	if neg || len(args) != 2 || sigs[args[0]] == 0 {
		ts.Fatalf("usage: signal INT|TERM|KILL TOPIC|queue:NAME|inbox")
	}
	sig := sigs[args[0]]
	home := ts.Getenv("PUBSUB_HOME")
	var pids []int
	switch name, isQueue := strings.CutPrefix(args[1], "queue:"); {
	case isQueue:
		var err error
		pids, err = queueWorkers(home, name)
		ts.Check(err)
	case args[1] == "inbox":
		inbox := func(t string) bool { return strings.HasPrefix(t, pubsub.InboxPrefix+".") }
		chans, err := waitLiveChannels(home, "of a request", inbox, 1)
		ts.Check(err)
		for _, c := range chans {
			pids = append(pids, c.PID)
		}
	default:
		chans, err := waitChannels(home, args[1], 1)
		ts.Check(err)
		for _, c := range chans {
			pids = append(pids, c.PID)
		}
	}
	for _, pid := range pids {
		ts.Check(syscall.Kill(pid, sig))
	}
}

// queueWorkers waits until the queue name has a live worker, and returns
// the pids of its workers, read from the names of their directories,
// workers/{pid}-{random} (docs/QUEUES.md), that still run.
func queueWorkers(home, name string) ([]int, error) {
	if _, err := waitQueue(home, name, map[string]int64{"workers": 1}, true); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(home, "queues", name, "workers"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		before, _, _ := strings.Cut(e.Name(), "-")
		if pid, err := strconv.Atoi(before); err == nil && processRuns(pid) {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("queue %s: no worker process runs", name)
	}
	return pids, nil
}

// queueFields reads a QueueInfo field by the name waitqueue gives it.
var queueFields = map[string]func(q pubsub.QueueInfo) int64{
	"workers":  func(q pubsub.QueueInfo) int64 { return int64(q.Workers) },
	"backlog":  func(q pubsub.QueueInfo) int64 { return int64(q.Backlog) },
	"inflight": func(q pubsub.QueueInfo) int64 { return int64(q.InFlight) },
	"delayed":  func(q pubsub.QueueInfo) int64 { return int64(q.Delayed) },
	"dead":     func(q pubsub.QueueInfo) int64 { return int64(q.DeadLetters) },
	"messages": func(q pubsub.QueueInfo) int64 { return q.Messages },
	"dropped":  func(q pubsub.QueueInfo) int64 { return q.Dropped },
	"expired":  func(q pubsub.QueueInfo) int64 { return q.Expired },
	"rejected": func(q pubsub.QueueInfo) int64 { return q.Rejected },
}

// waitQueue waits until the queue name exists and each field in want has
// its value, or at least its value if atLeast, and returns the queue.
func waitQueue(home, name string, want map[string]int64, atLeast bool) (pubsub.QueueInfo, error) {
	h, err := pubsub.Open(home, pubsub.WithLogger(nil))
	if err != nil {
		return pubsub.QueueInfo{}, err
	}
	defer h.Close()
	deadline := time.Now().Add(waitLimit)
	for {
		queues, err := h.Queues()
		if err != nil {
			return pubsub.QueueInfo{}, err
		}
		var last string
		for _, q := range queues {
			if q.Name != name {
				continue
			}
			ok := true
			for field, v := range want {
				got := queueFields[field](q)
				ok = ok && (got == v || atLeast && got > v)
			}
			if ok {
				return q, nil
			}
			last = fmt.Sprintf("%+v", q)
		}
		if time.Now().After(deadline) {
			if last == "" {
				return pubsub.QueueInfo{}, fmt.Errorf("no queue %s after %v", name, waitLimit)
			}
			return pubsub.QueueInfo{}, fmt.Errorf("queue %s is %s after %v, want %v", name, last, waitLimit, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitqueue NAME FIELD=N...: wait until $PUBSUB_HOME holds the queue NAME
// and each FIELD of it (workers, backlog, inflight, delayed, dead,
// messages, dropped, expired, rejected) is N.
func cmdWaitQueue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: waitqueue NAME FIELD=N...")
	}
	want := map[string]int64{}
	for _, a := range args[1:] {
		field, value, ok := strings.Cut(a, "=")
		n, err := strconv.ParseInt(value, 10, 64)
		if !ok || err != nil || queueFields[field] == nil {
			ts.Fatalf("waitqueue: bad FIELD=N %q", a)
		}
		want[field] = n
	}
	_, err := waitQueue(ts.Getenv("PUBSUB_HOME"), args[0], want, false)
	ts.Check(err)
}

// genfile FILE all256|SIZE: write every byte value in order, or SIZE
// pseudo-random bytes (the same every time).
func cmdGenFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: genfile FILE all256|SIZE")
	}
	var data []byte
	if args[1] == "all256" {
		for i := range 256 {
			data = append(data, byte(i))
		}
	} else {
		size, err := strconv.Atoi(args[1])
		ts.Check(err)
		data = make([]byte, size)
		r := rand.NewChaCha8([32]byte{'p', 'u', 'b', 's', 'u', 'b'})
		_, _ = r.Read(data)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o666))
}

// cmpbytes A B: compare two files byte for byte; unlike cmp, it does not
// try to show a diff of megabytes of binary.
func cmdCmpBytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpbytes A B")
	}
	a, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	if bytes.Equal(a, b) {
		return
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	ts.Fatalf("%s (%d bytes) and %s (%d bytes) differ from offset %d", args[0], len(a), args[1], len(b), i)
}

// status CODE PROGRAM [ARGS...]: run a program, as exec does, and check its
// exit status.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		ee, ok := errors.AsType[*exec.ExitError](err)
		if !ok {
			ts.Fatalf("%v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}
