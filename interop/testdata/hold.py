"""hold.py [-unopened] TOPIC

Creates a channel (and opens it, unless -unopened), prints "live DIR" and
waits. On SIGTERM it calls close() and prints "closed exists" or "closed
gone", telling whether the channel directory survived.
"""

import argparse
import signal

from common import Channel, drop_privileges, say


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-unopened", action="store_true")
    p.add_argument("topic")
    args = p.parse_args()
    drop_privileges()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    ch = Channel(args.topic)
    if not args.unopened:
        ch.open()
    say("live", ch.directory_path)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    ch.close()
    say("closed", "exists" if ch.directory_path.exists() else "gone")


main()
