"""A whole experiment through the remote service, configured exactly as the docs show."""
from __future__ import annotations

import pytest

from remote_helpers import HERE


@pytest.mark.slow
def test_experiment_runs_on_remote_machines(sshd_pair, tmp_path, monkeypatch):
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import FunctionalEvaluator
    from nascore.strategy import GridSearch
    from nascore_remote import RemoteMachineConfig
    from remote_space_helpers import TinySpace
    from remote_trial_helpers import evaluate_width

    monkeypatch.chdir(HERE)  # the trial code directory defaults to the working directory
    key = str(sshd_pair[0].user_key)
    config = NasExperimentConfig("ts", "simplified", "remote")
    rm = RemoteMachineConfig(); rm.host = "127.0.0.1"; rm.port = sshd_pair[0].port; rm.user = sshd_pair[0].user
    rm.ssh_key_file = key
    rm.known_hosts = str(sshd_pair[0].known_hosts)
    rm.python_path = __import__("sys").executable
    config.training_service.machine_list = [rm]
    config.training_service.code_excludes = ["__pycache__/"]
    config.experiment_working_directory = str(tmp_path)
    config.trial_concurrency = 2
    exp = NasExperiment(TinySpace(), FunctionalEvaluator(evaluate_width), GridSearch(), config=config)
    exp.run()
    top = exp.export_top_models(top_k=2, formatter="dict")
    assert top == [{"layer": 1}, {"layer": 0}]  # 4*8+8 = 40 parameters beat 4*2+2 = 10
    logs = sorted(p.parent.name for p in (exp.directory / "trials").glob("*/stdout.log"))
    assert len(logs) == 2
    # every trial records the machine that ran it, as user@host:port (no key or password)
    assert {r.worker for r in exp.store.models()} == {f"{rm.user}@127.0.0.1:{rm.port}"}
    # the trained weights came back from the remote machine and export loads them
    import torch
    [best] = exp.export_top_models(1)
    instance = exp.export_top_models(1, "instance")[0]
    saved = torch.load(best.weights_path, weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in instance.state_dict().items())


def _resume_in_terminal(directory, answer: str):
    """``nascore resume DIR`` on a pseudo-terminal, answering its secret prompt; (exit code, what it printed)."""
    import fcntl
    import os
    import pty
    import subprocess
    import sys
    import termios
    import time
    master, slave = pty.openpty()

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([sys.executable, "-m", "nascore.cli", "resume", str(directory)], stdin=slave,
                            stdout=slave, stderr=slave, preexec_fn=controlling_terminal)
    os.close(slave)
    out, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        out += chunk
        if not answered and b"ssh_passphrase" in out and out.rstrip().endswith(b":"):
            os.write(master, answer.encode() + b"\n")
            answered = True
    os.close(master)
    return proc.wait(timeout=60), out.decode(errors="replace")


