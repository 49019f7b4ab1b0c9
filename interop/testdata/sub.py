"""sub.py [-n N] [-mode fetch|subscribe|wait] TOPIC...

One channel per TOPIC: prints "live DIR" (or "refused ERR") for each, then
one record per message, then "done COUNT RESULT". -mode fetch (the default)
polls every channel with fetch() and ends after N messages in all, or on
SIGTERM once a pass over the channels finds nothing. -mode wait does the
same, but reads nothing until SIGUSR1. -mode subscribe runs subscribe() on
one channel until SIGTERM; RESULT is what it returned, and each record has
"t", the time.monotonic() at which it arrived.
"""

import argparse
import contextlib
import signal
import time

from common import Channel, drop_privileges, fetch, record, say, say_json, subscribe


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=0)
    p.add_argument("-mode", choices=["fetch", "subscribe", "wait"], default="fetch")
    p.add_argument("topics", nargs="+")
    args = p.parse_args()
    drop_privileges()

    # Signals are set up before any channel is live, so the test may send
    # them as soon as it reads a live line.
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})

    with contextlib.ExitStack() as stack:
        chans = []
        for topic in args.topics:
            try:
                ch = stack.enter_context(Channel(topic))
            except ValueError as e:
                say("refused", str(e).replace("\n", " "))
                chans.append(None)
                continue
            chans.append(ch)
            say("live", ch.directory_path)

        count = 0
        if args.mode == "subscribe":

            def on_message(msg):
                nonlocal count
                say_json(record(0, msg, t=time.monotonic()))
                count += 1

            ret = subscribe(chans[0], on_message)
            say("done", count, ret)
            return

        if args.mode == "wait":
            signal.sigwait({signal.SIGUSR1})
        while True:
            stopping = stop  # a pass that began after the signal and found nothing: drained
            got = False
            for i, ch in enumerate(chans):
                if ch is None:
                    continue
                try:
                    msg = fetch(ch)
                except Exception as e:  # a bad message file: report it, go on
                    say_json({"ch": i, "err": repr(e), "headers": [], "len": 0})
                    got = True
                    continue
                if msg is None:
                    continue
                got = True
                say_json(record(i, msg))
                count += 1
                if args.n and count >= args.n:
                    break
            if args.n and count >= args.n:
                break
            if not got:
                if stopping:
                    break
                time.sleep(0.001)
        say("done", count, "signal" if stop else "nil")


main()
