#!/usr/bin/env bash
# Measures a subscriber's peak memory while it drains a backlog: a
# subscriber process is stopped (SIGSTOP), N messages of 128 bytes are
# published to it, it is resumed (SIGCONT) and drains them all.
#   go build -o /tmp/pubsub ./cmd/pubsub && N=1000000 scripts/backlog.sh /tmp/pubsub
set -eu
PUBSUB=${1:-pubsub}
N=${N:-1000000}
export PUBSUB_HOME=$(mktemp -d /dev/shm/pubsub-backlog-XXXXXX)
work=$(mktemp -d)
trap 'rm -rf "$PUBSUB_HOME" "$work"' EXIT

/usr/bin/time -f "subscriber: max RSS %M KiB, %e s from start to the last message" \
	"$PUBSUB" subscribe --count "$N" --format raw backlog > /dev/null 2> "$work/sub.err" &
timed=$!
until grep -q subscribed "$work/sub.err"; do sleep 0.05; done
sub=$(pgrep -P "$timed")
kill -STOP "$sub"
start=$(date +%s.%N)
yes "$(printf 'x%.0s' $(seq 127))" | head -n "$N" | "$PUBSUB" publish --lines backlog 2> /dev/null
echo "published $N messages to the stopped subscriber in $(echo "$(date +%s.%N) - $start" | bc) s"
"$PUBSUB" ls
kill -CONT "$sub"
wait "$timed"
grep "max RSS" "$work/sub.err"
