"""The examples run as a user runs them: as scripts, in a fresh interpreter."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, tmp_path: Path) -> str:
    env = {**os.environ, "NASCORE_EXPERIMENT_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=EXAMPLES, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _store_dirs(tmp_path: Path):
    return [d for d in tmp_path.iterdir() if (d / "nascore.db").exists()]


def test_in_process_search_example(tmp_path):
    out = _run("in_process_search.py", tmp_path)
    assert "10 trials done, 0 failed" in out
    [directory] = _store_dirs(tmp_path)
    view = subprocess.run([sys.executable, "-m", "nascore", "view", str(directory), "--json"], capture_output=True,
                          text=True, check=True).stdout
    trials = json.loads(view)["models"]
    assert len(trials) == 10 and all(t["status"] == "trained" for t in trials)


@pytest.mark.slow
def test_quickstart_runs_end_to_end(tmp_path):
    out = _run("quickstart.py", tmp_path)
    assert "12 trials done, 0 failed" in out and "best models" in out
    [directory] = _store_dirs(tmp_path)
    trials = sorted((directory / "trials").glob("trial-*"))
    assert len(trials) == 12 and all((t / "stdout.log").exists() and (t / "stderr.log").exists() for t in trials)


@pytest.mark.slow
def test_cgo_example_merges_models_into_fewer_trials(tmp_path):
    out = _run("cgo_search.py", tmp_path)
    assert "8 trials done, 0 failed" in out
    [directory] = _store_dirs(tmp_path)
    merged_trials = sorted((directory / "trials").glob("trial-*"))
    assert 1 <= len(merged_trials) < 8, "models sharing the data set train together in merged trials"


@pytest.mark.slow
def test_oneshot_example_exports_subnets_that_work_with_inherited_weights(tmp_path):
    out = _run("oneshot_search.py", tmp_path)
    accuracies = [float(line.split("validation accuracy ")[1].split(";")[0]) for line in out.splitlines()
                  if "inherited weights" in line]
    assert len(accuracies) == 2 and min(accuracies) > 0.8, out  # chance is 0.1
    assert out.count("DARTS: {") == 1 and out.count("RandomOneShot: {") == 1
    assert len(_store_dirs(tmp_path)) == 2


@pytest.mark.slow
def test_multi_objective_example_prints_a_feasible_front(tmp_path):
    out = _run("multi_objective_search.py", tmp_path)
    assert "12 trials done, 0 failed" in out
    rows = [line.split()[1:4] for line in out.splitlines() if line.startswith("  #")]
    front = [(float(m), int(p), int(macs)) for m, p, macs in rows]
    assert front and all(p <= 5000 for _, p, _ in front)  # the constraint held
    assert [m for m, _, _ in front] == sorted((m for m, _, _ in front), reverse=True)  # best metric first...
    assert [p for _, p, _ in front] == sorted((p for _, p, _ in front), reverse=True)  # ...costs more: a front
    [directory] = _store_dirs(tmp_path)
    view = subprocess.run([sys.executable, "-m", "nascore", "view", str(directory), "--pareto"], capture_output=True,
                          text=True, check=True).stdout
    assert f"{len(front)} model(s) on the Pareto front of default (max), params (min)" in view
