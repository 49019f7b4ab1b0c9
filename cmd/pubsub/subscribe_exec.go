package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pubsub-go/pubsub"
	"github.com/pubsub-go/pubsub/internal/fsys"
)

// defaultExecGrace is how long an --exec command has to exit after
// SIGTERM (at --exec-timeout) or a forwarded signal, before SIGKILL: as
// long as the bridge takes to hand on what it holds, and docker stop.
const defaultExecGrace = 10 * time.Second

// execRunner runs the --exec command for each message, one at a time.
//
// Each command is the leader of a process group of its own, so that a
// signal reaches every process it starts: SIGINT and SIGTERM sent to the
// subscriber are forwarded to the group, as is SIGTERM at --exec-timeout,
// and SIGKILL follows --exec-grace later if the group is still there. A
// subscriber that dies without doing so (SIGKILL, a crash) leaves nothing
// behind either: on Linux the kernel kills the command's leader
// (PR_SET_PDEATHSIG), and everywhere the guard kills its group.
type execRunner struct {
	cmdline string
	home    string
	queue   string        // --queue: the queue's name, for the environment
	timeout time.Duration // --exec-timeout; 0: none
	grace   time.Duration // --exec-grace
	stdout  io.Writer
	stderr  io.Writer
	signals <-chan os.Signal // SIGINT and SIGTERM sent to this process
	guard   *execGuard
}

// execOutcome is how the command for a message ended.
type execOutcome int

const (
	execOK     execOutcome = iota // it exited 0, within --exec-timeout
	execFailed                    // it failed, timed out, was killed or could not start
	execNotRun                    // a signal came first: it was not started
)

// execResult is how the command for a message ended, and why it failed.
type execResult struct {
	outcome execOutcome
	failure string // why it failed or did not run, for the report; "" when ok
	output  []byte // its standard output, when run captured it
}

// run runs the command for m and waits until it has exited, which takes
// at most --exec-timeout plus --exec-grace, or --exec-grace after a
// signal, and says how it ended: the caller reports a failure on stderr
// and goes on with the next message. Once ctx is cancelled by a signal,
// the command is not started. With capture, the command's standard
// output is kept in the result rather than written to ours.
func (r *execRunner) run(ctx context.Context, m *pubsub.Message, capture bool) execResult {
	if e, ok := errors.AsType[*interrupted](context.Cause(ctx)); ok {
		return execResult{outcome: execNotRun, failure: "not run: " + e.Error()}
	}
	var output *bytes.Buffer
	c := exec.Command("/bin/sh", "-c", r.cmdline)
	c.Stdin = bytes.NewReader(m.Content)
	c.Stdout = r.stdout
	if capture {
		output = new(bytes.Buffer)
		c.Stdout = output
	}
	c.Stderr = r.stderr
	c.Env = execEnv(r.home, r.queue, m)
	c.SysProcAttr = fsys.GroupAttr(true)
	// A process the command left in the background may hold its stdin
	// or output pipes open; Wait gives up on them this long after the
	// command exits (0 would wait for ever).
	c.WaitDelay = max(r.grace, time.Second)
	if err := c.Start(); err != nil {
		return execResult{outcome: execFailed, failure: err.Error()}
	}
	pgid := c.Process.Pid
	r.guard.watch(pgid)
	defer r.guard.watch(0)
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()

	var timeout, kill <-chan time.Time
	if r.timeout > 0 {
		t := time.NewTimer(r.timeout)
		defer t.Stop()
		timeout = t.C
	}
	var (
		why       string // why the group was stopped, if it was
		timedOut  bool   // --exec-timeout passed
		signalled bool   // a signal was forwarded
		killed    bool   // SIGKILL was sent
		err       error  // the command's, once it exited
		drain     <-chan time.Time
	)
	// result says how the command ended, with what it wrote if captured.
	result := func() execResult {
		res := execResult{outcome: execOK}
		switch {
		case err == nil && !timedOut:
		case why == "":
			res = execResult{outcome: execFailed, failure: err.Error()}
		case err == nil:
			res = execResult{outcome: execFailed, failure: why}
		default:
			res = execResult{outcome: execFailed, failure: why + ": " + err.Error()}
		}
		if output != nil && res.outcome == execOK {
			// Wait has returned, so nothing writes to it any more.
			res.output = output.Bytes()
		}
		return res
	}
	// stop sends sig to the group and, the first time, gives it until
	// --exec-grace to exit.
	stop := func(sig syscall.Signal, reason string) {
		if why == "" {
			why = reason
			kill = time.After(r.grace)
		}
		_ = fsys.SignalGroup(pgid, sig)
	}
	killGroup := func(reason string) {
		if !killed {
			why += ", " + reason
			killed = true
			_ = fsys.SignalGroup(pgid, syscall.SIGKILL)
		}
	}
	for {
		select {
		case err = <-exited:
			exited = nil
			if why == "" || killed || !fsys.GroupExists(pgid) {
				return result()
			}
			// The leader exited, stopped; what it started may still be
			// finishing, within the grace.
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			drain = t.C
		case <-drain:
			if !fsys.GroupExists(pgid) {
				return result()
			}
		case <-timeout:
			timeout, timedOut = nil, true
			stop(syscall.SIGTERM, fmt.Sprintf("still running after --exec-timeout %v", r.timeout))
		case sig := <-r.signals:
			if signalled {
				killGroup("killed at a second signal")
				break
			}
			signalled = true
			s, _ := sig.(syscall.Signal)
			if s == 0 {
				s = syscall.SIGTERM
			}
			stop(s, (&interrupted{sig}).Error())
		case <-kill:
			kill = nil
			killGroup(fmt.Sprintf("killed %v later (--exec-grace)", r.grace))
		}
		if killed && exited == nil {
			// SIGKILL cannot be caught: what is left of the group goes now.
			return result()
		}
	}
}

