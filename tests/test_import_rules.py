"""Import rules (issue 13 item 10), checked on the source of the core and of every plugin folder (new plugin
folders are covered without editing this test):

* a built-in plugin imports no private core name (``from nascore.x import _y``, ``nascore.x._y``): built-in
  plugins use exactly the API a third party has;
* no two modules import each other (anywhere in the module, functions included; imports under
  ``if TYPE_CHECKING:`` do not run and do not count; a package and its own submodules are exempt, since importing
  a submodule imports its package anyway).
"""
import ast
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_ATTRIBUTE = re.compile(r"\bnascore(?:\.[A-Za-z]\w*)*\.(_[A-Za-z]\w*)")


def _packages() -> Iterator[Tuple[str, Path]]:
    yield "nascore", ROOT / "nascore"
    for folder in sorted((ROOT / "plugins").iterdir()):
        for package in sorted(folder.glob("nascore_*")):
            if (package / "__init__.py").is_file():
                yield package.name, package


def _modules() -> Dict[str, Tuple[Path, bool]]:
    found = {}
    for _, package in _packages():
        for path in package.rglob("*.py"):
            parts = list(path.relative_to(package.parent).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = (path, is_package)
    return found


def _imports(module: str, path: Path, is_package: bool) -> Iterator[Tuple[str, List[str], int]]:
    """(imported module, imported names, line) for every import that runs."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            yield base, [alias.name for alias in node.names], node.lineno


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_built_in_plugins_import_no_private_core_names():
    offences = []
    for module, (path, is_package) in _modules().items():
        if module.split(".")[0] == "nascore":
            continue
        for base, names, line in _imports(module, path, is_package):
            if base != "nascore" and not base.startswith("nascore."):
                continue
            private = [part for part in base.split(".") if _is_private(part)]
            private += [name for name in names if _is_private(name)]
            if private:
                offences.append(f"{path.relative_to(ROOT)}:{line}: imports {', '.join(private)} from {base}")
        for number, text in enumerate(path.read_text().splitlines(), 1):
            match = PRIVATE_ATTRIBUTE.search(text)
            if match and not (match.group(1).startswith("__") and match.group(1).endswith("__")):
                offences.append(f"{path.relative_to(ROOT)}:{number}: uses {match.group(0)}")
    assert not offences, "built-in plugins must use public core API only:\n" + "\n".join(offences)


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    graph: Dict[str, Set[str]] = {}
    for module, (path, is_package) in modules.items():
        targets = set()
        for base, names, _ in _imports(module, path, is_package):
            targets.update(f"{base}.{name}" for name in names if f"{base}.{name}" in modules)
            if base in modules:
                targets.add(base)
        graph[module] = {t for t in targets
                         if t != module and not t.startswith(module + ".") and not module.startswith(t + ".")}
    return graph


def test_no_two_modules_import_each_other():
    graph = _graph()
    assert "nascore_cgo.middleware" in graph and "nascore.experiment.config" in graph  # the walk found them
    circles = sorted(f"{a} <-> {b}" for a, targets in graph.items() for b in targets
                     if a < b and a in graph.get(b, ()))
    assert not circles, "modules that import each other:\n" + "\n".join(circles)


def test_the_checker_sees_function_level_imports(tmp_path):
    """A lazy import inside a function is still an import (the config <-> compat circle was one)."""
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import b\n"
                      "def f():\n    from .sibling import _x\n")
    found = list(_imports("pkg.m", source, False))
    assert ("pkg.sibling", ["_x"], 5) in found and all(base != "a" for base, _, _ in found)


def test_built_in_formats_use_the_public_format_api():
    """What a format needs — the space's mutables, marking a model frozen — through public names (item 9)."""
    offences = []
    for folder in sorted((ROOT / "plugins").iterdir()):
        for path in folder.glob("nascore_*/**/*.py"):
            for number, text in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\._mutables\b|\._mark_frozen\b", text):
                    offences.append(f"{path.relative_to(ROOT)}:{number}: {text.strip()}")
    assert not offences, "use ExecutableModelSpace.mutables / mark_frozen:\n" + "\n".join(offences)
