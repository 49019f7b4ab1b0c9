package bridge_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
)

// pubsub bench --nats runs its NATS scenarios against a real nats-server:
// this package's tests have one. Each must deliver every message, and
// the ratios against NATS must be there. No figure is checked: a test
// does not time anything.
func TestBenchAgainstNATS(t *testing.T) {
	s := startNATS(t)
	cmd := exec.Command(pubsubBin(t), "bench", "--runs", "1", "--count", "2000", "--duration", "200ms",
		"--home-base", t.TempDir(), "--nats", s.url, "--json", "1to1", "1to1-async", "fanout", "latency")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pubsub bench --nats: %v\n%s", err, stderrOf(err))
	}
	var rep struct {
		NATS []struct {
			Name   string `json:"name"`
			Kind   string `json:"kind"`
			Subs   int    `json:"subscribers"`
			Count  int    `json:"count"`
			Median struct {
				Deliveries int64 `json:"deliveries"`
				Lost       int64 `json:"lost"`
			} `json:"median"`
		} `json:"nats"`
		Ratios []struct {
			Name string `json:"name"`
		} `json:"ratios"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	var names []string
	for _, r := range rep.NATS {
		names = append(names, r.Name)
		if r.Kind != "nats" || r.Median.Deliveries != int64(r.Subs*r.Count) || r.Median.Lost != 0 {
			t.Errorf("%s: kind %s, %d deliveries of %d × %d, %d lost", r.Name, r.Kind, r.Median.Deliveries, r.Subs, r.Count, r.Median.Lost)
		}
	}
	if want := []string{"nats/1to1", "nats/fanout", "nats/latency"}; !slices.Equal(names, want) {
		t.Errorf("NATS runs %v, want %v", names, want)
	}
	var ratios []string
	for _, r := range rep.Ratios {
		ratios = append(ratios, r.Name)
	}
	for _, want := range []string{
		"1to1-async msgs/s / nats/1to1 msgs/s",
		"fanout msgs/s / nats/fanout msgs/s",
		"latency p50 / nats/latency p50",
		"latency p99 / nats/latency p99",
	} {
		if !slices.Contains(ratios, want) {
			t.Errorf("no ratio %q in %q", want, ratios)
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
