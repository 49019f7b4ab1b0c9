package bench

import (
	"slices"
	"testing"
	"time"
)

func TestBenchPlan(t *testing.T) {
	o := Options{Scenarios: []string{"latency", "1to1"}, Duration: 2 * time.Second, Interval: time.Millisecond, Floor: true}
	scen, floors, _ := plan(o)
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
	scen, floors, _ = plan(o)
	if len(scen) != len(scenarioSpecs) || floors != nil {
		t.Fatalf("%d scenarios, floors %v", len(scen), floors)
	}
	for _, s := range scen {
		if s.Size != 100 || (s.IntervalUs == 0 && s.Count != 10) {
			t.Errorf("%s: size %d, count %d", s.Name, s.Size, s.Count)
		}
	}
}
