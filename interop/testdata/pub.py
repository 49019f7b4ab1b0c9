"""pub.py FILE

Publishes one message per JSON line of FILE ({"topic", "headers",
"content"}, content in base64) with publish(), and prints {"n", "err",
"refused", "warnings"} for each: the count, the ValueError that refused the
topic, and what publish() logged. publish() does not tell the id it drew.
"""

import base64
import json
import sys

from common import drop_privileges, from_typed, publish_logged, say_json


def main():
    drop_privileges()
    with open(sys.argv[1], "rb") as f:
        for line in f:
            m = json.loads(line)
            content = base64.b64decode(m["content"])
            headers = from_typed(m["headers"])
            try:
                n, warnings = publish_logged(m["topic"], content, headers)
            except ValueError as e:
                say_json({"n": 0, "err": str(e), "refused": True, "warnings": []})
                continue
            say_json({"n": n, "err": "", "refused": False, "warnings": warnings})


main()
