package bench

import (
	"math"
	"slices"
	"time"
)

// percentileRanks are the latency percentiles pubsub bench reports; 100 is
// the maximum.
var percentileRanks = []float64{50, 90, 99, 99.9, 99.99, 100}

// percentile returns the p-th percentile (0 < p <= 100, in steps of
// 0.01) of sorted by the nearest-rank method: the smallest sample that at
// least p percent of the samples are less than or equal to. It is always
// one of the samples: the 99.9th of 1,000 samples is the 999th smallest,
// and of 100 samples the largest. An empty slice gives 0.
func percentile(sorted []int64, p float64) int64 {
	n := int64(len(sorted))
	if n == 0 {
		return 0
	}
	// rank = ceil(p/100 * n) in integers: in floating point, 99.9/100*1000
	// is 998.9999999999999.
	hundredths := int64(math.Round(p * 100))
	rank := (hundredths*n + 9999) / 10000
	return sorted[min(max(rank, 1), n)-1]
}

// latencySummary is the distribution of one run's (or the medians of
// several runs') end-to-end latencies, in microseconds.
type latencySummary struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	P9999 float64 `json:"p99_99"`
	Max   float64 `json:"max"`
}

// values returns the summary in the order of percentileRanks.
func (l latencySummary) values() []float64 {
	return []float64{l.P50, l.P90, l.P99, l.P999, l.P9999, l.Max}
}

func latencyFromValues(v []float64) latencySummary {
	return latencySummary{P50: v[0], P90: v[1], P99: v[2], P999: v[3], P9999: v[4], Max: v[5]}
}

// summarize sorts samples (nanoseconds) and returns their percentiles in
// microseconds.
func summarize(samples []int64) latencySummary {
	slices.Sort(samples)
	v := make([]float64, len(percentileRanks))
	for i, p := range percentileRanks {
		v[i] = float64(percentile(samples, p)) / 1e3
	}
	return latencyFromValues(v)
}

// median returns the median of xs: the middle value, or the mean of the
// two middle values. It does not reorder xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// monoClock reads CLOCK_MONOTONIC, the clock every process on the machine
// shares, so that a time taken in a publisher and one taken in a
// subscriber can be subtracted. clockMonotonic is a real system call,
// about 300 ns here, which would cost the bare FIFO floor much of its
// speed; so the clock is read that way once, at start, and from then on
// through Go's monotonic time (on Linux the same kernel clock, read
// through the vDSO in about 50 ns; elsewhere a clock of the same rate).
type monoClock struct {
	anchor time.Time
	base   int64 // CLOCK_MONOTONIC at anchor, in nanoseconds
}

func newMonoClock() *monoClock {
	c := &monoClock{}
	best := time.Duration(math.MaxInt64)
	for range 16 {
		before := time.Now()
		mono, err := clockMonotonic()
		if err != nil {
			continue
		}
		span := time.Since(before)
		if span < best {
			// The kernel read the clock somewhere within span; the
			// middle is off by at most span/2.
			best = span
			c.anchor, c.base = before, mono-int64(span/2)
		}
	}
	return c
}

// now returns CLOCK_MONOTONIC in nanoseconds.
func (c *monoClock) now() int64 { return c.base + int64(time.Since(c.anchor)) }
