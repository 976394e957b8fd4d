import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.experiment.lock import ExperimentLockedError
from nascore.experiment.resume import ResumeError
from nascore.strategy import Random

SCRIPT = textwrap.dedent('''
    import sys
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import NasExperiment, NasExperimentConfig
    from nascore.strategy import Random
    import nascore_tinyexp as tiny

    workdir, log, gate = sys.argv[1:4]
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=8, experiment_name="killed",
                                 experiment_working_directory=workdir)
    evaluator = FunctionalEvaluator(tiny.gated, log=log, gate=gate, after=3)
    NasExperiment(tiny.Tiny(), evaluator, Random(seed=7), config).run()
''')


def _wait_for(predicate, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"experiment process exited early:\n{proc.stderr.read().decode()}")
        time.sleep(0.05)  # polling the store written by the other process
    raise AssertionError("the experiment did not reach the expected state in time")


def _counts(directory):
    if not (directory / "nascore.db").exists():
        return {}
    try:
        with ExperimentStore.open(directory) as store:
            return store.counts()
    except Exception:  # the other process may be creating the schema right now
        return {}


@pytest.mark.slow
def test_killed_experiment_resumes_without_rerunning(tiny_dir, tiny, tmp_path, workdir):
    log, gate = tmp_path / "evaluations.jsonl", tmp_path / "gate"
    script = tmp_path / "experiment_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tiny_dir), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(script), str(workdir), str(log), str(gate)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    directory = workdir / "killed"
    try:
        # three trials finish, the fourth blocks on the gate: then the process dies without warning
        _wait_for(lambda: _counts(directory) == {"trained": 3, "training": 1}, proc)
        # while it runs, it owns the directory: a second owner is refused, naming it; viewers still read
        with pytest.raises(ExperimentLockedError, match=f"process {proc.pid} on host {socket.gethostname()}"):
            NasExperiment.resume(directory, run=False).run()
        with ExperimentStore.open(directory) as store:
            assert store.status() == "running" and store.owner()["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with ExperimentStore.open(directory) as store:
        assert store.get_meta("status") == "running"  # nobody could record the end...
        assert store.status() == "interrupted" and store.owner() is None  # ...but its owner is gone
        before = {r.id: r for r in store.models()}
    assert NasExperiment.resume(directory, run=False).status == "interrupted"
    finished_before = [tuple(sorted(r.sample.items())) for r in before.values() if r.status == "trained"]

    gate.write_text("open")
    experiment = NasExperiment.resume(directory)  # space, evaluator and strategy rebuilt from the store
    assert experiment.status == "done"

    with ExperimentStore.open(directory) as store:
        records = store.models()
        assert store.status() == "done" and store.get_meta("sessions") == 2
    assert len(records) == 8 and all(r.status == "trained" for r in records)
    assert len({tuple(sorted(r.sample.items())) for r in records}) == 8
    for record in records:  # finished trials kept their results; the in-flight one was re-run under its id
        if record.id in before and before[record.id].status == "trained":
            assert record.final == before[record.id].final and record.session == 1
    assert records[3].id == 4 and records[3].session == 2
    evaluations = Counter(tuple(sorted((k, v) for k, v in json.loads(line).items() if k != "pid"))
                          for line in log.read_text().splitlines())
    assert all(evaluations[s] == 1 for s in finished_before)  # never evaluated again
    assert sum(evaluations.values()) == 9  # 8 models + the one killed mid-run


def test_stopped_experiment_resumes_to_the_budget(tiny, make_config):
    from nascore.plugins import get_plugin_manager
    from nascore import hookimpl

    class StopAfterTwo:
        @hookimpl
        def nascore_experiment_started(self, experiment):
            self.experiment = experiment

        @hookimpl
        def nascore_model_finished(self, model):
            if model.model_id == 2:
                self.experiment.stop()

    get_plugin_manager().register(StopAfterTwo(), "test-stop-two")
    try:
        exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=1),
                            make_config(max_trial_number=5))
        assert exp.run() == "stopped"
    finally:
        get_plugin_manager().unregister("test-stop-two")
    first = {r.id: r.final for r in ExperimentStore.open(exp.directory).models()}
    assert len(first) == 2

    resumed = NasExperiment.resume(exp.directory, run=False)
    assert resumed.status == "stopped"  # what the store records, until run() continues it
    assert resumed.id == exp.id and resumed.config.max_trial_number == 5
    assert resumed.run() == "done"
    records = ExperimentStore.open(exp.directory).models()
    assert len(records) == 5 and {r.id: r.final for r in records if r.id in first} == first
    assert len({tuple(sorted(r.sample.items())) for r in records}) == 5
    assert len(resumed.list_models()) == 5


def test_resume_needs_parts_that_cannot_be_rebuilt(tiny, make_config):
    def local_score(model):  # defined in a function: not importable by another process
        return 1.0

    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(local_score), Random(seed=0), make_config(max_trial_number=2))
    exp.run()
    with pytest.raises(ResumeError, match="evaluator.*pass it.*evaluator="):
        NasExperiment.resume(exp.directory, run=False)
    resumed = NasExperiment.resume(exp.directory, evaluator=FunctionalEvaluator(local_score), run=False)
    assert resumed.run() == "done" and len(resumed.list_models()) == 2  # budget already used: nothing re-run
