"""Strategy state is stored as JSON data: resume never unpickles anything from a store (issue 14 item 3)."""
import base64
import logging
import os
import pickle

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.strategy import Random


class _Planted:
    """Unpickling this runs code: it would create the file named by ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_state_that_is_not_json_is_refused(tmp_path):
    store = ExperimentStore.create(tmp_path / "exp")
    with pytest.raises(TypeError, match="JSON data"):
        store.save_strategy_state({"rng": object()})
    store.save_strategy_state({"rng": (1, 2), "x": [0.5, None]})
    assert store.strategy_state() == {"rng": [1, 2], "x": [0.5, None]}


def test_resume_from_a_store_holding_a_pickle_runs_no_code(tiny, make_config, tmp_path, caplog):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=3), make_config(max_trial_number=3))
    assert exp.run() == "done"
    marker = tmp_path / "pwned"
    payload = base64.b64encode(pickle.dumps({"state": _Planted(str(marker))})).decode("ascii")
    with ExperimentStore.create(exp.directory) as store:  # someone else's store: a planted pickle payload
        store.set_meta("strategy_state", {"pickle": payload})
        before = {r.id: r.final for r in store.models()}

    with caplog.at_level(logging.WARNING):
        resumed = NasExperiment.resume(exp.directory, config=make_config(max_trial_number=5), run=False)
        assert resumed.run() == "done"
    assert not marker.exists()
    assert "never unpickled" in caplog.text
    with ExperimentStore.open(exp.directory) as store:
        records = store.models()
        assert {r.id: r.final for r in records if r.id in before} == before  # finished models kept, not re-run
        assert len(records) == 5 and len({tuple(sorted(r.sample.items())) for r in records}) == 5
        assert "json" in store.get_meta("strategy_state")  # the run saved its state as JSON again
