"""Build the API reference (``docs/api.md``) from the docstrings of the core and of every plugin folder.

    python scripts/apidoc.py            # rewrite docs/api.md
    python scripts/apidoc.py --check    # exit 1 when a docstring is missing or docs/api.md is stale

What is documented, found without a list to maintain (new plugin folders, hooks and record types are covered as
they land): every hook in ``nascore.hookspecs``; every module of ``nascore`` and of each ``plugins/*/nascore_*``
package (private modules and ``__main__`` skipped); in each module the names of its ``__all__`` defined there
(re-exports are documented where they are defined); for classes, their public methods and properties.

Required (``--check`` fails otherwise): a docstring on every module, every hook, every ``__all__`` class and
function, and every public method of the classes a plugin implements or calls (:data:`CONTRACT_BASES` and their
subclasses in the core).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any, Iterator, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"
#: the plugin contract: bases whose public methods must all be documented (inherited docstrings count)
CONTRACT_BASES = ("nascore.engine:ExecutionEngine", "nascore.engine:Middleware", "nascore.space:ExecutableModelSpace",
                  "nascore.training_service:TrainingService", "nascore.strategy.base:Strategy",
                  "nascore.strategy.multi_trial:MultiTrialStrategy", "nascore.experiment.config:ComponentConfig",
                  "nascore.plugins:PluginManager")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def packages() -> List[str]:
    """``nascore`` and the import package of every plugin folder."""
    found = ["nascore"]
    for folder in sorted((ROOT / "plugins").iterdir()):
        found += sorted(p.name for p in folder.glob("nascore_*") if (p / "__init__.py").is_file())
    return found


def modules(package: str) -> Iterator[Any]:
    """The package and its public submodules, imported."""
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name != package:
            raise
        raise SystemExit(f"{package} is not installed: run `bash scripts/setup.sh` (it installs every plugin "
                         "folder), then python scripts/apidoc.py again") from None
    yield root
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts):
            continue
        yield importlib.import_module(info.name)


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return _ADDRESS.sub("", text)


def _members(cls: type) -> Iterator[Tuple[str, Any, Any]]:
    """(name, raw attribute, bound lookup) of the public methods and properties ``cls`` defines itself."""
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(raw, property) or inspect.isfunction(raw) or isinstance(raw, (classmethod, staticmethod)):
            yield name, raw, getattr(cls, name, raw)


def _doc(obj: Any) -> str:
    return inspect.getdoc(obj) or ""


def _contract_classes() -> List[type]:
    bases = []
    for reference in CONTRACT_BASES:
        module, _, name = reference.partition(":")
        bases.append(getattr(importlib.import_module(module), name))
    return bases


def _document_fields(cls: type, lines: List[str]) -> None:
    """Settings of a pydantic model (config models): name, type, default and description, one line each."""
    fields = getattr(cls, "model_fields", None)
    if not isinstance(fields, dict) or not fields:
        return
    lines += ["Settings:", ""]
    for name, field in fields.items():
        annotation = field.annotation
        kind = _ADDRESS.sub("", annotation.__name__ if isinstance(annotation, type) else repr(annotation))
        kind = re.sub(r"\b(typing|pydantic\.types|pydantic)\.", "", kind)
        default = "required" if field.is_required() else (
            "computed" if field.default_factory is not None else f"default `{field.default!r}`")
        description = f": {field.description}" if field.description else ""
        lines.append(f"- `{name}` ({kind}, {default}){description}")
    lines.append("")


def _document_class(cls: type, qualified: str, contract: List[type], lines: List[str], missing: List[str]) -> None:
    bases = ", ".join(b.__name__ for b in cls.__bases__ if b is not object)
    lines += [f"### class `{cls.__name__}`" + (f"({bases})" if bases else ""), ""]
    lines += [_doc(cls), ""]
    _document_fields(cls, lines)
    must = cls.__module__.startswith("nascore.") and any(issubclass(cls, base) for base in contract)
    for name, raw, bound in _members(cls):
        doc = inspect.getdoc(raw) if isinstance(raw, property) else _doc(bound)
        if not doc and isinstance(raw, property):  # an overriding property inherits its base's words
            doc = next((inspect.getdoc(vars(b)[name]) for b in cls.__mro__[1:] if name in vars(b)), None) or ""
        if not doc and must:
            missing.append(f"{qualified}.{name}")
        kind = "property" if isinstance(raw, property) else "method"
        heading = f"- `{name}`" if kind == "property" else f"- `{name}{_signature(bound)}`"
        lines.append(heading + (" (property)" if kind == "property" else ""))
        if doc:
            lines += ["  " + line if line else "" for line in doc.splitlines()]
    lines.append("")


def _document_module(module: Any, contract: List[type], lines: List[str], missing: List[str]) -> None:
    name = module.__name__
    lines += [f"## `{name}`", ""]
    if not module.__doc__:
        missing.append(f"{name} (module docstring)")
    lines += [inspect.cleandoc(module.__doc__ or ""), ""]
    for public in getattr(module, "__all__", []):
        obj = getattr(module, public, None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)) or getattr(obj, "__module__", None) != name:
            continue  # data, or a re-export documented where it is defined
        if not _doc(obj):
            missing.append(f"{name}.{public}")
        if inspect.isclass(obj):
            _document_class(obj, f"{name}.{public}", contract, lines, missing)
        else:
            lines += [f"### `{public}{_signature(obj)}`", "", _doc(obj), ""]


def _document_hooks(lines: List[str], missing: List[str]) -> None:
    from nascore import hookspecs
    lines += ["## Hooks (`nascore.hookspecs`)", "", inspect.cleandoc(hookspecs.__doc__ or ""), ""]
    for name, obj in vars(hookspecs).items():
        if name.startswith("nascore_") and inspect.isfunction(obj):
            if not _doc(obj):
                missing.append(f"hook {name}")
            lines += [f"### hook `{name}{_signature(obj)}`", "", _doc(obj), ""]


def build() -> Tuple[str, List[str]]:
    """The reference's text and the names that lack a docstring."""
    lines = ["# nascore API reference", "",
             "Generated from the docstrings by `python scripts/apidoc.py`; `tests/test_api_docs.py` fails when it is "
             "stale or a docstring is missing. Do not edit by hand.", ""]
    missing: List[str] = []
    contract = _contract_classes()
    _document_hooks(lines, missing)
    for package in packages():
        lines += [f"# `{package}`", ""]
        for module in sorted(modules(package), key=lambda m: m.__name__):
            if module.__name__ != "nascore.hookspecs":
                _document_module(module, contract, lines, missing)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).rstrip() + "\n"
    return text, missing


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on a missing docstring or a stale docs/api.md")
    args = parser.parse_args(argv)
    text, missing = build()
    if missing:
        print("missing docstrings:\n  " + "\n  ".join(missing), file=sys.stderr)
    if args.check:
        stale = not OUTPUT.is_file() or OUTPUT.read_text() != text
        if stale:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python scripts/apidoc.py and commit it", file=sys.stderr)
        return 1 if missing or stale else 0
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
