"""``nascore new-plugin KIND NAME``: write a pip-installable plugin distribution with a passing test.

Kinds: strategy, engine, service, format, middleware, optimizer, observer, profiler. The result is the folder
``NAME/`` (``pyproject.toml`` with distribution ``nascore-NAME`` and one entry point, package ``nascore_NAME``,
``README.md``, ``tests/``); ``pip install -e NAME`` registers it and ``python -m pytest NAME/tests`` passes.
"""
from __future__ import annotations

import argparse
import keyword
import re
from pathlib import Path
from string import Template
from typing import Any, Dict

from nascore.plugin_templates import COMMON, KINDS

__all__ = ["new_plugin", "add_command"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def new_plugin(kind: str, name: str, directory: Path = Path(".")) -> Path:
    """Write plugin ``name`` of ``kind`` under ``directory``; returns its folder. ValueError for a bad kind or
    name, FileExistsError when the folder exists."""
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(f"plugin name {name!r} must be lowercase letters, digits and '_', starting with a letter "
                         "(it becomes the entry point and the component name)")
    files, summary, dependencies = KINDS[kind]
    root = Path(directory) / name
    if root.exists():
        raise FileExistsError(f"{root} exists already; pick another name or directory")
    values: Dict[str, Any] = {"name": name, "package": f"nascore_{name}", "dist": f"nascore-{name.replace('_', '-')}",
                              "Class": "".join(part.title() for part in name.split("_")) + kind.title(),
                              "kind": kind, "summary": summary[0].upper() + summary[1:], "dependencies": dependencies}
    for relative, text in {**COMMON, **files}.items():
        path = root / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
    return root


def _command(args: argparse.Namespace) -> int:
    try:
        root = new_plugin(args.kind, args.name, Path(args.directory))
    except (ValueError, FileExistsError) as exc:
        print(f"nascore new-plugin: {exc}")
        return 2
    print(f"wrote {root}: pip install -e {root} && python -m pytest {root / 'tests'}")
    return 0


def add_command(subparsers: Any) -> None:
    """Add ``new-plugin`` to the ``nascore`` command."""
    parser = subparsers.add_parser("new-plugin", help="write a new plugin distribution from a template")
    parser.add_argument("kind", choices=list(KINDS), help="what the plugin provides")
    parser.add_argument("name", help="entry point and component name, e.g. my_search")
    parser.add_argument("--directory", default=".", help="where the plugin folder goes (default: here)")
    parser.set_defaults(handler=_command)
