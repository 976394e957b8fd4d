"""Early stopping on Ray, end to end (the session's two-node cluster): a stopped trial's actor is killed and its
slot takes the next trial in a new actor, the model ends early_stopped with its curve, the strategy scores it by
its best intermediate metric, and a resume never re-runs it."""
import pytest

from nascore.experiment import NasExperiment
from nascore.strategy import GridSearch
from nascore.testkit import ToySpace, check_early_stopped_run, read_toy_log, toy_curve_evaluator

from ray_helpers import ray_config, run_bounded

pytestmark = pytest.mark.slow
EPOCHS = 6


def test_early_stopping_kills_the_trial_actor_and_frees_its_slot(ray_cluster, tmp_path):
    config = ray_config(tmp_path / "runs", ray_cluster.address, trial_concurrency=1,
                        max_trial_number=6,
                        early_stopping={"name": "asha", "max_resource": EPOCHS, "reduction_factor": 2})
    log = tmp_path / "trials.log"  # the cluster's nodes are on this host: the trials write where the test reads
    exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=EPOCHS, seconds_per_epoch=0.2, log=str(log)),
                        GridSearch(), config)
    assert run_bounded(exp) == "done"
    stopped = check_early_stopped_run(exp, str(log), EPOCHS)
    trials = read_toy_log(str(log))
    assert len(trials) == 6
    stopped_pids = {t["pid"] for t in trials if not t["ended"]}
    assert len(stopped_pids) == len(stopped)  # a stopped trial's actor is killed: no later trial runs in it
    assert all(r.worker and "pid" in r.worker for r in exp.store.models())

    before = {r.id: (r.status, r.intermediates, r.log_path) for r in exp.store.models()}
    resumed = NasExperiment.resume(exp.directory, run=False)
    assert run_bounded(resumed) == "done"
    assert {r.id: (r.status, r.intermediates, r.log_path) for r in resumed.store.models()} == before
    assert len(read_toy_log(str(log))) == 6  # nothing re-ran
