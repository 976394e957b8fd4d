"""NasExperiment with no config and a multi-trial strategy runs on ts + simplified + local."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ts_helpers
import ts_space
from ts_helpers import alive, descendants

pytest.importorskip("nascore_simplified")


@pytest.mark.slow
def test_default_experiment_runs_on_ts_local(tmp_path, monkeypatch):
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import NasExperiment
    from nascore.strategy import GridSearch

    experiment = NasExperiment(ts_space.TinyNet(), FunctionalEvaluator(ts_helpers.score_width),
                               GridSearch())
    config = experiment.config
    assert (config.execution_engine.name, config.model_format.name, config.training_service.name) == \
        ("ts", "simplified", "local")
    config.experiment_working_directory = str(tmp_path)
    config.trial_concurrency = 2
    assert experiment.run() == "done"
    records = sorted(experiment.store.models(), key=lambda r: r.sample["width"])
    assert [(r.sample["width"], r.status, r.final) for r in records] == \
        [(2, "trained", 2.0), (4, "trained", 4.0)]
    for record in records:
        log_dir = Path(record.log_path)
        assert log_dir.parent == experiment.directory / "trials" and (log_dir / "stderr.log").is_file()
    # each trial records the worker process that ran it (not this process)
    pids = [int(re.fullmatch(r"local \(pid (\d+)\)", r.worker).group(1)) for r in records]
    assert os.getpid() not in pids and all(pid > 0 for pid in pids)


CTRL_C_SCRIPT = """
import sys
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises, even in a background job
sys.path.insert(0, {here!r})
import ts_helpers, ts_space
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.strategy import GridSearch
experiment = NasExperiment(ts_space.TinyNet(), FunctionalEvaluator(ts_helpers.mark_pid_and_sleep), GridSearch())
experiment.config.experiment_working_directory = {tmp!r}
experiment.config.trial_concurrency = 2
print(experiment.run(), flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_interrupts_running_trials_and_leaves_no_process(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    script = CTRL_C_SCRIPT.format(here=str(Path(ts_helpers.__file__).parent), tmp=str(tmp_path / "runs"))
    # a session of its own, like a shell job: SIGINT goes to its whole process group, as Ctrl-C does
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "NASCORE_TEST_MARKERS": str(markers)}, start_new_session=True)
    tree = []
    try:
        deadline = time.monotonic() + 60
        trial_pids = []
        while len(trial_pids) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # polls for the markers both (warm-worker) trials write once they run
            trial_pids = [int(p.read_text()) for p in markers.glob("trial-*") if not p.suffix]
        assert len(trial_pids) == 2, f"trials did not start (exit status {proc.poll()})"
        tree = descendants(proc.pid)
        assert set(trial_pids) <= set(tree) and all(alive(p) for p in tree)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and out.splitlines()[-1] == "interrupted", out
        # shutdown reaps every worker before the experiment exits: nothing may be left, not even briefly
        assert not [p for p in tree if alive(p)]
    finally:
        proc.kill()
        proc.wait()
        for pid in [p for p in tree if alive(p)]:  # only when an assertion failed: what this test started
            os.kill(pid, signal.SIGKILL)
    from nascore.experiment.store import ExperimentStore
    [db] = (tmp_path / "runs").glob("*/nascore.db")
    with ExperimentStore.open(db.parent) as store:
        assert store.status() == "interrupted"
        records = store.models()
    assert [(r.status, r.failure_reason, r.intermediates) for r in records] == \
        [("interrupted", "training service shut down", [0])] * 2
