"""One owner per experiment directory, SIGTERM handled like Ctrl-C, resume --retry-failed."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from nascore.cli import main
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.experiment.lock import LOCK_NAME, ExperimentLock, ExperimentLockedError, lock_owner
from nascore.strategy import Random

HOLD = textwrap.dedent('''
    import sys, time
    from nascore.experiment.lock import ExperimentLock
    lock = ExperimentLock.acquire(sys.argv[1])
    print("locked", flush=True)
    sys.stdin.readline()  # hold it until the test closes our stdin (or kills us)
''')


def test_lock_refuses_a_second_owner_and_dies_with_its_owner(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        owner = lock_owner(tmp_path)  # a viewer's question takes nothing
        assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()
        with pytest.raises(ExperimentLockedError, match=f"owned by process {proc.pid} on host") as info:
            ExperimentLock.acquire(tmp_path)
        assert f"kill -INT {proc.pid}" in str(info.value)
    finally:
        proc.kill()  # no chance to clean up: the kernel releases the lock
        proc.wait()
    assert lock_owner(tmp_path) is None
    with ExperimentLock.acquire(tmp_path) as lock:
        assert lock_owner(tmp_path)["pid"] == os.getpid()
        assert (tmp_path / LOCK_NAME).stat().st_mode & 0o077 == 0
    assert lock_owner(tmp_path) is None and not lock.held


def test_a_running_experiment_owns_its_directory(tiny, make_config):
    from nascore import hookimpl
    from nascore.plugins import get_plugin_manager

    seen = {}

    class Probe:
        @hookimpl
        def nascore_model_finished(self, model):
            if "refused" not in seen:
                directory = probe.directory
                with pytest.raises(ExperimentLockedError) as info:  # a resume while it runs: refused
                    NasExperiment.resume(directory, run=False).run()
                seen["refused"] = str(info.value)
                with ExperimentStore.open(directory) as store:
                    seen["status"] = store.status()

    probe = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=1),
                          make_config(max_trial_number=3))
    get_plugin_manager().register(Probe(), "test-lock-probe")
    try:
        assert probe.run() == "done"
    finally:
        get_plugin_manager().unregister("test-lock-probe")
    assert f"owned by process {os.getpid()}" in seen["refused"] and seen["status"] == "running"
    assert len(ExperimentStore.open(probe.directory).models()) == 3  # the refused resume trained nothing
    assert lock_owner(probe.directory) is None  # released at the end of the run
    assert not (probe.directory / "nascore.db-wal").exists() or \
        (probe.directory / "nascore.db-wal").stat().st_size == 0  # checkpointed: nascore.db alone is complete


TERM_SCRIPT = textwrap.dedent('''
    import sys
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import NasExperiment, NasExperimentConfig
    from nascore.strategy import Random
    import nascore_tinyexp as tiny

    workdir, log, gate = sys.argv[1:4]
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=8, experiment_name="termed",
                                 experiment_working_directory=workdir)
    status = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.gated, log=log, gate=gate, after=1),
                           Random(seed=7), config).run()
    print("status", status)
''')


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tiny_dir, tmp_path, workdir):
    log, gate = tmp_path / "evaluations.jsonl", tmp_path / "gate"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tiny_dir), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", TERM_SCRIPT, str(workdir), str(log), str(gate)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # bounded: until the second trial blocks on the gate
            if log.exists() and len(log.read_text().splitlines()) == 2:
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)  # polling the log the other process writes
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "status interrupted" in out, err
    with ExperimentStore.open(workdir / "termed") as store:
        assert store.get_meta("status") == "interrupted"
        records = store.models()
    assert [r.status for r in records] == ["trained", "interrupted"]
    assert records[1].failure_reason == "SIGTERM: the experiment process was told to stop"


def test_resume_retry_failed_reruns_failed_trials(tiny, make_config, capsys):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score, mode="raise"), Random(seed=3),
                        make_config(max_trial_number=12))
    assert exp.run() == "done"
    failed = {r.id for r in ExperimentStore.open(exp.directory).models("failed")}
    assert len(failed) == 3  # width 2 fails, at every depth

    # a plain resume keeps the failures; --retry-failed runs them again (under their ids), nothing else
    assert main(["resume", str(exp.directory)]) == 0
    assert {r.id for r in ExperimentStore.open(exp.directory).models("failed")} == failed
    tiny_fixed = FunctionalEvaluator(tiny.score)  # the environment was repaired
    resumed = NasExperiment.resume(exp.directory, evaluator=tiny_fixed, retry_failed=True)
    assert resumed.status == "done"
    records = ExperimentStore.open(exp.directory).models()
    assert len(records) == 12 and all(r.status == "trained" for r in records)
    assert {r.id for r in records if r.session == 3} == failed
    assert all(r.final == r.sample["width"] * 10 + r.sample["depth"] for r in records)
