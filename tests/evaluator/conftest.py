"""A user's own importable module for evaluator tests: written to disk and put on sys.path, the way a trial
process would import it."""
from __future__ import annotations

import pytest

USER_MODULE = '''
import torch
from torch import nn
import nascore
from nascore.trial import report_intermediate_result, report_final_result
from nascore.evaluator import Evaluator, LightningModule


def train_and_score(model, lr=0.1, epochs=2, tags=None):
    """Pretend training: one intermediate per epoch, the final metric depends on lr and the model."""
    out = model(torch.ones(1, 4)).sum().item()
    for epoch in range(epochs):
        report_intermediate_result(lr * (epoch + 1))
    report_final_result({"default": lr * 10, "out": out, "tags": len(tags or [])})


def returns_metric(model, value=0.5):
    return value


class TwoStep(Evaluator):
    def __init__(self, first, second=2, *rest, scale=1.0, **extra):
        self.values = (first, second, rest, scale, extra)

    def evaluate(self, model):
        return float(self.values[0])


class ScaledTwoStep(TwoStep):
    def __init__(self, factor, **kwargs):
        super().__init__(factor * 10, scale=factor, **kwargs)


class CustomModule(LightningModule):
    default_metric = "val_neg_loss"

    def __init__(self, lr=0.05):
        super().__init__()
        self.lr = lr

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self(x).squeeze(-1), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_neg_loss", -nn.functional.mse_loss(self(x).squeeze(-1), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)
'''


@pytest.fixture()
def user_module(importable_module):
    return importable_module(USER_MODULE)
