//go:build interop

package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pubsub-go/pubsub/internal/proctest"
)

// pinned is the formix-pubsub release the suite runs against.
const pinned = "1.0.0"

var update = flag.Bool("update", false, "rewrite the wildcard table of docs/INTEROP.md from what the suite observes")

// python is the interpreter of the virtual environment holding the real
// formix-pubsub; TestMain sets it from $PUBSUB_PYTHON.
var python string

func TestMain(m *testing.M) {
	flag.Parse()
	if reason := findPython(); reason != "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "interop: FAIL: %s; under CI=true the interop suite must run, not skip\n", reason)
			os.Exit(1)
		}
		fmt.Printf("interop: SKIPPED: %s\n", reason)
		// go test shows a passing package's output only with -v; this line
		// makes it add "[no tests to run]" to the package's "ok" line.
		fmt.Println("testing: warning: no tests to run")
		os.Exit(0)
	}
	code := m.Run()
	proctest.Cleanup()
	os.Exit(code)
}

// findPython checks $PUBSUB_PYTHON and returns why the suite cannot run,
// or "".
func findPython() string {
	p := os.Getenv("PUBSUB_PYTHON")
	if p == "" {
		return "PUBSUB_PYTHON is not set; `make interop` creates .venv with formix-pubsub==" + pinned + " and sets it"
	}
	out, err := exec.Command(p, "-B", "-c",
		"import importlib.metadata as m, pubsub; print(m.version('formix-pubsub'))").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("PUBSUB_PYTHON=%s cannot import formix-pubsub: %v: %s", p, err, bytes.TrimSpace(out))
	}
	if v := strings.TrimSpace(string(out)); v != pinned {
		return fmt.Sprintf("PUBSUB_PYTHON=%s has formix-pubsub %s; the suite pins %s", p, v, pinned)
	}
	python = p
	return ""
}

// side is the language of one process in a test.
type side int

const (
	goSide side = iota
	pySide
)

func (s side) String() string {
	if s == goSide {
		return "Go"
	}
	return "Python"
}

// newHome returns a fresh PUBSUB_HOME under /dev/shm, removed after the
// test.
func newHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "pubsub-interop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// start runs one peer on home: the Go peer (interop/internal/gopeer) or
// the Python script testdata/{mode}.py, in mode with args. env adds to
// the environment.
func start(t *testing.T, home string, s side, env []string, mode string, args ...string) *proctest.Proc {
	t.Helper()
	env = append([]string{"PUBSUB_HOME=" + home}, env...)
	if s == goSide {
		bin := proctest.Build(t, "github.com/pubsub-go/pubsub/interop/internal/gopeer")
		return proctest.Start(t, env, bin, append([]string{mode}, args...)...)
	}
	script, err := filepath.Abs(filepath.Join("testdata", strings.ReplaceAll(mode, "-", "_")+".py"))
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8", "PYTHONNOUSERSITE=1")
	return proctest.Start(t, env, python, append([]string{"-B", script}, args...)...)
}

// live reads the "live DIR" line of a peer's channel and returns DIR.
func live(t *testing.T, p *proctest.Proc) string {
	t.Helper()
	l := p.Line()
	dir, ok := strings.CutPrefix(l, "live ")
	if !ok {
		t.Fatalf("%v: want a live line, got %q; stderr:\n%s", p, l, p.StderrText())
	}
	return dir
}

// record is a received message as the peers print it.
type record struct {
	Ch      int         `json:"ch"`
	ID      string      `json:"id"`
	TS      string      `json:"ts"`
	Topic   string      `json:"topic"`
	Headers [][3]string `json:"headers"`
	Len     int         `json:"len"`
	SHA256  string      `json:"sha256"`
	Content *string     `json:"content"`
	Err     string      `json:"err"`
	T       json.Number `json:"t"` // Python subscribe(): time.monotonic() on arrival
}

func (r record) id(t *testing.T) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(r.ID, 10, 64)
	if err != nil {
		t.Fatalf("record id %q: %v", r.ID, err)
	}
	return v
}

func (r record) ts(t *testing.T) int64 {
	t.Helper()
	v, err := strconv.ParseInt(r.TS, 10, 64)
	if err != nil {
		t.Fatalf("record timestamp %q: %v", r.TS, err)
	}
	return v
}

// decodeLine decodes one JSON line strictly, numbers as json.Number.
func decodeLine(t *testing.T, p *proctest.Proc, line string, v any) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%v: line %.200q: %v; stderr:\n%s", p, line, err, p.StderrText())
	}
}

// readRecords reads n message records from a subscriber.
func readRecords(t *testing.T, p *proctest.Proc, n int) []record {
	t.Helper()
	recs := make([]record, 0, n)
	for range n {
		l := p.Line()
		if strings.HasPrefix(l, "done ") {
			t.Fatalf("%v ended after %d of %d messages: %q; stderr:\n%s", p, len(recs), n, l, p.StderrText())
		}
		var r record
		decodeLine(t, p, l, &r)
		if r.Err != "" {
			t.Fatalf("%v: channel %d: %s", p, r.Ch, r.Err)
		}
		recs = append(recs, r)
	}
	return recs
}

// readUntilDone reads records until the "done" line and returns both.
func readUntilDone(t *testing.T, p *proctest.Proc) ([]record, string) {
	t.Helper()
	var recs []record
	for {
		l := p.Line()
		if strings.HasPrefix(l, "done") {
			return recs, l
		}
		var r record
		decodeLine(t, p, l, &r)
		recs = append(recs, r)
	}
}

