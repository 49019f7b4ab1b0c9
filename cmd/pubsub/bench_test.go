package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/pubsub-go/pubsub/internal/bench"
)

// TestBenchWorkerArgs checks the contract between the lab, which writes a
// worker's command line, and the worker command, which reads it: the
// flags of bench.Worker.Args give the same Worker back.
func TestBenchWorkerArgs(t *testing.T) {
	want := bench.Worker{
		Role: "file-pub", Topic: "a.b", Dir: "/d", Size: 300, Count: 7, Pubs: 3, Index: 2,
		Interval: 1500 * time.Microsecond, Reach: 4, Channels: 9, Tmpfile: true, Files: true, Batch: 64, Async: true, Backlog: 5,
		Samples: "/d/s", NATS: "nats://127.0.0.1:4222", CPUProfile: "/d/p",
	}
	v := reflect.ValueOf(want)
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() && v.Field(i).IsZero() {
			t.Fatalf("set Worker.%s in this test, so that it checks its flag", f.Name)
		}
	}
	args := want.Args()
	var got bench.Worker
	f := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	benchWorkerFlags(f, &got)
	if err := f.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	if f.NArg() != 1 {
		t.Fatalf("%q: arguments %q, want the role alone", args, f.Args())
	}
	got.Role = f.Arg(0)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q parses as\n%+v, want\n%+v", args, got, want)
	}
}
