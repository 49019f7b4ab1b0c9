// Package faults is the fault-injection suite: real publisher and
// subscriber processes (faultproc) stalled, flooded and killed with real
// signals, a home on a tmpfs that fills up, and the checks that every
// message arrives once, whole and in its publisher's order.
//
// The tests run at a scale that keeps the test command to a few minutes;
// go test ./faults -long (or PUBSUB_LONG=1) runs the full sizes whose
// results docs/TESTING.md reports.
package faults
