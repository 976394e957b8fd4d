"""``did_you_mean``: the closest known name to a misspelled one, for error messages."""
from __future__ import annotations

import difflib
from typing import Iterable, Optional

__all__ = ["did_you_mean"]


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.75) -> Optional[str]:
    """The choice closest to ``word`` (case-insensitive), or None when nothing is close.

    ``did_you_mean("sequentail", ["sequential", "ts"])`` is ``"sequential"``; so is ``"Sequential"``.
    """
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    key = str(word).lower()
    if key in lowered:
        return lowered[key]
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=cutoff)
    return lowered[close[0]] if close else None
