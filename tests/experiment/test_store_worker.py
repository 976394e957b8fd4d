"""Where each trial ran is recorded with its model, shown by ``nascore view --json``, and older stores gain it."""
import json
import os
import sqlite3

from nascore.cli import main
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.strategy import GridSearch


def _width(model):
    return float(model.width)


def test_sequential_trials_record_this_process(tiny, make_config, capsys):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(_width), GridSearch(), make_config())
    exp.run()
    records = exp.store.models()
    assert records and {r.worker for r in records} == {f"this process (pid {os.getpid()})"}
    capsys.readouterr()  # the run's own output
    assert main(["view", str(exp.directory), "--json"]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert [m["worker"] for m in models] == [r.worker for r in records]


def test_store_records_the_worker_and_a_rerun_forgets_it(tmp_path):
    store = ExperimentStore.create(tmp_path / "exp")
    first, second = store.add_model({"x": 1}), store.add_model({"x": 2})
    store.set_worker(first, "alice@gpu1:22")
    store.end_model(first, "trained")  # no worker given: the recorded one stays
    store.end_model(second, "failed", "boom", worker="local (pid 42)")
    assert [r.worker for r in store.models()] == ["alice@gpu1:22", "local (pid 42)"]
    store.restart_model(first, session=2)  # a re-run may land elsewhere
    assert store.model(first).worker is None


def test_a_store_written_before_workers_were_recorded(tmp_path):
    directory = tmp_path / "old"
    with ExperimentStore.create(directory) as store:
        store.end_model(store.add_model({"x": 1}), "trained")
    conn = sqlite3.connect(directory / "nascore.db")
    conn.execute("ALTER TABLE models DROP COLUMN worker")  # the schema before this column existed
    conn.commit()
    conn.close()
    with ExperimentStore.open(directory) as store:  # read-only: no migration, the worker is unknown
        assert store.model(1).worker is None and store.models()[0].to_json()["worker"] is None
    with ExperimentStore.create(directory) as store:  # a writer (resume) adds the column
        store.set_worker(1, "node 10.0.0.7")
        assert store.model(1).worker == "node 10.0.0.7"
