"""Secrets in a config (``SecretStr`` fields: passwords, passphrases) never reach a file, store or message.

``config.save()`` and the experiment store drop them and record *where* they were (dotted paths); whoever
loads or resumes the config supplies them again: by assignment, from the environment variable a component
names (``<field>_env``, e.g. a remote machine's ``password_env``), or — ``nascore resume`` in a terminal —
at a prompt. Each secret field's ``description`` says where it must come from.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterator, List, Optional, Tuple

from pydantic import BaseModel, SecretStr

__all__ = ["secret_fields", "set_secret_paths", "missing_secrets", "fill_secrets", "secret_note", "MASK"]

#: how pydantic prints a SecretStr; a file holding it holds no password (older saves wrote it)
MASK = "**********"


def _walk(value: Any, path: str) -> Iterator[Tuple[str, BaseModel, str]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            child = getattr(value, name, None)
            where = f"{path}.{name}" if path else name
            annotation = str(type(value).model_fields[name].annotation)
            if isinstance(child, SecretStr) or "SecretStr" in annotation:
                yield where, value, name
            elif isinstance(child, (BaseModel, list, tuple)):
                yield from _walk(child, where)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def secret_fields(config: BaseModel) -> List[Tuple[str, BaseModel, str]]:
    """Every secret field of ``config``: ``(dotted path, owning model, field name)``."""
    return list(_walk(config, ""))


def set_secret_paths(config: BaseModel) -> List[str]:
    """Dotted paths of the secrets that ``config`` holds (set, non-empty)."""
    return [path for path, model, name in secret_fields(config) if getattr(model, name) is not None]


def _env_value(model: BaseModel, name: str) -> Optional[str]:
    variable = getattr(model, f"{name}_env", None)
    return os.environ.get(variable) if isinstance(variable, str) and variable else None


def missing_secrets(config: BaseModel, paths: List[str]) -> List[Tuple[str, BaseModel, str]]:
    """Of the secrets at ``paths`` (recorded when the config was saved), those neither set in ``config`` nor
    available from the environment variable its component names."""
    wanted = set(paths)
    return [(path, model, name) for path, model, name in secret_fields(config)
            if path in wanted and getattr(model, name) is None and _env_value(model, name) is None]


def fill_secrets(missing: List[Tuple[str, BaseModel, str]], ask: Callable[[str], str]) -> None:
    """Set each missing secret from ``ask(prompt)`` (e.g. ``getpass.getpass``)."""
    for path, model, name in missing:
        where = getattr(model, "address", None)
        setattr(model, name, ask(f"{path}{f' ({where})' if where else ''}: "))


def secret_note(config: BaseModel, paths: List[str]) -> str:
    """Where the secrets at ``paths`` must come from (each field's description says how)."""
    lines = []
    for path, model, name in secret_fields(config):
        if path in paths:
            how = type(model).model_fields[name].description or "set it after loading the config"
            lines.append(f"{path} is not saved: {how}")
    return "; ".join(lines)
