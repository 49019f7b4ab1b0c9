package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testReport() *report {
	res := func(name string, msgs, p50 float64) result {
		run := figures{MsgsPerS: msgs, MBPerS: msgs * 256 / 1e6, PublishUs: 10,
			LatencyUs: latencySummary{P50: p50, P90: 2 * p50, P99: 3 * p50, P999: 4 * p50, P9999: 5 * p50, Max: 6 * p50}}
		return result{spec: spec{Name: name, Publishers: 1, Subs: 1, Size: 256}, Median: run, Runs: []figures{run}}
	}
	rep := &report{Runs: 1, Machine: machineInfo{NProc: 2, CPU: "Test CPU", Kernel: "6.1", Go: "go1.26", HomeBaseFS: "tmpfs"}}
	rep.Scenarios = []result{res("1to1", 60000, 2000), res("fanout", 90000, 700), res("latency", 1000, 70), res("1to1-batch", 420000, 300)}
	rep.Floors = []result{res("file/1to1", 80000, 1000), res("file/latency", 1000, 50)}
	rep.Ratios = ratios(rep)
	return rep
}

func TestBenchRatios(t *testing.T) {
	got := map[string]ratio{}
	for _, r := range testReport().Ratios {
		got[r.Name] = r
	}
	check := func(name string, value float64, met bool) {
		t.Helper()
		r, ok := got[name]
		if !ok {
			t.Errorf("no ratio %q", name)
			return
		}
		if d := r.Value - value; d > 1e-9 || d < -1e-9 || r.Met == nil || *r.Met != met {
			t.Errorf("%s = %v (met %v), want %v (met %v)", name, r.Value, r.Met, value, met)
		}
	}
	check("1to1-batch msgs/s / file/1to1 msgs/s", 5.25, true) // inline, batched, Go to Go: 5 times the floor
	if r, ok := got["1to1 msgs/s / file/1to1 msgs/s"]; !ok || r.Value != 0.75 || r.Met != nil {
		t.Errorf("1to1 against the file floor: %+v, want 0.75 with no target", r)
	}
	check("fanout msgs/s / 1to1 msgs/s", 1.5, false)
	check("latency p50 / file/latency p50", 1.4, true)
	check("latency p99 / file/latency p99", 1.4, true)
	if _, ok := got["large MB/s"]; ok {
		t.Error("a ratio for large, which was not measured")
	}
}

func TestBenchTables(t *testing.T) {
	var b bytes.Buffer
	if err := writeTables(&b, testReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"medians of 1 run", "2 CPUs (Test CPU), Linux 6.1, go1.26;", "file/latency", "60,000", "2,000", "✓ met", "✗ not met", "≥ 5.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
}

func TestMachineSystem(t *testing.T) {
	tests := []struct {
		platform, kernel, want string
	}{
		{"linux/amd64", "6.1", "Linux 6.1"},
		{"", "6.1", "Linux 6.1"}, // a report from before the platform was recorded
		{"darwin/arm64", "23.4.0", "Darwin 23.4.0"},
		{"freebsd/amd64", "14.0-RELEASE", "FreeBSD 14.0-RELEASE"},
		{"windows/amd64", "", "Windows"},
		{"hurd/amd64", "0.9", "hurd 0.9"},
	}
	for _, tt := range tests {
		m := machineInfo{Platform: tt.platform, Kernel: tt.kernel}
		if got := m.system(); got != tt.want {
			t.Errorf("platform %q, kernel %q: system() = %q, want %q", tt.platform, tt.kernel, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 86000.4: "86,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestReportJSON checks that a report read back from its JSON, as
// --from reads it, writes the same JSON and tables again.
func TestReportJSON(t *testing.T) {
	rep := &Report{testReport()}
	var j1, t1 bytes.Buffer
	if err := rep.WriteJSON(&j1); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteTables(&t1); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, j1.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := LoadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	var j2, t2 bytes.Buffer
	if err := back.WriteJSON(&j2); err != nil {
		t.Fatal(err)
	}
	if err := back.WriteTables(&t2); err != nil {
		t.Fatal(err)
	}
	if j1.String() != j2.String() {
		t.Errorf("JSON read back writes\n%s\nwant\n%s", &j2, &j1)
	}
	if t1.String() != t2.String() {
		t.Errorf("tables read back write\n%s\nwant\n%s", &t2, &t1)
	}
}

func TestReportErr(t *testing.T) {
	rep := &Report{testReport()}
	if err := rep.Err(); err != nil {
		t.Errorf("Err = %v with nothing lost", err)
	}
	r := &rep.rep.Scenarios[1]
	r.Count = 100
	r.Runs[0].Lost, r.Runs[0].LostError = 3, "pubsub: not delivered"
	want := "bench: Publish reported messages it could not deliver: fanout run 1: 3 of 100; the first: pubsub: not delivered"
	if err := rep.Err(); err == nil || err.Error() != want {
		t.Errorf("Err = %v, want %s", err, want)
	}
}

// Each scenario's CPU a message is shown beside its floor's, the
// publisher's floor counted once a subscriber; NATS runs are held against
// NATS-side targets.
func TestBenchCPUAndNATS(t *testing.T) {
	res := func(name string, subs int, msgs, pub, sub float64) result {
		run := figures{MsgsPerS: msgs, PubCPUUs: pub, SubCPUUs: sub, LatencyUs: latencySummary{P50: 10, P99: 100}}
		return result{spec: spec{Name: name, Publishers: 1, Subs: subs, Size: 256}, Median: run, Runs: []figures{run}}
	}
	rep := &report{Runs: 1}
	queue := res("queue", 4, 70_000, 1, 2)
	queue.Queue = true
	rep.Scenarios = []result{res("1to1-async", 1, 1_100_000, 0.9, 0.6), res("fanout", 8, 700_000, 6, 1.5), queue}
	rep.Floors = []result{res("fifo/1to1", 1, 1_200_000, 0.5, 0.4), res("file/1to1", 1, 160_000, 5, 5)}
	rep.NATS = []result{res("nats/1to1", 1, 1_000_000, 0.2, 0.8), res("nats/fanout", 8, 1_400_000, 0.2, 0.8)}
	rep.Ratios = ratios(rep)
	var b bytes.Buffer
	if err := writeTables(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"1to1-async  0.9  0.5  1.8×  0.6  0.4  1.5×  fifo/1to1",
		"fanout  6.0  4.0  1.5×  1.5  0.4  3.8×  fifo/1to1", // eight subscribers: 8 × 0.5
		"nats/1to1  0.2  0.5  0.4×",
		"queue  1.0  5.0  0.2×  2.0  5.0  0.4×  file/1to1", // written once, whatever its workers
		"leave out the nats-server's own CPU",
		"1to1-async msgs/s / nats/1to1 msgs/s      1.10  ≥ 1.00  ✓ met",
		"fanout msgs/s / nats/fanout msgs/s        0.50",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
}
