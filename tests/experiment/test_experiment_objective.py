"""The objective (metric name + direction) comes from the evaluator and drives export, view, plot and strategies."""
import json

import pytest
import torch

from nascore.cli import main
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.metric import Objective, ObjectiveConflictError
from nascore.strategy import GridSearch, RegularizedEvolution


def _error_of(model):
    """Lower is better: the (1, 1) model is best."""
    return float(model.width * 10 + model.depth)


def test_evaluator_direction_drives_export_view_and_plot(tiny, make_config, capsys, tmp_path):
    evaluator = FunctionalEvaluator(_error_of, objective=("err", "min"))
    exp = NasExperiment(tiny.Tiny(), evaluator, GridSearch(), make_config())  # no metric_direction anywhere
    assert exp.objective == Objective("err", "min")
    exp.run()
    assert exp.export_top_models(2, "dict") == [{"width": 1, "depth": 1}, {"width": 1, "depth": 2}]
    assert "best metric 11" in capsys.readouterr().out  # the run summary ranks by the same objective
    with ExperimentStore.open(exp.directory) as store:
        assert store.objective() == Objective("err", "min")
    assert main(["export", str(exp.directory), "--top-k", "1"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["sample"] == {"width": 1, "depth": 1}
    assert main(["view", str(exp.directory)]) == 0
    out = capsys.readouterr().out
    assert "err" in out.splitlines()[1] and "best: #1 err=11 (lower is better)" in out
    assert main(["view", str(exp.directory), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["objective"] == {"name": "err", "mode": "min"}
    assert main(["plot", str(exp.directory), "-o", str(tmp_path / "p.png")]) == 0


def test_config_contradicting_the_evaluator_is_reported_up_front(tiny, make_config):
    evaluator = FunctionalEvaluator(_error_of, objective="min")
    with pytest.raises(ObjectiveConflictError, match="metric_direction='maximize'"):
        NasExperiment(tiny.Tiny(), evaluator, GridSearch(), make_config(metric_direction="max"))
    agreeing = NasExperiment(tiny.Tiny(), evaluator, GridSearch(), make_config(metric_direction="minimize"))
    assert agreeing.objective.mode == "min"


def test_evolution_follows_the_evaluator_direction(tiny, make_config):
    strategy = RegularizedEvolution(population_size=3, sample_size=3, seed=0)
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(_error_of, objective="min"), strategy,
                        make_config(max_trial_number=12))
    exp.run()
    assert strategy.objective.mode == "min" and strategy.metric_direction == "minimize"
    assert [m.sample for m in strategy.list_models()][0] == {"width": 1, "depth": 1}


def test_builtin_evaluators_declare_their_objective():
    from nascore.evaluator import Classification, LightningModule, Regression
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 2), torch.zeros(4)))
    assert Classification(train_dataloaders=loader).objective == Objective("val_acc", "max")
    assert Regression(train_dataloaders=loader).objective == Objective("val_mse", "min")
    assert LightningModule.objective() == Objective("val_loss", "min")

    class F1Module(LightningModule):
        default_metric = "val_f1"

    class OddModule(LightningModule):
        default_metric = "val_thing"

    class OddMaxModule(OddModule):
        metric_mode = "max"

    assert F1Module.objective() == Objective("val_f1", "max")
    assert OddModule.objective() is None  # no guess: the config's metric_direction decides (default max)
    assert OddMaxModule.objective() == Objective("val_thing", "max")


def _report_then_crash(model):
    from nascore.trial import report_final_result
    report_final_result(1000.0 if model.width == 2 else float(model.width))
    if model.width == 2:
        raise RuntimeError("crashed after reporting")


def test_failed_models_are_never_ranked_even_with_a_final_metric(tiny, make_config, capsys):
    strategy = GridSearch()
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(_report_then_crash), strategy, make_config())
    exp.run()
    failed = exp.list_models("failed")
    assert len(failed) == 3 and all(m.metrics.final == 1000.0 for m in failed)  # kept, but not ranked
    assert "best metric 4" in capsys.readouterr().out
    assert exp.export_top_models(1, "dict") == [{"width": 4, "depth": 1}]
    assert all(m.sample["width"] != 2 for m in exp.export_top_models(12))
    assert strategy.list_models()[0].sample["width"] == 4
    assert main(["view", str(exp.directory)]) == 0
    assert "best: #10 metric=4" in capsys.readouterr().out


def _bad_return(model, kind):
    if model.width != 2:
        return float(model.width)
    return {"tensor": torch.tensor(0.5), "string": "0.5", "bool": True, "inf": float("inf"),
            "dict_inf": {"default": float("-inf")}}[kind]


@pytest.mark.parametrize("kind", ["tensor", "string", "bool", "inf", "dict_inf"])
def test_unusable_final_metrics_fail_the_trial_with_a_reason(tiny, make_config, capsys, kind):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(_bad_return, kind=kind), GridSearch(), make_config())
    exp.run()
    failed = exp.list_models("failed")
    assert sorted(m.sample["width"] for m in failed) == [2, 2, 2]
    reason = failed[0].failure_reason
    if kind in ("inf", "dict_inf"):  # recorded as reported, never ranked
        assert reason.startswith("no usable final metric: the final metric") and "inf" in reason
        assert "(3 without a usable final metric)" in capsys.readouterr().out
    else:
        assert reason.startswith(f"TypeError: trial #{failed[0].model_id}: the evaluator returned")
        assert {"tensor": "value.item()", "string": "float(text)", "bool": "(bool)"}[kind] in reason
    assert exp.export_top_models(1, "dict") == [{"width": 4, "depth": 1}]


def _report_numpy_and_tensor(model):
    import numpy as np
    from nascore.trial import report_final_result, report_intermediate_result
    report_intermediate_result(np.float32(0.25))
    if model.width == 1:
        report_intermediate_result(torch.tensor(1.0))
    report_final_result(np.int64(model.width))


def test_numpy_numbers_are_plain_metrics_and_tensors_name_the_trial(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(_report_numpy_and_tensor), GridSearch(), make_config())
    exp.run()
    by_width = {m.sample["width"]: m for m in exp.list_models()}
    assert by_width[3].status.value == "trained" and by_width[3].metrics.final == 3
    assert type(by_width[3].metrics.final) is int and type(by_width[3].metrics.intermediates[0]) is float
    bad = by_width[1]
    assert bad.status.value == "failed"
    assert f"trial #{bad.model_id} reported an invalid intermediate metric" in bad.failure_reason
