#!/usr/bin/env bash
# The bus side by side with NATS core on this machine: starts a nats-server
# (the one the bridge tests pin, built from bridge/testdata/natsserver) on a
# loopback port, then runs `pubsub bench --floor --nats URL` with the
# arguments given (default: 3 runs of every scenario), which prints the
# tables, the ratios against NATS and the floors, and the CPU a message
# beside each floor's. docs/PERFORMANCE.md has the figures.
#
# The nats rows leave out the server's own CPU; this script prints it at
# the end, for the whole run. Run it on an otherwise idle machine.
#
#   scripts/nats-bench.sh                       # every scenario, 3 runs
#   scripts/nats-bench.sh --runs 5 1to1 1to1-async fanout fanout-async latency
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$bin"
}
trap cleanup EXIT
go build -o "$bin/pubsub" ./cmd/pubsub
go build -C bridge/testdata/natsserver -o "$bin/nats-server" github.com/nats-io/nats-server/v2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/nats-server" -a 127.0.0.1 -p "$port" >"$bin/nats.log" 2>&1 &
server=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
[ $# -gt 0 ] || set -- --runs 3
"$bin/pubsub" bench --floor --nats "nats://127.0.0.1:$port" "$@"
read -r -a stat <"/proc/$server/stat"
echo "nats-server: $(awk -v t=$((stat[13] + stat[14])) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}') s of CPU over the whole run"
