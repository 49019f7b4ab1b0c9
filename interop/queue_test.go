//go:build interop

package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A formix-pubsub publisher reaches a queue through its intake while a
// worker is attached: each of its messages enters the queue once, beside
// a Go publisher's, and every one reaches a worker exactly once.
func TestQueueFromPython(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	const each = 100
	worker := start(t, home, goSide, nil, "work", "-n", fmt.Sprint(2*each), "jobs", "jobs.+")
	live(t, worker)
	var msgs [2][]msg
	for i := range each {
		msgs[0] = append(msgs[0], msg{Topic: "jobs.py", Content: fmt.Appendf(nil, "py %d", i)})
		msgs[1] = append(msgs[1], msg{Topic: "jobs.go", Content: fmt.Appendf(nil, "go %d", i)})
	}
	for i, s := range []side{pySide, goSide} {
		res, log := publish(t, home, s, nil, msgs[i])
		retried := 0
		for j, r := range res {
			if s == pySide && r.N == 0 && len(missedByCollision(t, j, r)) > 0 {
				retried++ // formix-pubsub's own id collision: its message is lost, and it says so
				continue
			}
			if r.N != 1 || r.Err != "" {
				t.Fatalf("%v publish #%d reached %d channels (%s; %q): want the queue, once\n%s", s, j, r.N, r.Err, r.Warnings, log)
			}
		}
		if retried > 0 {
			t.Fatalf("formix-pubsub lost %d messages to id collisions in a fresh queue", retried)
		}
	}
	records := readRecords(t, worker, 2*each)
	expectLine(t, worker, fmt.Sprintf("done %d nil", 2*each))
	expectExit(t, worker)
	seen := map[string]int{}
	for i, r := range records {
		if r.Ch != 1 {
			t.Fatalf("record %d delivered %d times", i, r.Ch)
		}
		checkMessage(t, fmt.Sprintf("record %d", i), r, msg{Topic: r.Topic, Headers: r.Headers, Content: decode(t, r)})
		seen[string(decode(t, r))]++
	}
	for i := range each {
		for _, from := range []string{"py", "go"} {
			if k := fmt.Sprintf("%s %d", from, i); seen[k] != 1 {
				t.Fatalf("%q handled %d times", k, seen[k])
			}
		}
	}
}

// With no worker attached a queue has no intake: a formix-pubsub
// publisher reaches nothing (and says 0), while a Go publisher's message
// waits in the queue.
func TestQueueWithoutWorkerFromPython(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	worker := start(t, home, goSide, nil, "work", "jobs", "jobs")
	live(t, worker)
	worker.Signal(syscall.SIGTERM)
	expectLine(t, worker, "done 0 signal:terminated")
	expectExit(t, worker)
	if res, log := publish(t, home, pySide, nil, []msg{{Topic: "jobs", Content: []byte("py")}}); res[0].N != 0 {
		t.Fatalf("Python reached %d channels with no worker attached\n%s", res[0].N, log)
	}
	res, log := publish(t, home, goSide, nil, []msg{{Topic: "jobs", Content: []byte("go")}})
	expectCounts(t, goSide, res, log, 1)
	worker = start(t, home, goSide, nil, "work", "-n", "1", "jobs", "jobs")
	live(t, worker)
	r := readRecords(t, worker, 1)[0]
	if string(decode(t, r)) != "go" {
		t.Fatalf("the worker got %q", decode(t, r))
	}
	expectLine(t, worker, "done 1 nil")
}

// formix-pubsub's cleanup_inactive() removes the intake of a queue whose
// only worker was killed (its pid is dead), and nothing else of the
// queue: the messages waiting in it reach the next worker.
func TestCleanupInactiveSparesQueue(t *testing.T) {
	t.Parallel()
	home := newHome(t)
	holder := start(t, home, goSide, nil, "work", "-hold", "jobs", "jobs")
	live(t, holder)
	var msgs []msg
	for i := range 20 {
		msgs = append(msgs, msg{Topic: "jobs", Content: fmt.Appendf(nil, "job %d", i)})
	}
	res, log := publish(t, home, goSide, nil, msgs[:10])
	expectCounts(t, goSide, res, log, 1)
	res, log = publish(t, home, pySide, nil, msgs[10:])
	expectCounts(t, pySide, res, log, 1)
	holder.Signal(syscall.SIGKILL)
	holder.Wait()
	intakes, _ := filepath.Glob(filepath.Join(home, "jobs_queue-jobs_*"))
	if len(intakes) != 1 {
		t.Fatalf("intakes before the cleanup: %v", intakes)
	}
	cleaner := start(t, home, pySide, nil, "cleanup")
	var lines []string
	for l := cleaner.Line(); l != "done"; l = cleaner.Line() {
		lines = append(lines, l)
	}
	expectExit(t, cleaner)
	if !strings.Contains(strings.Join(lines, "\n"), "inactive "+intakes[0]) {
		t.Fatalf("cleanup_inactive did not take the intake for dead: %q", lines)
	}
	if _, err := os.Stat(intakes[0]); !os.IsNotExist(err) {
		t.Fatalf("the dead intake is still there: %v", err)
	}
	worker := start(t, home, goSide, nil, "work", "-n", "20", "jobs", "jobs")
	live(t, worker)
	seen := map[string]bool{}
	for _, r := range readRecords(t, worker, 20) {
		seen[string(decode(t, r))] = true
	}
	for _, m := range msgs {
		if !seen[string(m.Content)] {
			t.Fatalf("%q lost: got %v", m.Content, seen)
		}
	}
	expectLine(t, worker, "done 20 nil")
}

// decode returns a record's content, which small messages carry whole.
func decode(t *testing.T, r record) []byte {
	t.Helper()
	if r.Content == nil {
		t.Fatalf("record %s carries no content", r.ID)
	}
	return mustBase64(t, *r.Content)
}
