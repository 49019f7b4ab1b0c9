#!/usr/bin/env bash
# Throughput and latency from a publisher on one home to a subscriber on
# another through two `pubsub bridge` processes and a NATS server on
# loopback, in core and JetStream mode, beside bare NATS through the same
# server and the local bus between processes (`pubsub bench 1to1
# latency`). docs/PERFORMANCE.md has the figures.
#
# The target is the ratio of the core bridge to the local 1to1. On a shared
# machine either moves by 10% from one minute to the next, so the script
# first measures them in alternation, one run each, and gives the median
# of the ratios: for bridges that each carry one way (A exports, B
# imports), the same with A packing (--packed), and for bridges that each
# carry both ways, as in the two-host example of docs/BRIDGE.md.
#
# Run it on an otherwise idle machine: every process of the chain needs a
# CPU. Environment: PUBSUB_BRIDGE_BENCH_COUNT (messages per throughput run,
# default 200000), PUBSUB_BRIDGE_BENCH_SIZE (bytes, default 256),
# PUBSUB_BRIDGE_BENCH_RUNS (runs, and pairs, default 5),
# PUBSUB_BRIDGE_BENCH_PROFILE=DIR for CPU profiles of the bridges (made if
# missing). The local 1to1 gets the same count and size.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${PUBSUB_BRIDGE_BENCH_RUNS:-5}
count=${PUBSUB_BRIDGE_BENCH_COUNT:-200000}
size=${PUBSUB_BRIDGE_BENCH_SIZE:-256}
export PUBSUB_BRIDGE_BENCH=1 PUBSUB_BRIDGE_BENCH_COUNT=$count PUBSUB_BRIDGE_BENCH_SIZE=$size

measure() { # MODES RUNS
	PUBSUB_BRIDGE_BENCH_MODES=$1 PUBSUB_BRIDGE_BENCH_RUNS=$2 go test -count=1 -run '^TestMeasure$' -v -timeout 30m ./bridge/ |
		grep -E 'RESULT|CPUs' | sed 's/^ *measure_test.go:[0-9]*: //'
}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/pubsub" ./cmd/pubsub

echo "== the target: core NATS through the bridge against the local 1to1, in alternation"
echo "   (core: bridge A only exports, bridge B only imports; packed: the same, A with --packed;"
echo "   both: each bridge does both)"
core=() packed=() both=()
for k in $(seq "$runs"); do
	c=$(measure core 1 | awk '/RESULT bridge core/ {print $4}')
	p=$(measure packed 1 | awk '/RESULT bridge packed/ {print $4}')
	b=$(measure both 1 | awk '/RESULT bridge both/ {print $4}')
	l=$("$bin/pubsub" bench --runs 1 --count "$count" --size "$size" 1to1 | awk '$1 == "1to1" {gsub(",", "", $6); print $6}')
	ratio() { awk -v c="$1" -v l="$l" 'BEGIN {printf "%.3f", c / l}'; }
	core+=("$(ratio "$c")") packed+=("$(ratio "$p")") both+=("$(ratio "$b")")
	echo "round $k: local 1to1 $l msgs/s; bridge core $c msgs/s, ratio $(ratio "$c"); packed $p, ratio $(ratio "$p"); both ways $b, ratio $(ratio "$b")"
done
median() { printf '%s\n' "$@" | sort -n | awk '{r[NR] = $1} END {printf "median of %d: %s (from %s to %s)\n", NR, r[int((NR + 1) / 2)], r[1], r[NR]}'; }
echo "core ratio, $(median "${core[@]}")"
echo "packed ratio, $(median "${packed[@]}")"
echo "both ways ratio, $(median "${both[@]}")"

echo "== core NATS through the bridge, one way, packed and both ways"
measure "core packed both" "$runs"
echo "== the local bus, publisher and subscriber in two processes"
"$bin/pubsub" bench --runs "$runs" --count "$count" --size "$size" 1to1 latency
echo "== JetStream through the bridge, bare NATS, the local bus in one process"
measure "jetstream bare local" "$runs"