@pytest.mark.slow
def test_resume_from_the_cli_asks_for_the_secret_it_never_stored(sshd_pair, tmp_path, monkeypatch):
    import subprocess
    import sys
    from nascore import NasExperiment, NasExperimentConfig, hookimpl
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import ExperimentStore
    from nascore.plugins import get_plugin_manager
    from nascore.strategy import GridSearch
    from nascore_remote import RemoteMachineConfig
    from nascore_remote.testing import generate_key
    from remote_space_helpers import TinySpace
    from remote_trial_helpers import evaluate_width

    server = sshd_pair[0]
    key = generate_key(tmp_path / "enc_key", passphrase="pp-topsecret-42")
    with open(server.authorized_keys, "a") as f:
        f.write((tmp_path / "enc_key.pub").read_text())
    monkeypatch.chdir(HERE)
    config = NasExperimentConfig("ts", "simplified", "remote", trial_concurrency=1,
                                 experiment_working_directory=str(tmp_path))
    config.training_service.code_excludes = ["__pycache__/"]
    config.training_service.machine_list = [RemoteMachineConfig(
        host="127.0.0.1", port=server.port, user=server.user, ssh_key_file=str(key),
        ssh_passphrase="pp-topsecret-42", known_hosts=str(server.known_hosts), python_path=sys.executable)]

    class StopAfterOne:
        @hookimpl
        def nascore_experiment_started(self, experiment):
            self.experiment = experiment

        @hookimpl
        def nascore_model_finished(self, model):
            self.experiment.stop()

    get_plugin_manager().register(StopAfterOne(), "test-stop-one")
    try:
        exp = NasExperiment(TinySpace(), FunctionalEvaluator(evaluate_width), GridSearch(), config=config)
        assert exp.run() == "stopped"
    finally:
        get_plugin_manager().unregister("test-stop-one")
    stored = b"".join(p.read_bytes() for p in exp.directory.rglob("*") if p.is_file())
    assert b"pp-topsecret-42" not in stored  # neither the store nor any log holds it

    # not in a terminal: a clear refusal naming the secret and where it can come from
    plain = subprocess.run([sys.executable, "-m", "nascore.cli", "resume", str(exp.directory)],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert plain.returncode == 2
    assert "training_service.machine_list[0].ssh_passphrase is not saved" in plain.stderr
    assert "ssh_passphrase_env" in plain.stderr and "pp-topsecret" not in plain.stderr
    # in a terminal: asked for, and the run goes on
    code, printed = _resume_in_terminal(exp.directory, "pp-topsecret-42")
    assert code == 0, printed
    assert "pp-topsecret-42" not in printed  # not echoed
    with ExperimentStore.open(exp.directory) as store:
        assert [r.status for r in store.models()] == ["trained", "trained"]


KILLED_SCRIPT = """
import sys
from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.strategy import GridSearch
from nascore_remote import RemoteMachineConfig
from remote_space_helpers import TinySpace
from remote_trial_helpers import evaluate_gated

workdir, port, key, known, log, gate = sys.argv[1:7]
config = NasExperimentConfig("ts", "simplified", "remote", trial_concurrency=1, max_trial_number=1,
                             experiment_name="killed", experiment_working_directory=workdir)
config.training_service.code_excludes = ["__pycache__/"]
config.training_service.machine_list = [RemoteMachineConfig(host="127.0.0.1", port=int(port), user=%r,
                                        ssh_key_file=key, known_hosts=known, python_path=sys.executable)]
NasExperiment(TinySpace(), FunctionalEvaluator(evaluate_gated, log=log, gate=gate), GridSearch(), config).run()
"""


@pytest.mark.slow
def test_resume_retires_the_agent_a_killed_experiment_left(sshd_pair, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from nascore.experiment import ExperimentStore, NasExperiment
    from nascore_remote.agent.procs import alive

    server = sshd_pair[0]
    log, gate = tmp_path / "evaluations.log", tmp_path / "gate"
    script = tmp_path / "experiment.py"
    script.write_text(KILLED_SCRIPT % server.user)  # its code directory: its working directory (HERE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(server.port), str(server.user_key),
                             str(server.known_hosts), str(log), str(gate)], cwd=HERE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and log.read_text().startswith("start")):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)  # polling the trial's log on the "machine"
    finally:
        proc.kill()  # SIGKILL: the agent and its trial are left running on the machine
        proc.wait()
    old_trial = int(log.read_text().split()[1])
    assert alive(old_trial)
    import threading
    resumed = []
    resume = threading.Thread(target=lambda: resumed.append(NasExperiment.resume(tmp_path / "killed")))
    resume.start()
    deadline = time.monotonic() + 120
    while log.read_text().count("start") < 2 and resume.is_alive():  # until the re-run has begun
        assert time.monotonic() < deadline
        time.sleep(0.05)  # polling the trials' log
    assert not alive(old_trial)  # the old agent and its trial were gone before the re-run started
    gate.touch()
    resume.join(120)
    assert resumed and resumed[0].status == "done"
    lines = log.read_text().splitlines()
    assert not alive(old_trial) and f"end {old_trial}" not in lines  # retired at once, never finished
    assert len([line for line in lines if line.startswith("end")]) == 1  # the re-run alone finished
    with ExperimentStore.open(tmp_path / "killed") as store:
        assert [r.status for r in store.models()] == ["trained"]
