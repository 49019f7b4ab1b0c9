#!/usr/bin/env bash
# Throughput and latency from a publisher on one home to a subscriber on
# another through two `pubsub bridge` processes and a NATS server on
# loopback, in core and JetStream mode, beside bare NATS through the same
# server and the local bus between processes (`pubsub bench 1to1
# latency`). The core bridge and the local `1to1`, whose ratio is the
# target, run one right after the other. docs/PERFORMANCE.md has the
# figures.
#
# Run it on an otherwise idle machine: every process of the chain needs a
# CPU. Environment: PUBSUB_BRIDGE_BENCH_COUNT (messages per throughput run,
# default 200000), PUBSUB_BRIDGE_BENCH_SIZE (bytes, default 256),
# PUBSUB_BRIDGE_BENCH_RUNS (default 5), PUBSUB_BRIDGE_BENCH_PROFILE=DIR for
# CPU profiles of the bridges.
set -euo pipefail
cd "$(dirname "$0")/.."
export PUBSUB_BRIDGE_BENCH=1 PUBSUB_BRIDGE_BENCH_RUNS=${PUBSUB_BRIDGE_BENCH_RUNS:-5}

measure() {
	PUBSUB_BRIDGE_BENCH_MODES=$1 go test -count=1 -run '^TestMeasure$' -v -timeout 30m ./bridge/ |
		grep -E 'RESULT|CPUs' | sed 's/^ *measure_test.go:[0-9]*: //'
}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/pubsub" ./cmd/pubsub

echo "== core NATS through the bridge"
measure core
echo "== the local bus, publisher and subscriber in two processes"
"$bin/pubsub" bench --runs "$PUBSUB_BRIDGE_BENCH_RUNS" 1to1 latency
echo "== JetStream through the bridge, bare NATS, the local bus in one process"
measure "jetstream bare local"
