package bench

import (
	"slices"
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
