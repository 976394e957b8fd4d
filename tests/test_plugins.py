"""Plugin discovery through real entry points (fake dist-info folders), failure isolation and switches."""
import json
import subprocess
import sys

import pytest

from nascore import hookimpl
from nascore.plugins import PluginError, UnknownComponentError, create_plugin_manager
from nascore.specs import EngineSpec, ModelFormatSpec

GOOD = """
from nascore import hookimpl
from nascore.specs import ModelFormatSpec

@hookimpl
def nascore_model_formats():
    return [ModelFormatSpec(name="toyfmt", factory="toyfmt_impl:Format", description="a toy")]
"""


def _manager(monkeypatch, **env):
    for key in ("NASCORE_PLUGINS", "NASCORE_DISABLE_PLUGIN_AUTOLOAD", "NASCORE_STRICT_PLUGINS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return create_plugin_manager()


def test_entry_point_discovered_with_distribution_and_version(fake_distribution, monkeypatch):
    fake_distribution("toy-plugin", version="2.5", entry_points={"toy": "toy_hooks"}, modules={"toy_hooks": GOOD})
    pm = _manager(monkeypatch)
    info = pm.plugins["toy"]
    assert (info.status, info.distribution, info.version) == ("active", "toy-plugin", "2.5")
    assert info.registers == {"model format": ["toyfmt"]}
    assert info.hooks == ["nascore_model_formats"]
    spec = pm.get_model_format("toyfmt")
    assert spec.provider == "toy" and spec.description == "a toy"


def test_import_error_is_reported_and_others_still_load(fake_distribution, monkeypatch):
    fake_distribution("toy-plugin", entry_points={"toy": "toy_hooks"}, modules={"toy_hooks": GOOD})
    fake_distribution("broken-plugin", version="0.3", entry_points={"broken": "broken_hooks"},
                      modules={"broken_hooks": "import does_not_exist_anywhere\n"})
    pm = _manager(monkeypatch)
    broken = pm.plugins["broken"]
    assert broken.status == "failed"
    assert "ModuleNotFoundError" in broken.reason and "does_not_exist_anywhere" in broken.reason
    assert broken.distribution == "broken-plugin" and broken.version == "0.3"
    assert pm.get_model_format("toyfmt").provider == "toy"


def test_plugin_calling_sys_exit_is_isolated(fake_distribution, monkeypatch):
    fake_distribution("toy-plugin", entry_points={"toy": "toy_hooks"}, modules={"toy_hooks": GOOD})
    fake_distribution("exiting-plugin", version="1.0", entry_points={"exiting": "exiting_hooks"},
                      modules={"exiting_hooks": "import sys\nsys.exit(4)\n"})
    fake_distribution("exit-hook-plugin", entry_points={"exithook": "exithook_hooks"}, modules={"exithook_hooks": (
        "import sys\nfrom nascore import hookimpl\n\n@hookimpl\ndef nascore_strategies():\n    sys.exit(5)\n")})
    pm = _manager(monkeypatch)
    assert pm.plugins["exiting"].status == "failed"
    assert pm.plugins["exiting"].reason.startswith("called sys.exit(4) while it was imported")
    assert pm.plugins["exithook"].status == "failed"
    assert pm.plugins["exithook"].reason.startswith("called sys.exit(5) in a registration hook")
    assert pm.get_model_format("toyfmt").provider == "toy"  # everything else keeps working
    # and every command too: `nascore plugins` lists the culprit by name and distribution
    listing = subprocess.run([sys.executable, "-m", "nascore.cli", "plugins"], capture_output=True, text=True,
                             env={**__import__("os").environ, "PYTHONPATH": sys.path[0]}, timeout=120)
    assert listing.returncode == 0 and "exiting  [failed]  exiting-plugin 1.0" in listing.stdout


def test_strict_mode_makes_a_failure_fatal(fake_distribution, monkeypatch):
    fake_distribution("broken-plugin", version="0.3", entry_points={"broken": "broken_hooks"},
                      modules={"broken_hooks": "raise RuntimeError('boom at import')\n"})
    with pytest.raises(PluginError, match=r"plugin 'broken'.*broken-plugin 0.3.*boom at import"):
        _manager(monkeypatch, NASCORE_STRICT_PLUGINS="1")


def test_bad_hookimpl_signature_and_unknown_hook(fake_distribution, monkeypatch):
    fake_distribution("badsig", entry_points={"badsig": "badsig_hooks"}, modules={"badsig_hooks": """
        from nascore import hookimpl
        @hookimpl
        def nascore_model_submitted(model, extra_argument):
            pass
    """})
    fake_distribution("typo", entry_points={"typo": "typo_hooks"}, modules={"typo_hooks": """
        from nascore import hookimpl
        @hookimpl
        def nascore_modle_formats():
            return []
    """})
    pm = _manager(monkeypatch)
    assert pm.plugins["badsig"].status == "failed" and "extra_argument" in pm.plugins["badsig"].reason
    assert pm.plugins["typo"].status == "failed" and "nascore_modle_formats" in pm.plugins["typo"].reason


def test_wrong_record_type_fails_the_plugin(fake_distribution, monkeypatch):
    fake_distribution("wrong", entry_points={"wrong": "wrong_hooks"}, modules={"wrong_hooks": """
        from nascore import hookimpl
        @hookimpl
        def nascore_model_formats():
            return ["not a spec"]
    """})
    pm = _manager(monkeypatch)
    assert pm.plugins["wrong"].status == "failed"
    assert "must return ModelFormatSpec" in pm.plugins["wrong"].reason


def test_duplicate_name_names_both_providers(fake_distribution, monkeypatch):
    fake_distribution("toy-plugin", entry_points={"toy": "toy_hooks"}, modules={"toy_hooks": GOOD})
    fake_distribution("copycat", version="9.9", entry_points={"zcopy": "copy_hooks"},
                      modules={"copy_hooks": GOOD})
    pm = _manager(monkeypatch)
    reason = pm.plugins["zcopy"].reason
    assert pm.plugins["zcopy"].status == "failed"
    assert "model format 'toyfmt'" in reason and "plugin 'toy'" in reason and "toy-plugin" in reason
    assert pm.get_model_format("toyfmt").provider == "toy"


def test_kill_switches(fake_distribution, monkeypatch):
    fake_distribution("toy-plugin", entry_points={"toy": "toy_hooks"}, modules={"toy_hooks": GOOD})
    off = _manager(monkeypatch, NASCORE_DISABLE_PLUGIN_AUTOLOAD="1")
    assert off.plugins["toy"].status == "disabled"
    assert "random" in off.names("strategy"), "built-in strategies stay"
    with pytest.raises(UnknownComponentError):
        off.get_model_format("toyfmt")
    allow = _manager(monkeypatch, NASCORE_PLUGINS="someother")
    assert allow.plugins["toy"].status == "disabled" and "NASCORE_PLUGINS" in allow.plugins["toy"].reason
    allowed = _manager(monkeypatch, NASCORE_PLUGINS="toy")
    assert allowed.plugins["toy"].status == "active"


def test_unknown_name_lists_what_is_available(nascore_plugin_manager, register_plugin):
    class Engines:
        @hookimpl
        def nascore_execution_engines(self):
            return [EngineSpec(name="alpha", factory=dict), EngineSpec(name="beta", factory=dict)]

    register_plugin(Engines(), "engines")
    with pytest.raises(UnknownComponentError) as error:
        nascore_plugin_manager.get_execution_engine("cgo")
    assert str(error.value) == "unknown execution engine 'cgo'; available: alpha, beta (is nascore-cgo installed?)"


def test_failing_observer_does_not_stop_others(nascore_plugin_manager, register_plugin, caplog):
    seen = []

    class Loud:
        @hookimpl
        def nascore_model_finished(self, model):
            raise RuntimeError("observer bug")

    class Quiet:
        @hookimpl
        def nascore_model_finished(self, model):
            seen.append(model)

    register_plugin(Loud(), "loud")
    register_plugin(Quiet(), "quiet")
    nascore_plugin_manager.notify("nascore_model_finished", model="m1")
    assert seen == ["m1"]
    assert "observer bug" in caplog.text or "loud" in caplog.text


def test_lazy_factory_reference_resolves(nascore_plugin_manager, register_plugin):
    class Formats:
        @hookimpl
        def nascore_model_formats(self):
            return [ModelFormatSpec(name="jsonish", factory="json:dumps")]

    register_plugin(Formats(), "formats")
    assert nascore_plugin_manager.get_model_format("jsonish").load() is json.dumps


def test_import_nascore_imports_no_plugin_and_no_torch():
    code = ("import sys, nascore; "
            "bad = [m for m in sys.modules if m.startswith('nascore_') or m == 'torch']; "
            "print(bad); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_plugins_json_lists_installed_plugin_folders():
    import pathlib
    out = subprocess.run([sys.executable, "-m", "nascore", "plugins", "--json"], check=True,
                         capture_output=True, text=True).stdout
    plugins = {p["name"]: p for p in json.loads(out)}
    root = pathlib.Path(__file__).resolve().parents[1] / "plugins"
    folders = [d.name for d in root.iterdir() if (d / "pyproject.toml").exists()]
    for folder in folders:
        assert folder in plugins, f"plugins/{folder} is not installed as an entry point"
        assert plugins[folder]["status"] == "active", plugins[folder]
        assert plugins[folder]["distribution"] == f"nascore-{folder.replace('_', '-')}"
    assert plugins["nascore.strategy"]["registers"]["strategy"]


def test_cli_help_and_version():
    out = subprocess.run([sys.executable, "-m", "nascore", "--version"], capture_output=True, text=True)
    assert out.stdout.startswith("nascore ")
    helptext = subprocess.run([sys.executable, "-m", "nascore", "--help"], capture_output=True, text=True).stdout
    for command in ("plugins", "view", "export", "resume"):
        assert command in helptext


def test_cli_strict_mode_reports_a_broken_plugin_without_traceback(fake_distribution, monkeypatch):
    import os
    root = fake_distribution("broken-plugin", version="0.3", entry_points={"broken": "broken_hooks"},
                             modules={"broken_hooks": "import does_not_exist_anywhere\n"}).parent
    env = {**os.environ, "NASCORE_STRICT_PLUGINS": "1", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "nascore", "plugins"], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert "plugin 'broken'" in done.stderr and "broken-plugin 0.3" in done.stderr
    assert "Traceback" not in done.stderr


def test_same_entry_point_name_in_two_distributions_keeps_the_first(fake_distribution, monkeypatch):
    import os
    root = fake_distribution("toy-plugin", version="1.0", entry_points={"toy": "toy_hooks"},
                             modules={"toy_hooks": GOOD}).parent
    fake_distribution("toy-fork", version="2.0", entry_points={"toy": "fork_hooks"}, modules={"fork_hooks": """
        from nascore import hookimpl
        from nascore.specs import ModelFormatSpec

        @hookimpl
        def nascore_model_formats():
            return [ModelFormatSpec(name="forkfmt", factory="fork_impl:Format")]
    """})
    pm = _manager(monkeypatch)
    toys = [p for p in pm.plugins.values() if p.distribution in ("toy-plugin", "toy-fork")]
    first = pm.plugins["toy"]  # whichever entry point was found first keeps the name and keeps working
    (second,) = [p for p in toys if p is not first]
    assert first.status == "active" and second.status == "failed"
    served = pm.get_model_format("toyfmt" if first.distribution == "toy-plugin" else "forkfmt")
    assert served.provider == "toy"
    assert not {"toyfmt", "forkfmt"} - {served.name} & set(pm.names("model format"))  # the second: nothing
    assert f"{first.distribution} {first.version}" in second.reason and second.distribution in second.reason
    env = {**os.environ, "PYTHONPATH": str(root)}
    listing = subprocess.run([sys.executable, "-m", "nascore", "plugins"], capture_output=True, text=True,
                             env=env, check=True).stdout
    assert f"toy  [active]  {first.distribution}" in listing
    assert f"[failed]  {second.distribution} {second.version}" in listing


def test_clash_with_a_builtin_name_suggests_renaming(fake_distribution, monkeypatch):
    fake_distribution("my-random", entry_points={"myrandom": "myrandom_hooks"}, modules={"myrandom_hooks": """
        from nascore import hookimpl
        from nascore.specs import StrategySpec

        @hookimpl
        def nascore_strategies():
            return [StrategySpec(name="random", factory="myrandom_impl:Random")]
    """})
    pm = _manager(monkeypatch)
    assert pm.plugins["myrandom"].status == "failed"
    assert "built into nascore" in pm.plugins["myrandom"].reason and "rename" in pm.plugins["myrandom"].reason
    assert pm.get_strategy("random").provider == "nascore.strategy"


def test_plugins_check_finds_what_listing_calls_active(fake_distribution):
    import os
    root = fake_distribution("sloppy", version="0.1", entry_points={"sloppy": "sloppy_hooks"}, modules={
        "sloppy_hooks": """
            from nascore import hookimpl
            from nascore.experiment.config import ComponentConfig
            from nascore.specs import EngineSpec, ModelFormatSpec

            class NeedsHost(ComponentConfig):
                name: str = "sloppyfmt"
                host: str

            @hookimpl
            def nascore_execution_engines():
                return [EngineSpec(name="sloppy", factory="sloppy_engine:SloppyEngne")]

            @hookimpl
            def nascore_model_formats():
                return [ModelFormatSpec(name="sloppyfmt", factory="sloppy_engine:SloppyEngine",
                                        config_model=NeedsHost)]

            def nascore_model_finished(model):  # no @hookimpl: never called
                pass
        """,
        "sloppy_engine": "class SloppyEngine:\n    pass\n"}).parent
    fake_distribution("split", version="0.3", entry_points={"split": "split_pkg.hooks"}, modules={
        "split_pkg.__init__": "",
        "split_pkg.hooks": "from nascore import hookimpl\n",
        "split_pkg.observers": """
            from nascore import hookimpl

            @hookimpl
            def nascore_model_finished(model):
                pass
        """})
    fake_distribution("raising", version="0.2", entry_points={"raising": "raising_hooks"}, modules={
        "raising_hooks": """
            from nascore import hookimpl

            @hookimpl
            def nascore_strategies():
                return helper()

            def helper():
                raise KeyError("strategy table")
        """})
    env = {**os.environ, "PYTHONPATH": str(root)}
    plain = subprocess.run([sys.executable, "-m", "nascore", "plugins"], capture_output=True, text=True, env=env)
    assert plain.returncode == 0 and "sloppy  [active]" in plain.stdout  # looks fine until first use
    assert "warning: nascore_model_finished is not decorated with @nascore.hookimpl" in plain.stdout
    done = subprocess.run([sys.executable, "-m", "nascore", "plugins", "--check", "--traceback"],
                          capture_output=True, text=True, env=env)
    out = done.stdout
    assert done.returncode == 1
    assert "execution engine 'sloppy': factory 'sloppy_engine:SloppyEngne' cannot be resolved" in out
    assert "did you mean 'SloppyEngine'?" in out
    assert "config_model NeedsHost cannot be built from its name alone" in out and "host" in out
    assert "sloppy: nascore_model_finished is not decorated with @nascore.hookimpl" in out
    assert "split: nascore_model_finished in split_pkg.observers is never called" in out
    assert "raising: failed to load: KeyError" in out
    assert 'raise KeyError("strategy table")' in out and "in helper" in out  # --traceback shows where
    assert "problem(s)" in out
    as_json = json.loads(subprocess.run([sys.executable, "-m", "nascore", "plugins", "--check", "--json"],
                                        capture_output=True, text=True, env=env).stdout)
    assert {p["plugin"] for p in as_json["problems"]} == {"sloppy", "raising", "split"}


def test_plugins_check_passes_on_the_installed_plugins():
    done = subprocess.run([sys.executable, "-m", "nascore", "plugins", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check: 0 problem(s)" in done.stdout
