// Command pubsub publishes to and subscribes from a pubsub home from the
// shell, and shows an operator what is on it. Run "pubsub --help".
package main

import (
	"context"
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// The command's live heap is small, so at Go's 100 a subscriber of 1 MiB
// messages collects every few messages and hands the freed pages back,
// paying for them again (at 400 it reads them at 0.9 of the bare file
// floor instead of 0.4), and a bridge spent a fifth of its CPU collecting
// (docs/PERFORMANCE.md); for about 11 MB more resident memory in a
// subscriber draining a backlog.
const gcPercent = 400

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
