"""The README's example: a tiny space searched in this process with the sequential engine."""
import torch
from torch import nn

import nascore
from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.mutable import Categorical
from nascore.nn import LayerChoice, Linear, ModelSpace, Repeat
from nascore.strategy import Random


class Net(ModelSpace):
    def __init__(self):
        super().__init__()
        width = Categorical([8, 16], label="width")
        self.stem = Linear(4, width)
        self.body = Repeat(lambda i: LayerChoice([nn.Identity(), nn.Tanh(), nn.ReLU()], label=f"act{i}"), (1, 3),
                           label="depth")
        self.head = Linear(width, 1)

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


def fit(model, steps=60):
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, :1] * x[:, 1:2]).tanh()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(steps):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        if step % 20 == 19:
            nascore.report_intermediate_result(loss.item())
    nascore.report_final_result(loss.item())           # a loss: the evaluator says lower is better


config = NasExperimentConfig("sequential", "simplified", max_trial_number=10)   # in this process
exp = NasExperiment(Net(), FunctionalEvaluator(fit, objective=("mse", "min")), Random(seed=1), config)
exp.run()
print(exp.export_top_models(top_k=2, formatter="dict"))
