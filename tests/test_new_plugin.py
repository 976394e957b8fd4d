"""``nascore new-plugin KIND NAME`` writes a pip-installable distribution whose test passes (issue 13 item 13):
every kind is generated, installed with pip into a temporary target and its tests run there, beside the
installed built-in plugins; ``nascore plugins --check`` finds nothing wrong with them."""
import os
import subprocess
import sys

import pytest

from nascore.new_plugin import new_plugin
from nascore.plugin_templates import KINDS


def test_bad_kind_or_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown plugin kind 'strategyy'; choose one of strategy, engine"):
        new_plugin("strategyy", "mine", tmp_path)
    with pytest.raises(ValueError, match="plugin name 'My-Plugin' must be lowercase"):
        new_plugin("strategy", "My-Plugin", tmp_path)
    new_plugin("strategy", "mine", tmp_path)
    with pytest.raises(FileExistsError, match="exists already"):
        new_plugin("engine", "mine", tmp_path)


@pytest.mark.slow
def test_every_template_installs_with_pip_and_passes_its_tests(tmp_path):
    folders = []
    for kind in KINDS:
        done = subprocess.run([sys.executable, "-m", "nascore", "new-plugin", kind, f"t_{kind}", "--directory",
                               str(tmp_path / "src")], capture_output=True, text=True, check=True)
        assert f"t_{kind}" in done.stdout
        folders.append(str(tmp_path / "src" / f"t_{kind}"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), *folders], check=True, capture_output=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(target)}
    tests = [os.path.join(f, "tests") for f in folders]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = int(done.stdout.strip().splitlines()[-1].split(" passed")[0].split()[-1])
    assert passed >= 2 * len(KINDS)  # at least two tests per kind ran (the engine/service suites run many more)
    check = subprocess.run([sys.executable, "-m", "nascore", "plugins", "--check"], capture_output=True, text=True,
                           env=env)
    assert check.returncode == 0, check.stdout
    for kind in KINDS:
        assert f"t_{kind}  [active]  nascore-t-{kind} 0.1.0" in check.stdout
