"""rpc_server.py TOPIC

Answers each request on TOPIC, as the RPC example of formix-pubsub's README
does: content b"re:" + content to its response-topic, with its
correlation-id. Prints {"corr", "n", "attempts"} per request, and "done
COUNT RET" after SIGTERM, RET being what subscribe() returned. A reply
whose random id collided with a message pending in the client's channel is
published again (see common.publish_retrying).
"""

import sys

from common import Channel, drop_privileges, publish_retrying, say, say_json, subscribe


def main():
    drop_privileges()
    count = 0
    with Channel(sys.argv[1]) as ch:
        say("live", ch.directory_path)

        def handle(req):
            nonlocal count
            corr = req.headers.get("correlation-id")
            n, attempts, warnings = publish_retrying(
                req.headers.get("response-topic"), b"re:" + req.content, {"correlation-id": corr}
            )
            say_json({"corr": corr, "n": n, "err": "; ".join(warnings) if n != 1 else "", "attempts": attempts})
            count += 1

        ret = subscribe(ch, handle)
        say("done", count, ret)


main()
