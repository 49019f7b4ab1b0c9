"""cleanup.py [-dry]

Prints how formix-pubsub judges every channel ("active DIR", "inactive
DIR"), then, unless -dry, runs Channel.cleanup_inactive() and prints
"cleaned". Ends with "done".
"""

import argparse

from common import Channel, drop_privileges, say


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-dry", action="store_true")
    args = p.parse_args()
    drop_privileges()
    for path in Channel.active_paths():
        say("active", path)
    for path in Channel.inactive_paths():
        say("inactive", path)
    if not args.dry:
        Channel.cleanup_inactive()
        say("cleaned")
    say("done")


main()
