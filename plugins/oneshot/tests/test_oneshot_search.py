"""End-to-end: DARTS and RandomOneShot pick the useful candidate; inherited weights match the supernet."""
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from nascore import nn as nnn
from nascore_oneshot import DARTS, RandomOneShot, SupernetData, SupernetTrainer
from oneshot_xor import XorNet, xor_data as _data, xor_loader


def _check_inherited(space, trainer, sample):
    frozen = space.freeze(sample)
    assert not any(isinstance(m, nnn.LayerChoice) for m in frozen.modules())
    x = torch.randn(16, 8)
    trainer.context.mode, trainer.context.sample = "sample", sample
    space.eval()
    frozen.eval()
    assert torch.allclose(frozen(x), space(x))


def test_darts_picks_the_useful_candidate_and_inherits_weights():
    torch.manual_seed(0)
    space = XorNet()
    trainer = SupernetTrainer(space, _data(), "darts", arch_learning_rate=3e-2, seed=0)
    trainer.fit()
    sample, scores = trainer.export()
    assert sample == {"body": 1}
    probs = torch.softmax(trainer.context.alphas["body"], -1)
    assert probs[1] > probs[0]
    assert len(trainer.curve) == 8 and trainer.curve[-1]["default"] > 0.8
    _check_inherited(space, trainer, sample)


def test_random_oneshot_evaluates_subnets_and_picks_the_useful_one():
    torch.manual_seed(0)
    space = XorNet()
    trainer = SupernetTrainer(space, _data(), "random", seed=0)
    trainer.fit()
    sample, scores = trainer.export()
    assert sample == {"body": 1}
    assert len(scores) == 2  # the whole (tiny) space was evaluated
    assert scores[repr([("body", 1)])] > scores[repr([("body", 0)])] + 0.2
    _check_inherited(space, trainer, sample)


@pytest.mark.slow
def test_experiment_records_the_run_and_exports_inherited_instance(tmp_path):
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import Classification

    for strategy in (DARTS(arch_learning_rate=3e-2, seed=0), RandomOneShot(seed=0)):
        torch.manual_seed(0)
        evaluator = Classification(train_dataloaders=xor_loader(1024, 0), val_dataloaders=xor_loader(512, 1),
                                   learning_rate=1e-2, max_epochs=6)
        space = XorNet()
        config = NasExperimentConfig(experiment_working_directory=str(tmp_path))
        exp = NasExperiment(space, evaluator, strategy, config=config)
        assert exp.run() == "done"
        assert exp.export_top_models(formatter="dict") == [{"body": 1}]
        model = exp.list_models()[0]
        assert len(model.metrics.intermediates) == 6
        assert model.metric > 0.65  # chance is 0.5
        instance = exp.export_top_models(formatter="instance")[0]
        assert isinstance(instance, nn.Module) and not isinstance(instance.body, nnn.LayerChoice)
        # the instance holds the supernet's weights: same tensors as the supernet's chosen candidate
        assert torch.equal(instance.body[0].weight, space.body[1][0].weight)
        assert (tmp_path / exp.id / "strategy" / "supernet.pt").is_file()
        # reopened elsewhere with an untrained space: the exported subnet still has the trained weights
        again = NasExperiment.resume(tmp_path / exp.id, XorNet(), evaluator, type(strategy)(seed=0), run=False)
        reopened = again.export_top_models(formatter="instance")[0]
        assert torch.equal(reopened.body[0].weight, space.body[1][0].weight)


def test_strategy_resumes_from_its_checkpoint(tmp_path):
    """A second strategy pointed at the same checkpoint directory continues at the saved epoch."""
    from nascore_raw import RawModelSpace
    from nascore_sequential.engine import SequentialExecutionEngine

    torch.manual_seed(0)
    data = _data(epochs=2)
    first = RandomOneShot(checkpoint_dir=str(tmp_path), seed=0)
    first(RawModelSpace.from_model(XorNet(), data), SequentialExecutionEngine())
    state = first.state_dict()
    assert state["epoch"] == 2 and state["checkpoint"] == str(tmp_path / "supernet.pt")
    data.max_epochs = 3
    resumed = RandomOneShot(seed=0)
    resumed.load_state_dict(state)
    engine = SequentialExecutionEngine()
    resumed(RawModelSpace.from_model(XorNet(), data), engine)
    assert resumed.trainer.epoch == 3
    assert resumed.trainer.curve[:2] == first.trainer.curve  # the first two epochs came from the checkpoint
    model = engine.list_models()[0]
    assert len(model.metrics.intermediates) == 3 and model.metric is not None


def test_supernet_trains_where_the_evaluator_says():
    from nascore.evaluator import Classification
    from nascore_oneshot.data import device_for

    loader = xor_loader(64, 0)
    assert SupernetData.from_evaluator(Classification(train_dataloaders=loader, accelerator="cpu")).device == "cpu"
    # Lightning's default "auto": the GPU when there is one, as a multi-trial candidate would get
    auto = SupernetData.from_evaluator(Classification(train_dataloaders=loader)).device
    assert auto == ("cuda" if torch.cuda.is_available() else None)
    with pytest.raises(ValueError, match="accelerator='tpu'"):
        device_for("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            device_for("gpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("algorithm", ["darts", "random"])
def test_supernet_trains_on_the_gpu_and_exports_from_there(algorithm):
    torch.manual_seed(0)
    data = _data(epochs=4)
    data.device = "cuda"
    space = XorNet()
    trainer = SupernetTrainer(space, data, algorithm, seed=0)
    trainer.fit()
    assert all(p.is_cuda for p in space.parameters())
    assert all(a.is_cuda for a in trainer.context.arch_parameters())
    sample, _ = trainer.export()
    frozen = space.freeze(sample).eval()
    x = torch.randn(16, 8, device="cuda")
    trainer.context.mode, trainer.context.sample = "sample", sample
    space.eval()
    assert torch.allclose(frozen(x), space(x))


class ProductNet(nnn.ModelSpace):
    """Regression of x0 * x1: the identity candidate leaves a linear head, which cannot fit a product."""

    def __init__(self):
        super().__init__()
        self.body = nnn.LayerChoice({"identity": nn.Identity(),
                                     "mlp": nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 4))},
                                    label="body")
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.body(x))


def _product_loader(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, x[:, 0] * x[:, 1]), batch_size=64, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["darts", "random"])
def test_regression_evaluator_minimises_mse_and_picks_the_useful_candidate(tmp_path, strategy):
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import Regression

    torch.manual_seed(0)
    evaluator = Regression(train_dataloaders=_product_loader(1024, 0), val_dataloaders=_product_loader(512, 1),
                           learning_rate=1e-2, max_epochs=30)  # half the paths skip the MLP: it needs the epochs
    chosen = DARTS(arch_learning_rate=3e-2, seed=0) if strategy == "darts" else RandomOneShot(seed=0)
    exp = NasExperiment(ProductNet(), evaluator, chosen,
                        config=NasExperimentConfig(experiment_working_directory=str(tmp_path)))
    assert exp.run() == "done"
    assert exp.export_top_models(formatter="dict") == [{"body": "mlp"}]
    [model] = exp.list_models()
    # the final metric is the exported subnet's validation MSE (the target's variance is 1)
    assert model.metric < 0.5
    if strategy == "random":
        scores = chosen.trainer.export()[1]
        assert scores[repr([("body", "mlp")])] < scores[repr([("body", "identity")])] - 0.3
