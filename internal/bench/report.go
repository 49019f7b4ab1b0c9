package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what Run measured. Its JSON (WriteJSON) has every figure of
// every run; LoadReport reads it back.
type Report struct {
	rep *report
}

// report is everything pubsub bench measured; --json prints it, and
// --from reads it back.
type report struct {
	Command   string      `json:"command"`
	Machine   machineInfo `json:"machine"`
	Runs      int         `json:"runs"`
	Scenarios []result    `json:"scenarios"`
	Floors    []result    `json:"floors"`
	NATS      []result    `json:"nats,omitempty"`
	Ratios    []ratio     `json:"ratios"`
}

type result struct {
	spec
	Median figures   `json:"median"`
	Runs   []figures `json:"runs"`
}

type machineInfo struct {
	Date       string `json:"date"`
	NProc      int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPU        string `json:"cpu"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	HomeBase   string `json:"home_base"`
	HomeBaseFS string `json:"home_base_fs"`
}

func newReport(o Options) *report {
	m := machineInfo{
		Date:       time.Now().UTC().Format(time.RFC3339),
		NProc:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPU:        cpuModel(),
		Kernel:     kernelRelease(),
		Go:         runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		HomeBase:   o.HomeBase,
		HomeBaseFS: "other",
	}
	if onTmpfs(o.HomeBase) {
		m.HomeBaseFS = "tmpfs"
	}
	return &report{Command: o.Command, Machine: m, Runs: o.Runs}
}

// system names the system and its kernel release, as uname -sr would:
// "Linux 6.1", "Darwin 23.4.0". A report without a platform was made on
// Linux, the only system the lab ran on when reports had none.
func (m machineInfo) system() string {
	goos, _, _ := strings.Cut(m.Platform, "/")
	name, ok := map[string]string{
		"": "Linux", "linux": "Linux", "android": "Linux", "darwin": "Darwin", "ios": "Darwin",
		"freebsd": "FreeBSD", "openbsd": "OpenBSD", "netbsd": "NetBSD", "dragonfly": "DragonFly",
		"solaris": "SunOS", "illumos": "SunOS", "aix": "AIX", "windows": "Windows",
	}[goos]
	if !ok {
		name = goos
	}
	if m.Kernel == "" {
		return name
	}
	return name + " " + m.Kernel
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// LoadReport reads a report from the file path, as WriteJSON wrote it.
func LoadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return &Report{&rep}, nil
}

// Err reports the messages Publish said it could not deliver, in every
// run, or returns nil if there were none.
func (r *Report) Err() error {
	if lost, first := r.rep.losses(); len(lost) > 0 {
		return fmt.Errorf("bench: Publish reported messages it could not deliver: %s; the first: %s", strings.Join(lost, ", "), first)
	}
	return nil
}

// WriteJSON writes the report to w as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r.rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteTables writes the report to w as tables: the scenarios, the floors
// and the ratios, with the medians of the runs.
func (r *Report) WriteTables(w io.Writer) error { return writeTables(w, r.rep) }

// WritePlot writes a latency percentile plot of the report to the file
// path: PNG if its name ends in .png, else SVG.
func (r *Report) WritePlot(path string) error { return writePlot(path, r.rep) }

// losses describes every run in which Publish reported deliveries it
// could not make, and gives the first report.
func (rep *report) losses() (runs []string, first string) {
	for _, list := range [][]result{rep.Scenarios, rep.Floors} {
		for _, r := range list {
			for i, run := range r.Runs {
				if run.Lost > 0 {
					runs = append(runs, fmt.Sprintf("%s run %d: %s of %s", r.Name, i+1,
						thousands(float64(run.Lost)), thousands(float64(r.Subs*r.Publishers*r.Count))))
					if first == "" {
						first = run.LostError
					}
				}
			}
		}
	}
	return runs, first
}

func (rep *report) find(name string) *result {
	for _, list := range [][]result{rep.Scenarios, rep.Floors, rep.NATS} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// ratio is a scenario's figure over a floor's (or another
// scenario's), or one absolute figure, with the project's target if it
// has one.
type ratio struct {
	Name   string    `json:"name"`
	Value  float64   `json:"value"`
	Unit   string    `json:"unit,omitempty"` // none: a ratio
	Op     string    `json:"op,omitempty"`   // ">=" or "<="
	Target float64   `json:"target,omitempty"`
	Met    *bool     `json:"met,omitempty"`
	PerRun []float64 `json:"runs"`
}

// targets are the ratios pubsub bench prints when it measured both
// sides; op "" is for information, with no target.
var targets = []struct {
	num, den string // den "": an absolute figure
	figure   string
	unit     string
	op       string
	target   float64
}{
	{"1to1-files", "file/1to1", "msgs/s", "", ">=", 0.60},
	{"latency-files", "file/latency", "p50", "", "<=", 1.5},
	{"latency-files", "file/latency", "p99", "", "<=", 3},
	{"wildcard", "1to1", "publish µs", "", "<=", 1.3},
	{"fanout-files", "1to1-files", "msgs/s", "", ">=", 2},
	{"large", "", "MB/s", "MB/s", ">=", 1000},
	{"1to1-batch", "file/1to1", "msgs/s", "", ">=", 5}, // Go to Go, inline, batched
	{"1to1", "file/1to1", "msgs/s", "", "", 0},         // Go to Go, inline, a Publish a message
	{"latency", "file/latency", "p50", "", "<=", 1.5},
	{"latency", "file/latency", "p99", "", "<=", 3},
	{"fanout", "1to1", "msgs/s", "", ">=", 2},
	{"fanout-batch", "1to1-batch", "msgs/s", "", ">=", 2},
	{"fanout-batch", "1to1", "msgs/s", "", "", 0},
	{"queue", "1to1-files", "msgs/s", "", ">=", 0.5},                // four workers acknowledging each message
	{"queue-latency", "latency-files", "p50", "", "<=", 2},          // a queue's worker parked in Next
	{"queue-backlog", "queue-publish", "publish µs", "", "<=", 1.3}, // publish cost flat in the backlog
	{"1to1", "fifo/1to1", "msgs/s", "", "", 0},
	{"1to1", "tmpfile/1to1", "msgs/s", "", "", 0},
	{"tmpfile/1to1", "file/1to1", "msgs/s", "", "", 0},
	{"file/fanout", "file/1to1", "msgs/s", "", "", 0},
	{"latency", "fifo/latency", "p50", "", "<=", 1.3},
	{"latency", "fifo/latency", "p99", "", "", 0},
	{"wildcard", "1to1", "publish µs p50", "", "", 0},
	{"large", "file/large", "MB/s", "", ">=", 0.8},
	{"large", "file/large", "sub CPU", "", "<=", 1.3},
	// Side by side with NATS core on the same machine (--nats).
	{"1to1-async", "nats/1to1", "msgs/s", "", ">=", 1},
	{"1to1", "nats/1to1", "msgs/s", "", "", 0},
	{"fanout-async", "nats/fanout", "msgs/s", "", ">=", 1},
	{"fanout", "nats/fanout", "msgs/s", "", "", 0},
	{"fanin", "nats/fanin", "msgs/s", "", "", 0},
	{"latency", "nats/latency", "p50", "", "<=", 0.5},
	{"latency", "nats/latency", "p99", "", "<=", 0.5},
	{"large", "nats/large", "MB/s", "", "", 0},
}

// cpuFloors names the floor each scenario's CPU a message is held
// against: the same traffic through bare system calls. A floor with
// fewer subscribers than the scenario counts its publisher's CPU once a
// subscriber.
var cpuFloors = []struct{ scenario, floor string }{
	{"1to1", "fifo/1to1"}, {"1to1-async", "fifo/1to1"}, {"1to1-batch", "fifo/1to1"},
	{"fanout", "fifo/1to1"}, {"fanout-async", "fifo/1to1"}, {"fanout-batch", "fifo/1to1"},
	{"fanin", "fifo/1to1"}, {"wildcard", "fifo/1to1"}, {"latency", "fifo/latency"},
	{"large", "file/large"},
	{"1to1-files", "file/1to1"}, {"fanout-files", "file/fanout"}, {"latency-files", "file/latency"},
	{"queue", "file/1to1"}, {"queue-latency", "file/latency"},
	{"nats/1to1", "fifo/1to1"}, {"nats/fanout", "fifo/1to1"}, {"nats/fanin", "fifo/1to1"},
	{"nats/latency", "fifo/latency"}, {"nats/large", "file/large"},
}

// floorPubCPU is the publisher's CPU a message of floor f, for scenario
// s: a queue is written once, whatever its workers.
func floorPubCPU(f, s *result) float64 {
	subs := s.Subs
	if s.Queue {
		subs = 1
	}
	return f.Median.PubCPUUs * float64(max(subs, 1)) / float64(max(f.Subs, 1))
}

func figureOf(r figures, figure string) float64 {
	switch figure {
	case "msgs/s":
		return r.MsgsPerS
	case "MB/s":
		return r.MBPerS
	case "p50":
		return r.LatencyUs.P50
	case "p99":
		return r.LatencyUs.P99
	case "publish µs":
		return r.PublishUs
	case "publish µs p50":
		return r.PublishP50
	case "sub CPU":
		return r.SubCPUUs
	}
	panic("bench: unknown figure " + figure)
}

func ratios(rep *report) []ratio {
	var out []ratio
	for _, t := range targets {
		num := rep.find(t.num)
		den := rep.find(t.den)
		if num == nil || (t.den != "" && den == nil) {
			continue
		}
		r := ratio{Name: t.num + " " + t.figure, Unit: t.unit, Op: t.op, Target: t.target}
		r.Value = figureOf(num.Median, t.figure)
		for i, run := range num.Runs {
			v := figureOf(run, t.figure)
			if den != nil && i < len(den.Runs) {
				v /= figureOf(den.Runs[i], t.figure)
			}
			r.PerRun = append(r.PerRun, v)
		}
		if den != nil {
			r.Name += " / " + t.den + " " + t.figure
			r.Value /= figureOf(den.Median, t.figure)
		}
		if t.op != "" {
			met := (t.op == ">=" && r.Value >= t.target) || (t.op == "<=" && r.Value <= t.target)
			r.Met = &met
		}
		out = append(out, r)
	}
	return out
}

func writeTables(w io.Writer, rep *report) error {
	m := rep.Machine
	runs := "of " + strconv.Itoa(rep.Runs) + " runs"
	if rep.Runs == 1 {
		runs = "of 1 run"
	}
	var bw bytes.Buffer
	fmt.Fprintf(&bw, "pubsub bench: medians %s; %d CPUs (%s), %s, %s; homes in %s (%s)\n",
		runs, m.NProc, m.CPU, m.system(), m.Go, m.HomeBase, m.HomeBaseFS)
	table := func(title string, results []result) {
		if len(results) == 0 {
			return
		}
		width := len(title)
		for _, r := range results {
			width = max(width, len(r.Name))
		}
		fmt.Fprintln(&bw)
		tw := tabwriter.NewWriter(&bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\tpubs\tsubs\tsize\tmsgs/s\tMB/s\tp50\tp90\tp99\tp99.9\tmax µs\tpub µs/call\tpub CPU µs/msg\tsub CPU µs/msg\tsub CPU\t\n", width, title)
		for _, r := range results {
			md := r.Median
			l := md.LatencyUs
			fmt.Fprintf(tw, "%-*s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f%%\t\n", width, r.Name,
				r.Publishers, r.Subs, fmtSize(r.Size), thousands(md.MsgsPerS), fmtMB(md.MBPerS),
				fmtUs(l.P50), fmtUs(l.P90), fmtUs(l.P99), fmtUs(l.P999), fmtUs(l.Max),
				fmtUs(md.PublishUs), fmtUs(md.PubCPUUs), fmtUs(md.SubCPUUs), md.SubCPUPct)
		}
		tw.Flush()
	}
	table("scenario", rep.Scenarios)
	table("floor", rep.Floors)
	table("nats", rep.NATS)
	fmt.Fprintln(&bw, "\nmsgs/s and MB/s: received, summed over subscribers, from the first send to the last receipt.")
	fmt.Fprintln(&bw, "p50 ... max: end-to-end latency in µs. sub CPU: user+system, as a share of one CPU.")
	if lost, first := rep.losses(); len(lost) > 0 {
		fmt.Fprintf(&bw, "NOT DELIVERED (reported by Publish): %s. The first report: %s\n", strings.Join(lost, ", "), first)
	}
	for _, r := range rep.Scenarios {
		short := int64(0)
		for _, run := range r.Runs {
			short += run.PublishShort
		}
		if short > 0 {
			fmt.Fprintf(&bw, "%s: %d Publish calls counted fewer channels than received the message: a subscriber took its last message before its id was announced, and closed.\n", r.Name, short)
		}
	}
	for _, r := range rep.Scenarios {
		if r.IntervalUs > 0 {
			fmt.Fprintf(&bw, "%s: one message every %v, sent at %s msgs/s.\n", r.Name, r.interval(), thousands(r.Median.SendRate))
		}
	}
	writeCPUTable(&bw, rep)
	if len(rep.Ratios) > 0 {
		fmt.Fprintln(&bw)
		width := 0
		for _, r := range rep.Ratios {
			width = max(width, len([]rune(r.Name)))
		}
		tw := tabwriter.NewWriter(&bw, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tvalue\ttarget\t\n", "ratio")
		for _, r := range rep.Ratios {
			target, verdict := "", ""
			if r.Met != nil {
				op := map[string]string{">=": "≥", "<=": "≤"}[r.Op]
				target = fmt.Sprintf("%s %s", op, fmtRatio(r.Target, r.Unit))
				verdict = "✓ met"
				if !*r.Met {
					verdict = "✗ not met"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, fmtRatio(r.Value, r.Unit), target, verdict)
		}
		tw.Flush()
	}
	// The tab writer pads the last cells of short rows with spaces.
	var out bytes.Buffer
	for line := range bytes.Lines(bw.Bytes()) {
		out.Write(bytes.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}

// writeCPUTable writes, for every scenario whose floor was measured, the
// CPU a message of its publishers and its subscribers beside the floor's.
func writeCPUTable(w io.Writer, rep *report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	rows := 0
	for _, c := range cpuFloors {
		s, f := rep.find(c.scenario), rep.find(c.floor)
		if s == nil || f == nil {
			continue
		}
		if rows == 0 {
			fmt.Fprintln(w)
			fmt.Fprintf(tw, "CPU µs a message\tpub\tfloor\tratio\tsub\tfloor\tratio\tfloor is\t\n")
		}
		rows++
		fp := floorPubCPU(f, s)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Name,
			fmtUs(s.Median.PubCPUUs), fmtUs(fp), fmtTimes(s.Median.PubCPUUs, fp),
			fmtUs(s.Median.SubCPUUs), fmtUs(f.Median.SubCPUUs), fmtTimes(s.Median.SubCPUUs, f.Median.SubCPUUs), f.Name)
	}
	tw.Flush()
	if rows > 0 && len(rep.NATS) > 0 {
		fmt.Fprintln(w, "The nats rows leave out the nats-server's own CPU.")
	}
}

// fmtTimes formats a/b as "2.1×", or "-" without a b.
func fmtTimes(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 1, 64) + "×"
}

func fmtRatio(v float64, unit string) string {
	if unit != "" {
		return thousands(v) + " " + unit
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// thousands formats x rounded to an integer with commas: 86,000.
func thousands(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtUs formats microseconds: one decimal below 100, whole numbers with
// commas above.
func fmtUs(us float64) string {
	if us < 100 {
		return strconv.FormatFloat(us, 'f', 1, 64)
	}
	return thousands(us)
}

func fmtMB(mb float64) string {
	if mb < 100 {
		return strconv.FormatFloat(mb, 'f', 1, 64)
	}
	return thousands(mb)
}

func fmtSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}
