"""Settings validation, the code tree rules and import isolation (no Ray cluster needed)."""
import subprocess
import sys

import pytest
from pydantic import ValidationError

from nascore.experiment.config import ConfigError, NasExperimentConfig


def test_config_selects_ray_and_validates_assignments():
    config = NasExperimentConfig("ts", "simplified", "ray")
    settings = config.training_service
    assert settings.name == "ray" and settings.address is None and settings.reuse_actors
    settings.address = "10.0.0.5:6379"
    settings.address = "auto"
    settings.trial_gpus = 0.25
    settings.trial_gpus = 2
    assert settings.resources() == {"CPU": 1.0, "GPU": 2.0} and settings.trial_devices() == ["cuda:0", "cuda:1"]
    settings.trial_gpus = 0.5
    assert settings.trial_devices() == ["cuda:0"]
    for field, value, words in [("address", "ray://head:10001", "Ray Client"), ("address", "head", "host:port"),
                                ("address", "head:99999", "host:port"), ("trial_gpus", 1.5, "fraction"),
                                ("trial_cpus", -1, "greater than or equal"),
                                ("max_node_failures_per_trial", -1, "greater than or equal"),
                                ("trial_resources", {"GPU": 1}, "trial_gpus"),
                                ("runtime_env", {"working_dir": "."}, "trial_code_directory"),
                                ("runtime_env", {"env_vars": {"A": 1}}, "strings")]:
        with pytest.raises(ValidationError, match=words):
            setattr(settings, field, value)


def test_whole_config_checks(tmp_path):
    config = NasExperimentConfig("ts", "simplified", "ray")
    config.training_service.trial_code_directory = str(tmp_path / "missing")
    with pytest.raises(ConfigError, match="trial_code_directory"):
        config.check()
    config = NasExperimentConfig("ts", "simplified", "ray")
    config.training_service.trial_cpus = 0
    with pytest.raises(ConfigError, match="set trial_concurrency"):
        config.check()
    config.trial_concurrency = 3
    config.check()


def test_cgo_places_models_on_the_gpus_ray_gives_a_trial():
    from nascore_cgo.config import resolve_devices
    config = NasExperimentConfig("cgo", "graph", "ray")
    assert resolve_devices(config) == ["cpu"]
    config.training_service.trial_gpus = 2
    assert resolve_devices(config) == ["cuda:0", "cuda:1"]


def test_code_tree_over_the_limit_names_the_largest_files(tmp_path):
    from nascore_ray.code import stage_code
    from nascore_remote.upload import CodeTooLargeError
    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "weights.bin").write_bytes(b"\0" * 300_000)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "junk.pyc").write_bytes(b"\0" * 10)
    config = NasExperimentConfig("ts", "simplified", "ray")
    config.training_service.trial_code_directory = str(tmp_path)
    config.training_service.code_size_limit_mb = 0.1
    with pytest.raises(CodeTooLargeError, match=r"weights\.bin \(0\.3 MB\).*code_size_limit_mb"):
        stage_code(config.training_service)
    config.training_service.code_excludes = ["*.bin", "__pycache__/"]
    staged = stage_code(config.training_service)
    assert staged.files == ("model.py",) and (staged.root / "model.py").read_text() == "x = 1\n"
    assert not (staged.root / "weights.bin").exists()


def test_import_nascore_and_the_hooks_never_import_ray():
    code = ("import sys, nascore, nascore_ray, nascore_ray.hooks\n"
            "from nascore.plugins import get_plugin_manager\n"
            "assert get_plugin_manager().get_training_service('ray').name == 'ray'\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
