"""Log level of nascore and its plugins: ``nascore --log-level INFO ...`` or ``NASCORE_LOG_LEVEL=INFO``.

Libraries should not configure logging behind a user's back, so nothing happens unless a level is asked for.
When one is, nascore's loggers (``nascore`` and each plugin's package, e.g. ``nascore_remote``) get that level,
and a stderr handler when the program has configured no logging of its own (else its handlers are used).
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Optional, Union

__all__ = ["configure_logging", "LOG_LEVEL_ENV", "LEVELS"]

LOG_LEVEL_ENV = "NASCORE_LOG_LEVEL"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


class _NascoreHandler(logging.StreamHandler):
    """Marks the handler nascore added, so configuring twice does not print every line twice."""


def _plugin_packages() -> Iterable[str]:
    from nascore.plugins import get_plugin_manager
    for info in get_plugin_manager().plugins.values():
        package = info.entry_point.split(":")[0].split(".")[0]
        if package.isidentifier():
            yield package


def configure_logging(level: Union[None, int, str] = None) -> Optional[int]:
    """Set the level of nascore's loggers to ``level`` (default: ``$NASCORE_LOG_LEVEL``; nothing when neither is
    given). Returns the level set, or None. Raises ValueError naming the valid levels for an unknown one."""
    level = level if level is not None else os.environ.get(LOG_LEVEL_ENV) or None
    if level is None:
        return None
    if isinstance(level, str):
        name = level.strip().upper()
        if name not in LEVELS:
            raise ValueError(f"unknown log level {level!r} (from {LOG_LEVEL_ENV} or --log-level); use one of "
                             f"{', '.join(LEVELS)}")
        level = getattr(logging, name)
    user_configured = bool(logging.getLogger().handlers)
    for name in {"nascore", *_plugin_packages()}:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not user_configured and not any(isinstance(h, _NascoreHandler) for h in logger.handlers):
            handler = _NascoreHandler()
            handler.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
            logger.addHandler(handler)
            logger.propagate = False
    return int(level)