// expectLine reads the next line and fails unless it is want.
func expectLine(t *testing.T, p *proctest.Proc, want string) {
	t.Helper()
	if got := p.Line(); got != want {
		t.Fatalf("%v: got line %q, want %q; stderr:\n%s", p, got, want, p.StderrText())
	}
}

// expectExit waits for a peer and fails unless it exited with status 0.
func expectExit(t *testing.T, p *proctest.Proc) {
	t.Helper()
	if err := p.Wait(); err != nil {
		t.Fatalf("%v: %v; stderr:\n%s", p, err, p.StderrText())
	}
}

// msg is one message a test publishes.
type msg struct {
	Topic   string
	Headers [][3]string // [key, type, text], types named as in Python
	Content []byte
}

// pubFile writes msgs as the JSON lines that the pub mode of both peers
// reads, and returns the file's path.
func pubFile(t *testing.T, msgs []msg) string {
	t.Helper()
	var b bytes.Buffer
	for _, m := range msgs {
		h := m.Headers
		if h == nil {
			h = [][3]string{}
		}
		line, err := json.Marshal(map[string]any{
			"topic": m.Topic, "headers": h, "content": base64.StdEncoding.EncodeToString(m.Content),
		})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "messages.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pubResult is what the pub mode prints per message. ID is empty from
// Python, whose publish() does not tell it.
type pubResult struct {
	ID       string   `json:"id"`
	N        int      `json:"n"`
	Err      string   `json:"err"`
	Refused  bool     `json:"refused"`
	Warnings []string `json:"warnings"` // Python: what publish() logged
}

// collision is the warning formix-pubsub logs when the random id it drew
// names a message still pending in a channel: os.link fails with EEXIST,
// and the channel is skipped.
var collision = regexp.MustCompile(`^Failed to publish message \d+ to (.+)/queue: \[Errno 17\] File exists`)

// missedByCollision returns the channel directories that a Python publish
// skipped because of an id collision, and fails on any other warning.
func missedByCollision(t *testing.T, i int, r pubResult) []string {
	t.Helper()
	var dirs []string
	for _, w := range r.Warnings {
		m := collision.FindStringSubmatch(w)
		if m == nil {
			t.Fatalf("Python publish #%d logged %q", i, w)
		}
		dirs = append(dirs, m[1])
	}
	return dirs
}

// publish publishes msgs from side s on home and returns the result of
// each, and what the publisher logged, after it exited.
func publish(t *testing.T, home string, s side, env []string, msgs []msg) ([]pubResult, string) {
	t.Helper()
	p := start(t, home, s, env, "pub", pubFile(t, msgs))
	res := make([]pubResult, len(msgs))
	for i := range res {
		decodeLine(t, p, p.Line(), &res[i])
	}
	expectExit(t, p)
	return res, p.StderrText()
}

// expectCounts fails unless every publish reached want channels without
// error; log is what the publisher logged.
func expectCounts(t *testing.T, from side, res []pubResult, log string, want int) {
	t.Helper()
	for i, r := range res {
		if r.N != want || r.Err != "" || len(r.Warnings) > 0 {
			t.Fatalf("%v publish #%d: reached %d channels (err %q, warnings %q), want %d; publisher's log:\n%s",
				from, i, r.N, r.Err, r.Warnings, want, log)
		}
	}
}

func nowMicro() int64 { return time.Now().UnixMicro() }

// checkMessage compares a received record with the message published,
// field by field: topic, every header with its type, and the content.
func checkMessage(t *testing.T, what string, got record, want msg) {
	t.Helper()
	if got.Err != "" {
		t.Errorf("%s: error %s", what, got.Err)
		return
	}
	if got.Topic != want.Topic {
		t.Errorf("%s: topic %q, want %q", what, got.Topic, want.Topic)
	}
	checkHeaders(t, what, got.Headers, want.Headers)
	if got.Len != len(want.Content) {
		t.Errorf("%s: content of %d bytes, want %d", what, got.Len, len(want.Content))
	}
	if got.Content != nil {
		c, err := base64.StdEncoding.DecodeString(*got.Content)
		if err != nil {
			t.Errorf("%s: content: %v", what, err)
		} else if !bytes.Equal(c, want.Content) {
			t.Errorf("%s: content %.64q, want %.64q", what, c, want.Content)
		}
	}
	if got.SHA256 != sha256Hex(want.Content) {
		t.Errorf("%s: content SHA-256 %s, want %s", what, got.SHA256, sha256Hex(want.Content))
	}
}

// checkHeaders compares headers as [key, type, text] sets. Floats compare
// by their bits (the texts of Python's repr and Go's strconv may differ
// for the same value); everything else by text.
func checkHeaders(t *testing.T, what string, got, want [][3]string) {
	t.Helper()
	sortHeaders := func(h [][3]string) [][3]string {
		h = slices.Clone(h)
		slices.SortFunc(h, func(a, b [3]string) int { return strings.Compare(a[0], b[0]) })
		return h
	}
	got, want = sortHeaders(got), sortHeaders(want)
	if len(got) != len(want) {
		t.Errorf("%s: headers\n got  %q\n want %q", what, got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		same := g[0] == w[0] && g[1] == w[1] && g[2] == w[2]
		if !same && g[0] == w[0] && g[1] == "float" && w[1] == "float" {
			gf, err1 := strconv.ParseFloat(g[2], 64)
			wf, err2 := strconv.ParseFloat(w[2], 64)
			same = err1 == nil && err2 == nil && math.Float64bits(gf) == math.Float64bits(wf)
		}
		if !same {
			t.Errorf("%s: header %q\n got  %s %q\n want %s %q", what, w[0], g[1], g[2], w[1], w[2])
		}
	}
}
