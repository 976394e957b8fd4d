"""A pytest plugin for plugin authors (auto-loaded through the ``pytest11`` entry point).

Also for plugin authors: :mod:`nascore.testkit` (a small space + evaluator kit for strategy tests),
:mod:`nascore.conformance` (the engine conformance suite) and :mod:`nascore.service_conformance` (the
training-service conformance suite).

Fixtures:

* ``nascore_plugin_manager`` — a fresh :class:`~nascore.plugins.PluginManager` with no entry points loaded,
  installed as the process-wide manager for the test (so ``NasExperimentConfig`` and friends use it).
* ``nascore_installed_plugins`` — a fresh manager that loaded every installed plugin, installed process-wide for
  the test; ``.register(obj, name)`` adds the plugin under test beside them.
* ``register_plugin`` — ``register_plugin(obj, name=None)`` registers a plugin object on that manager and
  unregisters it after the test.
* ``fake_distribution`` — ``fake_distribution(name, entry_points={"x": "mod:attr"}, modules={"mod": src})``
  writes an installed-looking distribution (``*.dist-info`` with ``entry_points.txt``) and its modules into a
  temporary folder on ``sys.path``, so entry-point discovery and its failure modes are tested without pip.
* ``nascore_experiment_dir`` (autouse) — experiments a test runs go to a temporary folder, never
  ``~/nascore-experiments`` (``NASCORE_EXPERIMENT_DIR`` is set for the test unless it is set already); the fixture's
  value is that folder.
* ``importable_module`` — ``importable_module(source)`` writes ``source`` as a uniquely named module in a
  temporary folder on ``sys.path`` and imports it: a user's own module, importable by name the way a trial
  process imports it. It leaves ``sys.modules`` after the test.
"""
from __future__ import annotations

import importlib
import os
import sys
import textwrap
import types
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import pytest

from nascore.plugins import PluginManager, create_plugin_manager, set_plugin_manager


def _process_wide(load_entrypoints: bool) -> Iterator[PluginManager]:
    manager = create_plugin_manager(load_entrypoints=load_entrypoints)
    previous = set_plugin_manager(manager)
    try:
        yield manager
    finally:
        set_plugin_manager(previous)


@pytest.fixture
def nascore_plugin_manager() -> Iterator[PluginManager]:
    """A fresh manager with no entry points loaded, installed as the process-wide manager for the test."""
    yield from _process_wide(load_entrypoints=False)


@pytest.fixture(autouse=True)
def nascore_experiment_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where experiments of this test go: ``NASCORE_EXPERIMENT_DIR`` if set, else a fresh temporary folder."""
    existing = os.environ.get("NASCORE_EXPERIMENT_DIR")
    if existing:
        return Path(existing)
    folder = tmp_path_factory.mktemp("nascore-experiments")
    monkeypatch.setenv("NASCORE_EXPERIMENT_DIR", str(folder))
    return folder


@pytest.fixture
def nascore_installed_plugins() -> Iterator[PluginManager]:
    """A fresh manager that loaded every installed plugin (entry points), installed as the process-wide
    manager for the test: register the plugin under test on it with ``.register(obj, name)`` to test it beside
    the built-in ones (``NasExperimentConfig("cgo", "graph", "local")`` keeps working)."""
    yield from _process_wide(load_entrypoints=True)


@pytest.fixture
def register_plugin(nascore_plugin_manager: PluginManager) -> Iterator[Callable]:
    registered = []

    def register(plugin, name: Optional[str] = None):
        info = nascore_plugin_manager.register(plugin, name)
        registered.append(info.name)
        return info

    yield register
    for name in registered:
        nascore_plugin_manager.unregister(name)


def write_distribution(root: Path, name: str, version: str = "1.0", entry_points: Optional[Dict[str, str]] = None,
                       modules: Optional[Dict[str, str]] = None, group: str = "nascore") -> Path:
    """Write ``name-version.dist-info`` (METADATA, entry_points.txt) and module sources under ``root``."""
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{group}]"] + [f"{ep} = {target}" for ep, target in (entry_points or {}).items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in (modules or {}).items():
        path = root.joinpath(*module.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return dist_info


@pytest.fixture
def fake_distribution(tmp_path: Path) -> Iterator[Callable]:
    root = tmp_path / "site"
    root.mkdir()
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    before = set(sys.modules)

    def make(name: str, **kwargs) -> Path:
        path = write_distribution(root, name, **kwargs)
        importlib.invalidate_caches()
        return path

    try:
        yield make
    finally:
        sys.path.remove(str(root))
        for module in set(sys.modules) - before:
            if getattr(sys.modules[module], "__file__", "") and str(root) in (sys.modules[module].__file__ or ""):
                del sys.modules[module]
        importlib.invalidate_caches()


@pytest.fixture
def importable_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., types.ModuleType]]:
    names = []

    def make(source: str, prefix: str = "nascore_user") -> types.ModuleType:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"  # unique: a module of the same name may be cached already
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        names.append(name)
        return importlib.import_module(name)

    yield make
    for name in names:
        sys.modules.pop(name, None)
