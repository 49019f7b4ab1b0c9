package main

import "testing"

func TestBridgeMaxProcs(t *testing.T) {
	for _, c := range []struct {
		name    string
		o       bridgeOptions
		env     string
		want    int
		because string
	}{
		{"export only", bridgeOptions{export: []string{"a.+", "b"}}, "", 1, "one pipeline, channel to socket"},
		{"import only", bridgeOptions{imports: []string{"a.+"}}, "", 0, "an importer needs its second thread"},
		{"both", bridgeOptions{export: []string{"a.+"}, imports: []string{"b.+"}}, "", 0, "an importer needs its second thread"},
		{"export only, GOMAXPROCS set", bridgeOptions{export: []string{"a.+"}}, "4", 0, "GOMAXPROCS overrides"},
	} {
		if got := bridgeMaxProcs(c.o, c.env); got != c.want {
			t.Errorf("%s: bridgeMaxProcs = %d, want %d: %s", c.name, got, c.want, c.because)
		}
	}
}