// report writes the line that says the command for m failed or did not
// run, and what became of the message if more is to be said.
func (r *execRunner) report(m *pubsub.Message, what string) {
	fmt.Fprintf(r.stderr, "pubsub: --exec: message %d on %s: %s\n", m.ID, m.Topic, what)
}

// guardScript is the guard: it reads the process group of the running
// command, or 0, one line each; at the end of its input, which comes when
// the subscriber exits however it dies, it kills the last group it read.
// It ignores the signals a terminal or a service manager sends to stop
// the subscriber, so that it outlives it.
const guardScript = `trap '' HUP INT QUIT TERM
g=0
while read -r l; do g=$l; done
[ "$g" -gt 0 ] && kill -s KILL -- "-$g"
exit 0`

// execGuard is the guard process of a subscriber with --exec: a shell,
// in a process group of its own, that kills the group of the running
// command when the subscriber dies without doing so itself (SIGKILL, a
// crash, a signal it does not catch). It learns of each group through a
// pipe, and of the subscriber's death from the end of that pipe, which
// the kernel closes whatever way a process dies. PR_SET_PDEATHSIG alone
// would kill the command's shell but not what that shell started.
type execGuard struct {
	cmd  *exec.Cmd
	w    *os.File // the guard's stdin
	lost bool     // the guard is gone; said once
	warn io.Writer
}

// startGuard starts the guard.
func startGuard(warn io.Writer) (*execGuard, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pubsub: --exec: start the guard: %w", err)
	}
	defer r.Close()
	c := exec.Command("/bin/sh", "-c", guardScript)
	c.Stdin = r
	c.SysProcAttr = fsys.GroupAttr(false)
	if err := c.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("pubsub: --exec: start the guard: %w", err)
	}
	return &execGuard{cmd: c, w: w, warn: warn}, nil
}

// watch tells the guard the group to kill if the subscriber dies now: the
// running command's, or 0 for none.
func (g *execGuard) watch(pgid int) {
	if g.lost {
		return
	}
	// One write of a few bytes to a pipe is atomic: the guard never
	// reads half a number.
	if _, err := g.w.WriteString(strconv.Itoa(pgid) + "\n"); err != nil {
		g.lost = true
		fmt.Fprintf(g.warn, "pubsub: --exec: the guard process is gone (%v): a command running when this process is killed will be left behind\n", err)
	}
}

// close ends the guard, which kills nothing: the last group it read is 0.
// A guard that died meanwhile is worth a warning, not a failure of the
// subscriber, whose commands all ended.
func (g *execGuard) close() {
	g.w.Close()
	if err := g.cmd.Wait(); err != nil && !g.lost {
		fmt.Fprintf(g.warn, "pubsub: --exec: the guard process: %v\n", err)
	}
}

// execEnv is the environment of an --exec command: ours, less what a
// parent pubsub --exec set for its own message, plus this message's; and,
// for a message from queue (unless ""), the queue and the deliveries.
func execEnv(home, queue string, m *pubsub.Message) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "PUBSUB_HEADER_"),
			name == "PUBSUB_HEADERS", name == "PUBSUB_TOPIC", name == "PUBSUB_ID",
			name == "PUBSUB_TIMESTAMP", name == "PUBSUB_HOME",
			name == "PUBSUB_QUEUE", name == "PUBSUB_DELIVERIES":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PUBSUB_HOME="+home,
		"PUBSUB_TOPIC="+m.Topic,
		"PUBSUB_ID="+strconv.FormatUint(m.ID, 10),
		"PUBSUB_TIMESTAMP="+strconv.FormatInt(m.Timestamp, 10),
		"PUBSUB_HEADERS="+string(appendHeadersJSON(nil, m.Headers)),
	)
	if queue != "" {
		env = append(env, "PUBSUB_QUEUE="+queue, "PUBSUB_DELIVERIES="+strconv.Itoa(m.Deliveries()))
	}
	for _, k := range sortedKeys(m.Headers) {
		v, ok := m.Headers[k].(string)
		if !ok {
			v = string(appendValueJSON(nil, m.Headers[k]))
		}
		if strings.IndexByte(v, 0) >= 0 {
			continue // the environment cannot hold NUL; PUBSUB_HEADERS has it
		}
		env = append(env, "PUBSUB_HEADER_"+envName(k)+"="+v)
	}
	return env
}

// envName upper-cases a header key and makes every character other than
// [A-Z0-9] an underscore.
func envName(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
