"""The API reference cannot rot: ``docs/api.md`` is generated from the docstrings (``scripts/apidoc.py``) and this
test fails when it is stale or when a module, hook, public name or plugin-contract method lacks a docstring.
New plugin folders, hooks and record types are covered without editing anything here."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _apidoc():
    spec = importlib.util.spec_from_file_location("nascore_apidoc", ROOT / "scripts" / "apidoc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_complete_and_current():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "apidoc.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr + "\n(run: python scripts/apidoc.py, and commit docs/api.md)"
    text = (ROOT / "docs" / "api.md").read_text()
    assert "### hook `nascore_model_finished(model: 'Any') -> 'None'`" in text
    assert "## `nascore_remote.config`" in text and "### class `RemoteMachineConfig`" in text
    for folder in (ROOT / "plugins").iterdir():  # every plugin folder has its section
        for package in folder.glob("nascore_*"):
            if (package / "__init__.py").is_file():
                assert f"# `{package.name}`" in text


def test_checker_reports_what_lacks_a_docstring(tmp_path, monkeypatch):
    apidoc = _apidoc()
    package = tmp_path / "nascore_undocumented"
    package.mkdir()
    (package / "__init__.py").write_text('"""A documented package."""\n')
    (package / "core.py").write_text('__all__ = ["Thing", "helper", "documented"]\n\n'
                                     'class Thing:\n    pass\n\n'
                                     'def helper(x):\n    return x\n\n'
                                     'def documented():\n    """Has words."""\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    lines, missing = [], []
    for module in apidoc.modules("nascore_undocumented"):
        apidoc._document_module(module, apidoc._contract_classes(), lines, missing)
    assert missing == ["nascore_undocumented.core (module docstring)", "nascore_undocumented.core.Thing",
                       "nascore_undocumented.core.helper"]
    assert "### `documented()`" in "\n".join(lines)
