"""Every plugin folder has a README a user can look things up in (issue 12 item 13): it names its distribution,
every component the plugin registers, and every setting of its config models, nested models included (e.g. each
``RemoteMachineConfig`` field). New plugin folders are covered without editing this test."""
import re
import tomllib
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from nascore.plugins import get_plugin_manager
from nascore.specs import SPEC_TYPES

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(d for d in (ROOT / "plugins").iterdir() if (d / "pyproject.toml").is_file())


def _models(model: type, seen: set) -> None:
    """``model`` and every pydantic model its fields hold (``List[Machine]``, ``Optional[Machine]``...)."""
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            kind = stack.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                _models(kind, seen)
            stack.extend(typing.get_args(kind))


@pytest.mark.parametrize("folder", FOLDERS, ids=[d.name for d in FOLDERS])
def test_plugin_readme_documents_what_the_plugin_offers(folder):
    readme = folder / "README.md"
    assert readme.is_file(), f"plugins/{folder.name} has no README.md"
    text = readme.read_text()
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] in text, f"{readme} does not name its distribution {project['name']}"
    pm = get_plugin_manager()
    plugins = [p for p in pm.plugins.values() if p.distribution == project["name"] and p.status == "active"]
    assert plugins, f"{project['name']} is not an active plugin (run scripts/setup.sh)"
    undocumented = []
    for spec_type in SPEC_TYPES:
        for spec in pm.specs(spec_type.component):
            if spec.provider not in {p.name for p in plugins}:
                continue
            if not re.search(rf"\b{re.escape(spec.name)}\b", text):
                undocumented.append(f"{spec.component} '{spec.name}'")
            models: set = set()
            if getattr(spec, "config_model", None) is not None:
                _models(spec.config_model, models)
            for model in models:
                undocumented += [f"setting {model.__name__}.{name}" for name in model.model_fields
                                 if name != "name" and not re.search(rf"[`\"']{name}[`\"']", text)]
    assert not undocumented, f"{readme} does not document: " + ", ".join(undocumented)
