"""Lightning, Classification and Regression evaluators on small CPU workloads."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import nascore
from nascore.evaluator import Classification, Evaluator, Lightning, Regression, Trainer
from nascore.evaluator.data import digits_dataset
from nascore.mutable import Categorical
from nascore.trial import TrialContext, trial_context


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so a stray lightning_logs/ or checkpoint would show up here
    return tmp_path


def digits_loaders(batch_size=64):
    train = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("train"), batch_size=batch_size, shuffle=True)
    val = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("val"), batch_size=256)
    return train, val


def tiny_cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 16, 10))


def collect(evaluator, model):
    intermediates, finals = [], []
    with trial_context(TrialContext(intermediates.append, finals.append)):
        returned = evaluator.evaluate(model)
    return intermediates, finals, returned


def test_classification_on_digits_reports_each_epoch(in_tmp_dir):
    torch.manual_seed(0)
    train, val = digits_loaders()
    evaluator = Classification(learning_rate=1e-2, train_dataloaders=train, val_dataloaders=val, max_epochs=2)
    intermediates, finals, returned = collect(evaluator, tiny_cnn())
    assert len(intermediates) == 2 and all(isinstance(v, float) for v in intermediates)
    assert finals == [intermediates[-1]] and returned == finals[0]
    assert finals[0] > 0.5  # chance is 0.1
    assert list(in_tmp_dir.iterdir()) == []  # nothing written to the working directory


def test_classification_payload_round_trips_and_trains(in_tmp_dir):
    torch.manual_seed(0)
    train, val = digits_loaders()
    evaluator = Classification(learning_rate=1e-2, weight_decay=1e-4, optimizer=torch.optim.AdamW,
                               train_dataloaders=train, val_dataloaders=val, max_epochs=1,
                               limit_train_batches=10, num_classes=10)
    payload = json.loads(json.dumps(evaluator.to_payload()))
    assert payload["evaluator"] == "nascore.evaluator.classification:Classification"
    assert payload["kwargs"]["optimizer"] == {"__symbol__": "torch.optim.adamw:AdamW"}
    assert payload["kwargs"]["limit_train_batches"] == 10
    rebuilt = Evaluator.from_payload(payload)
    assert type(rebuilt) is Classification and rebuilt == evaluator
    assert rebuilt.trainer.limit_train_batches == 10 and rebuilt.module.learning_rate == 1e-2
    intermediates, finals, _ = collect(rebuilt, tiny_cnn())
    assert len(intermediates) == 1 and 0.3 < finals[0] <= 1.0


def test_same_evaluator_trains_each_model_afresh():
    torch.manual_seed(0)
    train, val = digits_loaders()
    evaluator = Classification(learning_rate=1e-2, train_dataloaders=train, val_dataloaders=val, max_epochs=1,
                               limit_train_batches=5)
    first = collect(evaluator, tiny_cnn())
    second = collect(evaluator, tiny_cnn())  # a reused Lightning trainer would skip training entirely
    assert len(first[0]) == 1 and len(second[0]) == 1
    assert evaluator.module.model is None  # the evaluator's own module is never touched


def test_classification_with_a_learning_rate_choice():
    train, val = digits_loaders()
    evaluator = Classification(learning_rate=Categorical([1e-2, 1e-4], label="lr"), train_dataloaders=train,
                               val_dataloaders=val, max_epochs=1, limit_train_batches=5)
    assert list(evaluator.simplify()) == ["lr"]
    with pytest.raises(RuntimeError, match=r"still has choices \['lr'\]"):
        evaluator.evaluate(tiny_cnn())
    frozen = evaluator.freeze({"lr": 1e-2})
    assert frozen.module.learning_rate == 1e-2 and frozen.trace_kwargs["learning_rate"] == 1e-2
    assert Evaluator.from_payload(evaluator.to_payload()).freeze({"lr": 1e-2}) == frozen
    intermediates, finals, _ = collect(frozen, tiny_cnn())
    assert len(intermediates) == 1 and finals == intermediates


def regression_loaders():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 3, generator=generator)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3
    train = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(x[400:], y[400:]), batch_size=112)
    return train, val, float(y[400:].var())


def test_regression_reports_validation_mse():
    torch.manual_seed(0)
    train, val, variance = regression_loaders()
    evaluator = Regression(learning_rate=0.1, train_dataloaders=train, val_dataloaders=val, max_epochs=5)
    intermediates, finals, _ = collect(evaluator, nn.Linear(3, 1))
    assert len(intermediates) == 5 and finals == [intermediates[-1]]
    assert intermediates[-1] < intermediates[0]  # the error goes down: lower is better
    assert finals[0] < 0.1 * variance  # far better than predicting the mean
    # untraced loaders work in process but cannot travel; the error says which argument
    with pytest.raises(TypeError, match="^evaluator argument train_dataloaders: a DataLoader built without"):
        evaluator.check_serializable()


def test_lightning_with_a_custom_module(user_module):
    torch.manual_seed(0)
    train, val, _ = regression_loaders()
    module = nascore.trace(user_module.CustomModule)(lr=0.05)
    evaluator = Lightning(module, Trainer(max_epochs=2), train_dataloaders=train, val_dataloaders=val)
    intermediates, finals, _ = collect(evaluator, nn.Linear(3, 1))
    assert len(intermediates) == 2 and finals == [intermediates[-1]] and finals[0] < 0

    with pytest.raises(TypeError, match=r"nascore.evaluator.Trainer\(...\)"):
        import pytorch_lightning as pl
        Lightning(module, pl.Trainer(logger=False), train_dataloaders=train)
    with pytest.raises(ValueError, match="needs train_dataloaders or a datamodule"):
        Lightning(module, Trainer(max_epochs=1))


def test_missing_default_metric_is_reported_clearly(user_module):
    train, _, _ = regression_loaders()
    module = user_module.CustomModule()  # untraced: each model gets a deep copy
    evaluator = Lightning(module, Trainer(max_epochs=1, limit_train_batches=2), train_dataloaders=train)
    with pytest.raises(RuntimeError, match="logged no metric named 'val_neg_loss'"):
        collect(evaluator, nn.Linear(3, 1))


def test_trainer_defaults_are_quiet_and_traced():
    trainer = Trainer(max_epochs=1)
    assert isinstance(trainer, Trainer) and trainer.logger is None and trainer.checkpoint_callback is None
    assert trainer.num_sanity_val_steps == 0
    assert nascore.trace(Trainer) is Trainer


def test_evaluators_pickle_and_copy_by_recipe():
    import copy
    import pickle
    train, val = digits_loaders()
    evaluator = Classification(train_dataloaders=train, val_dataloaders=val, max_epochs=1)
    for clone in (pickle.loads(pickle.dumps(evaluator)), copy.deepcopy(evaluator)):
        assert type(clone) is Classification and clone == evaluator and clone.trainer is not evaluator.trainer
        assert isinstance(clone.trainer, Trainer) and clone.trainer.max_epochs == 1
