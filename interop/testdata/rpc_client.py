"""rpc_client.py -n N TOPIC

Sends N requests to TOPIC at once, each with its response-topic and
correlation-id, then fetches the N replies. Prints {"corr", "content", "n",
"attempts"} per request, a record per reply, then "done N nil". A request
whose random id collided with one pending in the server's channel is
published again (see common.publish_retrying).
"""

import argparse
import base64
import os
import secrets
import sys
import time

from common import Channel, drop_privileges, fetch, publish_retrying, record, say, say_json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=1)
    p.add_argument("topic")
    args = p.parse_args()
    drop_privileges()
    reply_topic = f"rpc.responses.py-{os.getpid()}"
    tag = secrets.token_hex(4)
    with Channel(reply_topic) as ch:
        say("live", ch.directory_path)
        for i in range(args.n):
            corr = f"py-{i}-{tag}"
            content = f"call {i} from Python".encode()
            headers = {"response-topic": reply_topic, "correlation-id": corr}
            n, attempts, warnings = publish_retrying(args.topic, content, headers)
            say_json({
                "corr": corr,
                "content": base64.b64encode(content).decode(),
                "n": n,
                "err": "; ".join(warnings) if n != 1 else "",
                "attempts": attempts,
            })
        got = 0
        deadline = time.monotonic() + 60
        while got < args.n:
            msg = fetch(ch)
            if msg is None:
                if time.monotonic() > deadline:
                    print(f"rpc_client: {got} of {args.n} replies after 60 s", file=sys.stderr)
                    sys.exit(1)
                time.sleep(0.001)
                continue
            say_json(record(0, msg))
            got += 1
        say("done", args.n, "nil")


main()
