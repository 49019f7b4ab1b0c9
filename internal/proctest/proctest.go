// Package proctest runs helper processes for cross-process tests: it
// builds a program once per test binary, starts it bounded by the test's
// deadline, reads its output line by line and waits for readiness lines
// instead of sleeping.
package proctest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	binDir  string
)

// Build compiles the main package pkg (an import path) once per test
// binary and returns the path of the executable. It has the race
// detector when the test binary has it.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, pkg, raceEnabled)
}

// BuildFast is Build without the race detector, for helpers whose job is
// load: the detector slows them many times over and multiplies their
// memory, which some tests measure.
func BuildFast(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, pkg, false)
}

func build(t testing.TB, pkg string, race bool) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := pkg
	if race {
		key += " -race"
	}
	if p, ok := built[key]; ok {
		return p
	}
	if binDir == "" {
		d, err := os.MkdirTemp("", "proctest-bin-")
		if err != nil {
			t.Fatal(err)
		}
		// Readable by all: some tests run a helper as another user.
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	args := []string{"build"}
	if race {
		out += "-race"
		args = append(args, "-race")
	}
	if buildTags != "" {
		args = append(args, "-tags", buildTags)
	}
	cmd := exec.Command("go", append(args, "-o", out, pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[key] = out
	return out
}

// Cleanup removes the built programs; call it from TestMain after m.Run.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Proc is a running helper process.
type Proc struct {
	t      testing.TB
	Cmd    *exec.Cmd
	lines  chan string
	Stderr *strings.Builder
	mu     sync.Mutex
	done   chan struct{}
	err    error
}

// Deadline is how long a helper may run when the test has no deadline.
const Deadline = 2 * time.Minute

// Start runs bin with args and env added to the environment. The process is
// killed (SIGQUIT first, for a stack dump) if the test outlives it.
func Start(t testing.TB, env []string, bin string, args ...string) *Proc {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := dt.Deadline(); ok {
			deadline = d.Add(-5 * time.Second)
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	// A pipe of our own, not StdoutPipe: Wait closes that one as soon as
	// the process exits, losing lines a quick process wrote but the
	// scanner had not read yet.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	p := &Proc{t: t, Cmd: cmd, lines: make(chan string, 1<<16), Stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: p.Stderr}
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = stdout.Close()
		cancel()
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(p.lines)
	}()
	go func() {
		p.err = cmd.Wait()
		// Read to the end, unless a process the helper started keeps
		// the pipe open, or the test leaves more lines than fit unread.
		select {
		case <-read:
		case <-time.After(cmd.WaitDelay):
		}
		_ = stdout.Close()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// StderrText returns what the process wrote on stderr so far.
func (p *Proc) StderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Stderr.String()
}

// Line returns the next line of standard output, failing the test if the
// process ends first or the deadline passes.
func (p *Proc) Line() string {
	p.t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			p.t.Fatalf("%s ended (%v) before writing a line; stderr:\n%s", p.Cmd.Path, p.err, p.StderrText())
		}
		return l
	case <-timer.C:
		p.t.Fatalf("%s wrote no line in %v; stderr:\n%s", p.Cmd.Path, Deadline, p.StderrText())
	}
	return ""
}

// WaitFor returns the rest of the first line that starts with prefix,
// skipping others.
func (p *Proc) WaitFor(prefix string) string {
	p.t.Helper()
	for {
		l := p.Line()
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
}

// Lines returns every remaining line of standard output, after the process
// ended.
func (p *Proc) Lines() []string {
	var out []string
	for l := range p.lines {
		out = append(out, l)
	}
	return out
}

// Drain calls f with every line of standard output as it comes, until the
// process closes it (it ended, or was killed), for a process that writes
// more lines than a test would read one by one.
func (p *Proc) Drain(f func(line string)) {
	for l := range p.lines {
		f(l)
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits for the process to end and returns its exit error.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// ExitCode waits and returns the exit status, or -1 if killed by a signal.
func (p *Proc) ExitCode() int {
	<-p.done
	return p.Cmd.ProcessState.ExitCode()
}

// String names the process for messages.
func (p *Proc) String() string {
	return fmt.Sprintf("%s[%d]", filepath.Base(p.Cmd.Path), p.Cmd.Process.Pid)
}

// SkipOutsideCI skips a case this machine cannot run, except under
// CI=true, where every case must run.
func SkipOutsideCI(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("cannot run under CI: " + why)
	}
	t.Skip(why)
}
