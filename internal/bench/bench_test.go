package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func seq(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i + 1)
	}
	return s
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		samples []int64
		p       float64
		want    int64
	}{
		{nil, 50, 0},
		{[]int64{7}, 50, 7},
		{[]int64{7}, 99.99, 7},
		{[]int64{7}, 100, 7},
		{seq(2), 50, 1},
		{seq(2), 51, 2},
		{seq(10), 50, 5},
		{seq(10), 90, 9},
		{seq(10), 99, 10},
		{seq(100), 50, 50},
		{seq(100), 99, 99},
		{seq(100), 99.9, 100},
		{seq(1000), 50, 500},
		{seq(1000), 90, 900},
		{seq(1000), 99, 990},
		{seq(1000), 99.9, 999}, // 99.9/100*1000 is 998.9999999999999 in floating point
		{seq(1000), 99.99, 1000},
		{seq(1000), 100, 1000},
		{seq(10000), 99.99, 9999},
		{seq(1001), 50, 501},
	}
	for _, tt := range tests {
		if got := percentile(tt.samples, tt.p); got != tt.want {
			t.Errorf("percentile(1..%d, %v) = %d, want %d", len(tt.samples), tt.p, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	// 1,000 samples of 1..1000 µs, shuffled: summarize sorts them.
	s := seq(1000)
	for i := range s {
		s[i] *= 1000
	}
	slices.Reverse(s)
	got := summarize(s)
	want := latencySummary{P50: 500, P90: 900, P99: 990, P999: 999, P9999: 1000, Max: 1000}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.xs)
		if got := median(in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
		if !slices.Equal(in, tt.xs) {
			t.Errorf("median reordered its input: %v", in)
		}
	}
}

func TestMedianRun(t *testing.T) {
	runs := []figures{
		{MsgsPerS: 3, LatencyUs: latencySummary{P50: 30, Max: 1}},
		{MsgsPerS: 1, LatencyUs: latencySummary{P50: 10, Max: 3}},
		{MsgsPerS: 2, LatencyUs: latencySummary{P50: 20, Max: 2}},
	}
	m := medianRun(runs)
	if m.MsgsPerS != 2 || m.LatencyUs.P50 != 20 || m.LatencyUs.Max != 2 {
		t.Errorf("medianRun = %+v", m)
	}
}

func TestMonoClock(t *testing.T) {
	c := newMonoClock()
	a := c.now()
	time.Sleep(time.Millisecond)
	b := c.now()
	if d := time.Duration(b - a); d < time.Millisecond || d > time.Second {
		t.Errorf("1 ms sleep measured as %v", d)
	}
}

func benchMessage(size int, pub uint32, seq uint64) []byte {
	w := &Worker{Size: size, Index: int(pub)}
	c := w.content()
	binary.LittleEndian.PutUint64(c[offSendAt:], 100)
	binary.LittleEndian.PutUint64(c[offSeq:], seq)
	return c
}

func TestReceiver(t *testing.T) {
	r := newReceiver(&Worker{Size: 64, Count: 3, Pubs: 2})
	r.add(benchMessage(64, 0, 0), 150)
	r.add(benchMessage(64, 1, 2), 130)
	r.add(benchMessage(64, 0, 0), 160) // again
	r.add(benchMessage(63, 0, 1), 160) // wrong size
	r.add(benchMessage(64, 2, 1), 160) // no such publisher
	r.add(benchMessage(64, 0, 3), 160) // past the count
	bad := benchMessage(64, 0, 1)
	bad[63]++
	r.add(bad, 160) // padding damaged
	if r.done() {
		t.Error("done after 2 of 6 messages")
	}
	res := r.finish()
	if res.Received != 2 || res.Duplicates != 1 || res.Malformed != 4 || res.Expected != 6 {
		t.Errorf("result = %+v", res)
	}
	if res.FirstSendNs != 100 || res.LastRecvNs != 130+20 {
		t.Errorf("first send %d, last receipt %d", res.FirstSendNs, res.LastRecvNs)
	}
	if !slices.Equal(r.samples, []int64{50, 30}) {
		t.Errorf("samples = %v", r.samples)
	}
	for _, m := range [][]byte{benchMessage(64, 0, 1), benchMessage(64, 0, 2), benchMessage(64, 1, 0), benchMessage(64, 1, 1)} {
		r.add(m, 200)
	}
	if !r.done() {
		t.Error("not done after every message")
	}
}

func TestSamplesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	w := &Worker{Samples: path}
	want := []int64{1, -2, 1 << 40}
	if err := w.writeSamples(want); err != nil {
		t.Fatal(err)
	}
	got, err := readSamples(path)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("readSamples = %v, %v; want %v", got, err, want)
	}
}

func TestBenchPlan(t *testing.T) {
	o := Options{Scenarios: []string{"latency", "1to1"}, Duration: 2 * time.Second, Interval: time.Millisecond, Floor: true}
	scen, floors := plan(o)
	if len(scen) != 2 || scen[0].Name != "1to1" || scen[1].Name != "latency" {
		t.Fatalf("scenarios = %+v", scen)
	}
	if scen[1].Count != 2000 || scen[1].IntervalUs != 1000 {
		t.Errorf("latency: %d messages every %d µs, want 2000 every 1000", scen[1].Count, scen[1].IntervalUs)
	}
	var names []string
	for _, f := range floors {
		names = append(names, f.Name)
	}
	want := []string{"fifo/1to1", "file/1to1", "tmpfile/1to1", "fifo/latency", "file/latency"}
	if !slices.Equal(names, want) {
		t.Errorf("floors = %v, want %v", names, want)
	}

	o = Options{Count: 10, Size: 100, Duration: time.Second, Interval: time.Millisecond}
	scen, floors = plan(o)
	if len(scen) != len(scenarioSpecs) || floors != nil {
		t.Fatalf("%d scenarios, floors %v", len(scen), floors)
	}
	for _, s := range scen {
		if s.Size != 100 || (s.IntervalUs == 0 && s.Count != 10) {
			t.Errorf("%s: size %d, count %d", s.Name, s.Size, s.Count)
		}
	}
}

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

func TestBenchPlot(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "p.svg")
	if err := writePlot(svg, testReport()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			for _, a := range se.Attr {
				if a.Name.Local == "stroke-width" && a.Value == "2" {
					lines++
				}
			}
		}
	}
	if lines != 2*6 { // six series, each with its line in the legend
		t.Errorf("%d lines of width 2, want 12", lines)
	}

	pngPath := filepath.Join(dir, "p.png")
	if err := writePlot(pngPath, testReport()); err != nil {
		t.Fatal(err)
	}
	pf, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2*plotW || b.Dy() != 2*plotH {
		t.Errorf("PNG is %v, want %dx%d", b, 2*plotW, 2*plotH)
	}
	// The first series' colour is on the plot.
	want := plotColors[0]
	found := false
	for y := 0; y < img.Bounds().Dy() && !found; y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("PNG has no pixel of the first series' colour")
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 86000.4: "86,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}
