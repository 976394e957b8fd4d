"""What a client may send the daemon (the package docstring lists the operations). Every message is checked
whole before the daemon acts on it: a malformed one changes nothing and is refused with a reason that quotes
it, instead of failing half-way through (an ``ack`` without ``seq`` used to kill the daemon and its trials)."""
from .wire import decode, quote

NUMBER = (int, float)
# op -> {key: (required, accepted types or None for any JSON value)}; an optional key may also be null
FIELDS = {
    "hello": {"after": (False, (int,))},
    "submit": {"trial_id": (True, (str,)), "payload": (True, None), "env": (False, (dict,)),
               "threads": (False, (int,)), "timeout": (False, NUMBER), "log_limit": (False, NUMBER)},
    "cancel": {"trial_id": (True, (str,)), "reason": (False, (str,))},
    "ack": {"seq": (True, (int,))},
    "shutdown": {},
}


class BadMessage(ValueError):
    """A client message the daemon cannot act on; its text says what is wrong and quotes the message."""


def parse_client_message(line):
    """The message in ``line`` (bytes, one JSON object), checked against :data:`FIELDS`; raises
    :class:`BadMessage`."""
    quoted = quote(line)
    try:
        msg = decode(line)
    except ValueError as exc:
        raise BadMessage("not JSON (%s): %s" % (exc, quoted)) from None
    if not isinstance(msg, dict):
        raise BadMessage("not a JSON object: %s" % quoted)
    fields = FIELDS.get(msg.get("op"))
    if fields is None:
        raise BadMessage("unknown op %r (known: %s): %s" % (msg.get("op"), ", ".join(FIELDS), quoted))
    for key, (required, types) in fields.items():
        value = msg.get(key)
        if value is None:
            if required:
                raise BadMessage("%r without %r: %s" % (msg["op"], key, quoted))
        elif types is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise BadMessage("%r with %r of type %s, expected %s: %s" % (
                msg["op"], key, type(value).__name__, " or ".join(t.__name__ for t in types), quoted))
    return msg
