"""Keeping credentials out of what an experiment writes to disk."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["scrub_secrets"]

# A field whose name looks like a credential is dropped before anything is written.
_SECRET = re.compile(r"password|passphrase|secret|token", re.IGNORECASE)


def scrub_secrets(value: Any) -> Any:
    """A copy of ``value`` without dict entries named like ``password``, ``passphrase``, ``*secret*``."""
    if isinstance(value, dict):
        return {k: scrub_secrets(v) for k, v in value.items() if not (isinstance(k, str) and _SECRET.search(k))}
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(v) for v in value]
    return value
