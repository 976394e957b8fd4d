"""Early stopping inside real experiments: trials stop for real, end early_stopped with their metrics, are
ranked by their best intermediate metric, and are never re-run on resume."""
from __future__ import annotations

import pytest

from nascore import NasExperiment, NasExperimentConfig
from nascore.early_stopping import ASHA
from nascore.strategy import GridSearch
from nascore.testkit import ToySpace, toy_curve_evaluator

EPOCHS = 9


def _run(tmp_path, engine="sequential", stopper=None, **fields):
    config = NasExperimentConfig(engine, "simplified", *(("local",) if engine == "ts" else ()),
                                 max_trial_number=27, experiment_working_directory=str(tmp_path),
                                 early_stopping=stopper or {"name": "asha", "max_resource": EPOCHS}, **fields)
    exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=EPOCHS, **fields.pop("evaluator", {})),
                        GridSearch(), config)
    exp.run()
    return exp


def test_asha_stops_trials_on_the_sequential_engine(tmp_path, capsys):
    exp = _run(tmp_path)
    records = exp.store.models()
    stopped = [r for r in records if r.status == "early_stopped"]
    trained = [r for r in records if r.status == "trained"]
    assert len(records) == 27 and stopped and trained
    summary = f"{len(trained)} trials done, {len(stopped)} early-stopped, 0 failed"
    assert summary in capsys.readouterr().out
    assert len(stopped) + len(trained) == 27  # nothing failed or interrupted
    for record in stopped:
        assert record.final is None and 1 <= len(record.intermediates) < EPOCHS  # stopped for real, curve kept
        assert record.failure_reason.startswith("score")
    assert all(len(r.intermediates) == EPOCHS for r in trained)
    best = exp.export_top_models(top_k=1, formatter="dict")[0]
    assert best == {"a": 2, "b": 0, "c": 1}  # the optimum of the toy space is never stopped
    used = sum(len(r.intermediates) for r in records)
    assert used < 0.6 * 27 * EPOCHS


def test_early_stopped_models_are_results_for_the_strategy_and_resume(tmp_path):
    exp = _run(tmp_path, stopper=ASHA(max_resource=EPOCHS, reduction_factor=2))
    models = exp.strategy.list_models()
    stopped = [m for m in models if m.status.value == "early_stopped"]
    assert stopped
    results = {tuple(sorted(r["sample"].items())): r for r in exp.strategy.results}
    for model in stopped:
        record = results[tuple(sorted(model.sample.items()))]
        assert record["status"] == "early_stopped"
        assert record["metric"] == max(model.metrics.intermediates)  # its best intermediate metric
    before = {r.id: (r.status, len(r.intermediates)) for r in exp.store.models()}
    resumed = NasExperiment.resume(exp.directory, run=False)
    resumed.config.max_trial_number = 27
    resumed.run()
    after = {r.id: (r.status, len(r.intermediates)) for r in resumed.store.models()}
    assert after == before  # every trial had a result: nothing re-run


def test_a_resumed_stopper_remembers_the_earlier_sessions(tmp_path):
    from nascore.early_stopping import EarlyStoppingMiddleware, MedianStop
    from nascore.testkit import FunctionEngine

    exp = _run(tmp_path, stopper={"name": "median", "grace_period": 2, "min_trials": 2})
    records = exp.store.models()
    stopper = MedianStop(grace_period=2, min_trials=2)
    middleware = EarlyStoppingMiddleware(FunctionEngine(lambda sample: 0.0), stopper)
    middleware.replay(records)  # what a resumed experiment does with the stored trials
    finished = [r for r in records if r.status in ("trained", "early_stopped")]
    assert stopper.state()["finished"] == len(finished) == 27
    worst = min(r.intermediates[1] for r in finished)
    assert stopper.report(1000, 2, worst - 1) is not None  # stopped against the replayed medians


@pytest.mark.slow
def test_median_stop_cancels_trials_on_the_ts_engine(tmp_path):
    from nascore.testkit import check_early_stopped_run, read_toy_log

    config = NasExperimentConfig("ts", "simplified", "local", max_trial_number=12, trial_concurrency=1,
                                 experiment_working_directory=str(tmp_path),
                                 early_stopping={"name": "median", "grace_period": 2, "min_trials": 2})
    log = str(tmp_path / "trials.log")
    exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=6, seconds_per_epoch=0.3, log=log), GridSearch(),
                        config)
    exp.run()
    check_early_stopped_run(exp, log, 6)
    # a stopped trial is cancelled inside its warm worker, which runs the next trial: one process for all
    assert len({t["pid"] for t in read_toy_log(log)}) == 1


def test_view_and_plot_show_early_stopped_trials_and_the_compute_saved(tmp_path):
    import json
    import subprocess
    import sys

    exp = _run(tmp_path)
    records = exp.store.models()
    stopped = [r for r in records if r.status == "early_stopped"]
    saved_steps = sum(EPOCHS - len(r.intermediates) for r in stopped)
    out = subprocess.run([sys.executable, "-m", "nascore", "view", str(exp.directory)], capture_output=True,
                         text=True, check=True).stdout
    assert f"early stopping: {len(stopped)} of 27 trial(s) stopped; {saved_steps} of {27 * EPOCHS} step(s) saved" in out
    assert out.count("early_stopped") >= len(stopped)
    rows = {cells[0]: cells for cells in map(str.split, out.splitlines())
            if len(cells) > 2 and cells[0].isdigit() and cells[1] in ("trained", "early_stopped")}
    for record in stopped:  # the metric column: its best reported metric @ the reports it ran (as the dashboard)
        assert rows[str(record.id)][2] == f"{max(record.intermediates):.6g}@{len(record.intermediates)}"
    data = json.loads(subprocess.run([sys.executable, "-m", "nascore", "view", str(exp.directory), "--json"],
                                     capture_output=True, text=True, check=True).stdout)
    assert data["early_stopping"]["steps_saved"] == saved_steps and data["early_stopping"]["full_steps"] == EPOCHS
    png = tmp_path / "plot.png"
    subprocess.run([sys.executable, "-m", "nascore", "plot", str(exp.directory), "-o", str(png)], check=True,
                   capture_output=True)
    assert png.stat().st_size > 1000
