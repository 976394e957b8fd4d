"""Trained weights are kept by trials, bounded by keep_weights, and come back with export on every engine."""
import subprocess
import sys

import pytest
import torch

from nascore.cli import main
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.strategy import GridSearch
from nascore.weights import WeightsUnavailableError


def _assert_imprinted(module, value):
    assert all(torch.all(p == value) for p in module.parameters()), "export returned untrained weights"


@pytest.mark.parametrize("engine", ["sequential", "ts"])
def test_export_returns_trained_weights_and_keeps_only_the_best(tiny, make_config, capsys, engine):
    config = make_config(engine, "simplified", max_trial_number=6, keep_weights=2)
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.imprint), GridSearch(), config)
    exp.run()
    best, second = exp.export_top_models(2, "instance")
    _assert_imprinted(best, 23.0)  # width 2 depth 3 is the best of the first six grid points
    _assert_imprinted(second, 22.0)
    assert sorted(p.name for p in (exp.directory / "weights").iterdir()) == ["model_5.pt", "model_6.pt"]
    assert "trained weights of 2 model(s) kept" in capsys.readouterr().out
    with pytest.raises(WeightsUnavailableError, match=r"model #4 were not kept.*trained=False"):
        exp.export_top_models(3, "instance")
    third = exp.export_top_models(3, "instance", trained=False)[2]
    if engine == "ts":  # built afresh here (the sequential engine still holds the module it trained)
        assert not torch.all(third.lin.weight == 21.0)
    [model] = exp.export_top_models(1)
    assert model.weights_path.endswith("model_6.pt")


@pytest.mark.parametrize("model_format", ["simplified", "graph"])
def test_weights_survive_the_process_and_code_loads_them(tiny, tiny_dir, make_config, tmp_path, capsys,
                                                         model_format):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.imprint_width), GridSearch(),
                        make_config("sequential", model_format, keep_weights=1))
    exp.run()  # 12 models; the best is the first of width 4: #10
    again = NasExperiment.resume(exp.directory, run=False)
    _assert_imprinted(again.export_top_models(1, "instance")[0], 4.0)
    out = tmp_path / "code"
    capsys.readouterr()
    assert main(["export", str(exp.directory), "--formatter", "code", "-o", str(out)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["model_10.pt", "model_10.py"]
    script = f"import sys; sys.path.insert(0, {str(out)!r}); import model_10; m = model_10.load_trained(); " \
             "import torch; print(bool(all(torch.all(p == 4.0) for p in m.parameters())))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=str(tmp_path), env={"PYTHONPATH": str(tiny_dir), "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "True", result.stderr


def test_keep_weights_none_says_so(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.imprint), GridSearch(),
                        make_config(max_trial_number=2, keep_weights="none"))
    exp.run()
    assert not (exp.directory / "weights").exists()
    with pytest.raises(WeightsUnavailableError, match="were not kept"):
        exp.export_top_models(1, "instance")
    code_dir = exp.directory / "out"
    assert main(["export", str(exp.directory), "--formatter", "code", "-o", str(code_dir)]) in (0, 2)


@pytest.mark.parametrize("engine", ["sequential", "ts"])
def test_every_model_has_its_parameter_count_in_the_store_and_view(tiny, make_config, capsys, engine):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(engine, "simplified", max_trial_number=4))
    exp.run()
    records = exp.store.models()
    assert [r.profile["params"] for r in records] == [r.sample["width"] + 1.0 for r in records]  # Linear(width, 1)
    capsys.readouterr()
    assert main(["view", str(exp.directory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "params" in lines[1] and lines[2].split()[3] == "2"  # model #1: width 1 → 2 parameters
