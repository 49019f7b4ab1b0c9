// Package bench is the lab behind pubsub bench. It runs publishers and
// subscribers as separate processes, each the pubsub program run again as
// "pubsub bench worker", and measures throughput, end-to-end latency and
// CPU cost; with the floors, it measures the same traffic through bare
// system calls, with no library, for comparison.
//
// [Run] measures and returns a [Report], which writes itself as tables,
// JSON or a latency plot; [LoadReport] reads the JSON back. A [Worker] is
// one of the processes Run starts: the command's hidden worker subcommand
// sets one from its flags and calls [Worker.Run].
package bench
