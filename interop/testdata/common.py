"""Shared by the interop scripts, which drive the real formix-pubsub.

They speak the line protocol of the Go peer (interop/internal/gopeer):
"live DIR" once a channel reads, one JSON record per message, "done ..."
at the end. Ids and timestamps are decimal strings, and header values are
[key, type, text] with Python's type names, so the Go test sees exactly
what Python held, int and float kept apart.
"""

import base64
import hashlib
import json
import logging
import os

# The package under test: formix-pubsub, imported as "pubsub".
from pubsub import Channel, fetch, publish, subscribe  # noqa: F401

# The largest content a record carries in full; beyond it, the length and
# SHA-256 stand for it.
INLINE_MAX = 64 << 10

TYPE_NAMES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "NoneType": "null"}


def drop_privileges():
    """Apply $PEER_UMASK, and become $PEER_UID (user and group) if set.

    Called after every import, so a process started as root can go on as a
    user who may not read the interpreter's installation.
    """
    mask = os.environ.get("PEER_UMASK")
    if mask:
        os.umask(int(mask, 8))
    uid = os.environ.get("PEER_UID")
    if uid:
        uid = int(uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def say(*parts):
    print(*parts, flush=True)


def say_json(obj):
    print(json.dumps(obj), flush=True)


def typed(value):
    """Return (type, text) for a header value as Python decoded it."""
    name = TYPE_NAMES.get(type(value).__name__)
    if name == "str":
        return name, value
    if name == "int":
        return name, str(value)
    if name == "float":
        return name, repr(value)
    if name == "bool":
        return name, "true" if value else "false"
    if name == "null":
        return name, "null"
    return "raw:" + type(value).__name__, json.dumps(value)


def from_typed(triples):
    """Build a headers dict from [key, type, text] triples, in their order."""
    headers = {}
    for key, kind, text in triples:
        if kind == "str":
            headers[key] = text
        elif kind == "int":
            headers[key] = int(text)
        elif kind == "float":
            headers[key] = float(text)
        elif kind == "bool":
            headers[key] = text == "true"
        elif kind == "null":
            headers[key] = None
        else:
            raise ValueError(f"unknown header type {kind!r}")
    return headers


def record(ch, msg, **extra):
    """The JSON record of a received message."""
    rec = {
        "ch": ch,
        "id": str(msg.id),
        "ts": str(msg.timestamp),
        "topic": msg.topic,
        "headers": sorted([k, *typed(v)] for k, v in msg.headers.items()),
        "len": len(msg.content),
        "sha256": hashlib.sha256(msg.content).hexdigest(),
    }
    if len(msg.content) <= INLINE_MAX:
        rec["content"] = base64.b64encode(msg.content).decode()
    rec.update(extra)
    return rec


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, rec):
        self.messages.append(rec.getMessage())


# What formix-pubsub logs goes to stderr (INFO included: cleanup_inactive
# tells what it removed), and its warnings also to the collector.
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
_collector = _Collect()
logging.getLogger().addHandler(_collector)


def publish_logged(topic, content, headers):
    """publish(), returning its count and the warnings it logged.

    formix-pubsub logs (and does not raise) when it cannot reach a channel,
    e.g. "Failed to publish message ID to DIR/queue: [Errno 17] File
    exists" when its random id collides with a message still pending there.
    """
    _collector.messages = []
    n = publish(topic, content, headers)
    return n, _collector.messages


def publish_retrying(topic, content, headers, want=1, tries=5):
    """publish() again, under a new random id, while it reached fewer than
    want channels only because of id collisions. Returns the count, the
    number of attempts and every warning logged."""
    warnings = []
    for attempt in range(1, tries + 1):
        n, logged = publish_logged(topic, content, headers)
        warnings += logged
        if n >= want or not logged or not all("[Errno 17] File exists" in w for w in logged):
            return n, attempt, warnings
    return n, tries, warnings
