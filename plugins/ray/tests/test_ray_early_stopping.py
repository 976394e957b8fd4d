"""Early stopping on Ray, end to end (the session's two-node cluster): a stopped trial ends inside its actor, which
stays warm and takes the next trial, the model ends early_stopped with its curve, the strategy scores it by
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
    assert len(stopped) >= 2
    # a stopped trial ends at the report it was stopped on, inside its actor, which stays warm for the next trial
    assert len({t["pid"] for t in trials}) == 1
    assert all(t["epochs"] == len(r.intermediates) for r in stopped for t in trials
               if t["sample"] == ",".join(str(r.sample[k]) for k in "abc"))
    assert all(r.worker and "pid" in r.worker for r in exp.store.models())

    before = {r.id: (r.status, r.intermediates, r.log_path) for r in exp.store.models()}
    resumed = NasExperiment.resume(exp.directory, run=False)
    assert run_bounded(resumed) == "done"
    assert {r.id: (r.status, r.intermediates, r.log_path) for r in resumed.store.models()} == before
    assert len(read_toy_log(str(log))) == 6  # nothing re-ran


def test_a_cancelled_trial_ends_at_its_next_report_or_loses_its_actor(ray_cluster, tmp_path):
    import time

    from nascore.conformance import ConformanceModel
    from nascore.space import ModelStatus
    from nascore_training_service.engine import TrainingServiceEngine
    engine = TrainingServiceEngine(ray_config(tmp_path, ray_cluster.address, trial_concurrency=1))
    engine.log_directory = tmp_path / "trials"

    def started(model):
        engine.submit_models(model)
        deadline = time.monotonic() + 90
        while not model.metrics.intermediates:  # bounded: the trial's first report
            assert time.monotonic() < deadline, "the trial never reported"
            engine.wait_models(model, timeout=0.05)

    def pid(model):
        return model.worker.rsplit("pid ", 1)[1].rstrip(")")

    try:
        gate = tmp_path / "gate"
        heard = ConformanceModel({"x": 1, "gate": str(gate)}, "ray_trials:steps")
        started(heard)
        assert engine.cancel_model(heard, "stopped early")
        gate.touch()  # the trial reports again: it ends there, in its actor
        assert engine.wait_models(heard, timeout=30)
        assert (heard.status, heard.failure_reason, heard.metrics.intermediates) == \
            (ModelStatus.Interrupted, "stopped early", [1])
        deaf = ConformanceModel({"x": 2, "gate": str(tmp_path / "never")}, "ray_trials:steps")
        started(deaf)
        assert pid(deaf) == pid(heard)  # the same, warm actor
        cancelled = time.monotonic()
        assert engine.cancel_model(deaf, "stopped early")  # it never reports again: its actor is killed
        assert engine.wait_models(deaf, timeout=30) and time.monotonic() - cancelled < 15
        assert (deaf.status, deaf.failure_reason) == (ModelStatus.Interrupted, "stopped early")
        after = ConformanceModel({"x": 3}, "ray_trials:steps")
        engine.submit_models(after)
        assert engine.wait_models(after, timeout=90) and after.status is ModelStatus.Trained
        assert pid(after) != pid(deaf)  # a new actor
    finally:
        engine.shutdown()
