"""Settings of the remote service: construction, assignment, static checks, secrets never shown."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore_remote import RemoteConfig, RemoteMachineConfig


def test_fields_settable_after_construction_and_validated():
    rm = RemoteMachineConfig()
    rm.host, rm.port, rm.user, rm.gpu_indices = "10.0.0.5", 2222, "me", "0, 1"
    assert rm.gpu_indices == [0, 1] and rm.address == "me@10.0.0.5:2222"
    with pytest.raises(ValidationError, match="port"):
        rm.port = 0
    with pytest.raises(ValidationError, match="max_trial_number_per_gpu"):
        rm.max_trial_number_per_gpu = 0


def test_experiment_config_takes_machine_list():
    config = NasExperimentConfig("ts", "simplified", "remote")
    assert isinstance(config.training_service, RemoteConfig)
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u"), {"host": "g", "user": "v"}]
    assert [m.address for m in config.machine_list] == ["u@h:22", "v@g:22"]


def test_missing_host_named_before_anything_runs():
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u"), RemoteMachineConfig(user="me")]
    with pytest.raises(ConfigError, match=r"machine_list\[1\] \(me@\?:22\): host not set"):
        config.check()
    config.training_service.machine_list = []
    with pytest.raises(ConfigError, match="no machines"):
        config.check()


def test_unreadable_or_bad_key_file(tmp_path):
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u", ssh_key_file=str(tmp_path / "nope"))]
    with pytest.raises(ConfigError, match=r"u@h:22.*ssh_key_file .*nope.* does not exist"):
        config.check()
    bogus = tmp_path / "bogus"
    bogus.write_text("not a key")
    config.training_service.machine_list[0].ssh_key_file = str(bogus)
    with pytest.raises(ConfigError, match="cannot load ssh_key_file"):
        config.check()


def test_encrypted_key_needs_the_right_passphrase(tmp_path):
    from nascore_remote.testing import generate_key
    key = generate_key(tmp_path / "enc", passphrase="s3cret-pass")
    machine = RemoteMachineConfig(host="h", user="u", ssh_key_file=str(key))
    with pytest.raises(ConfigError, match="encrypted; set ssh_passphrase"):
        machine.check_static("machine_list[0]")
    machine.ssh_passphrase = "wrong"
    with pytest.raises(ConfigError, match="wrong ssh_passphrase"):
        machine.check_static("machine_list[0]")
    machine.ssh_passphrase = "s3cret-pass"
    machine.check_static("machine_list[0]")


def test_password_never_serialized_or_printed():
    config = NasExperimentConfig("ts", "simplified", "remote")
    rm = RemoteMachineConfig(host="h", user="u", password="hunter2-topsecret", ssh_passphrase="pp-topsecret")
    config.training_service.machine_list = [rm]
    for text in (config.to_json(), json.dumps(config.model_dump(mode="json")), repr(config), str(rm), repr(rm)):
        assert "topsecret" not in text
    assert rm.password.get_secret_value() == "hunter2-topsecret"


def test_gpu_number_larger_than_any_machine():
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u", gpu_indices=[0, 1])]
    config.training_service.trial_gpu_number = 3
    with pytest.raises(ConfigError, match="trial_gpu_number=3"):
        config.check()


def test_code_tree_excludes_and_limit(tmp_path):
    from nascore_remote.upload import CodeTooLargeError, collect_code
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text("x = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.bin").write_bytes(b"\0" * 200_000)
    (tmp_path / "notes.log").write_text("log")
    (tmp_path / "keep.log").write_text("log")
    (tmp_path / ".gitignore").write_text("data/\n*.log\n!keep.log\n")
    tree = collect_code(tmp_path, ["__pycache__/"], size_limit_mb=1)
    assert tree.files == (".gitignore", "keep.log", "pkg/model.py")
    assert collect_code(tmp_path, [], 1).digest == tree.digest  # content hash: same tree, same digest
    (tmp_path / "pkg" / "model.py").write_text("x = 2\n")
    assert collect_code(tmp_path, [], 1).digest != tree.digest
    (tmp_path / ".gitignore").write_text("")
    with pytest.raises(CodeTooLargeError, match=r"data/big.bin"):
        collect_code(tmp_path, [], size_limit_mb=0.1)


def test_plugin_registered():
    from nascore.plugins import get_plugin_manager
    spec = get_plugin_manager().get_training_service("remote")
    assert spec.config_model is RemoteConfig
