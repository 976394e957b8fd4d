"""The ``nascore`` command: ``plugins``, plus the experiment commands (run, view, export, resume, plot)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

import nascore


def _plugins(args: argparse.Namespace) -> int:
    from nascore.plugins import get_plugin_manager
    pm = get_plugin_manager()
    infos = sorted(pm.plugins.values(), key=lambda p: (not p.builtin, p.name))
    problems = []
    if args.check:
        from nascore.plugin_check import check_plugins
        problems = check_plugins(pm)
    if args.json:
        listing = [info.to_json() for info in infos]
        if args.check:
            print(json.dumps({"plugins": listing, "problems": [vars(p) for p in problems]}, indent=2))
        else:
            print(json.dumps(listing, indent=2))
        return 1 if problems or (args.strict and any(i.status == "failed" for i in infos)) else 0
    for info in infos:
        version = f" {info.version}" if info.version else ""
        print(f"{info.name}  [{info.status}]  {info.distribution or '-'}{version}  ({info.entry_point})")
        if info.reason:
            print(f"    reason: {info.reason}")
        for warning in info.warnings:
            print(f"    warning: {warning}")
        for component, names in sorted(info.registers.items()):
            print(f"    {component}: {', '.join(names)}")
        if info.hooks:
            print(f"    hooks: {', '.join(info.hooks)}")
        if args.traceback and info.traceback:
            print("    " + info.traceback.rstrip().replace("\n", "\n    "))
    if args.check:
        print(f"\ncheck: {len(problems)} problem(s)" + (":" if problems else ""))
        for problem in problems:
            print(f"  {problem}")
    failed = [i for i in infos if i.status == "failed"]
    return 1 if problems or (failed and args.strict) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nascore", description="Neural architecture search on PyTorch.")
    parser.add_argument("--version", action="version", version=f"nascore {nascore.__version__}")
    parser.add_argument("--log-level", metavar="LEVEL", type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                        help="log level of nascore and its plugins (default: $NASCORE_LOG_LEVEL, else Python's)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = commands.add_parser("plugins", help="list installed plugins and what they register")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.add_argument("--strict", action="store_true", help="exit with 1 when a plugin failed to load")
    plugins.add_argument("--check", action="store_true",
                         help="resolve every registered factory and config model now; exit with 1 on any problem")
    plugins.add_argument("--traceback", action="store_true", help="show the traceback of a plugin that failed")
    plugins.set_defaults(handler=_plugins)
    from nascore.experiment.commands import add_commands
    add_commands(commands)
    from nascore.new_plugin import add_command
    add_command(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    from nascore.experiment.store import StoreError
    from nascore.logs import configure_logging
    from nascore.plugins import PluginError
    try:
        configure_logging(args.log_level)
    except ValueError as error:  # a bad NASCORE_LOG_LEVEL
        print(f"nascore: error: {error}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args) or 0)
    except PluginError as error:  # strict mode: a clean message, not a traceback
        print(f"nascore: {error}", file=sys.stderr)
        return 1
    except StoreError as error:  # a store found damaged while reading it: the message says what and where
        print(f"nascore: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nascore view --json | head`: the reader left; say nothing more
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise into a closed pipe again."""
    import os
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by a non-file object (tests): nothing to silence
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
