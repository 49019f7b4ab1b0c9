"""collide.py TOPIC

Publishes pairs of messages ("first", then "second") under the same id,
by seeding Python's random generator alike before each: formix-pubsub
draws the low 16 bits of an id with random.randint, and the rest from the
clock in units of 65,536 microseconds. For each pair it prints {"first",
"second", "same_window", "warnings"}: the counts, whether the clock stayed
in one 65 ms window over the pair (then the two ids are equal), and what
publish() logged. It stops after the first pair in one window.
"""

import os
import random
import sys
import time

from common import drop_privileges, publish_logged, say_json


def window():
    return int(time.time() * 1_000_000) >> 16


def main():
    drop_privileges()
    topic = sys.argv[1]
    for _ in range(10):
        seed = int.from_bytes(os.urandom(8), "big")
        before = window()
        random.seed(seed)
        first, w1 = publish_logged(topic, b"first", {})
        random.seed(seed)
        second, w2 = publish_logged(topic, b"second", {})
        same = before == window()
        say_json({"first": first, "second": second, "same_window": same, "warnings": w1 + w2})
        if same:
            return


main()
