"""Framing shared by every part of the agent: one JSON object per line, on sockets, pipes and descriptors."""
import json
import os
import re


def encode(message):
    """The bytes of one message (a line)."""
    return (json.dumps(message) + "\n").encode()


def decode(line):
    """The JSON value in ``line``; ValueError for anything that is not JSON, arrays nested 100,000 deep included
    (the parser raises RecursionError there, which would otherwise escape every ``except ValueError``)."""
    try:
        return json.loads(line)
    except RecursionError as exc:
        raise ValueError(str(exc)) from None


def quote(line, limit=200):
    """``line`` (bytes) as text for an error message, cut after ``limit`` bytes."""
    return line[:limit].decode(errors="replace") + ("..." if len(line) > limit else "")


def write_all(fd, data):
    """Write every byte to a raw descriptor (os.write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class LineReader:
    """Collects bytes as they arrive and hands out the complete messages (a line may come in pieces)."""

    def __init__(self):
        self.buffer = b""

    def lines(self, data):
        """The complete, non-blank lines (bytes) that ``data`` finishes."""
        self.buffer += data
        lines = []
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip():
                lines.append(line)
        return lines


def safe_name(trial_id):
    """A directory name for a trial id (the client computes the same name to fetch logs)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", trial_id)[:100] or "trial"
