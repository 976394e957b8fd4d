"""Several objectives, costs and constraints: the best regressors for their size, in this process.

The loss is maximised as -MSE (the evaluator's metric, "default") and the parameter count minimised ("params",
measured by the built-in profiler before each trial, no training needed). Models over 5,000 parameters are
rejected before training: they cost no trial. NSGA-II searches; the Pareto front comes out of the API, and out
of `nascore view DIR --pareto`, `nascore export DIR --pareto` and `nascore plot DIR --pareto -o front.png`.
"""
import torch
from torch import nn

import nascore
from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.mutable import Categorical
from nascore.nn import LayerChoice, Linear, ModelSpace, Repeat
from nascore.strategy import NSGA2


class Net(ModelSpace):
    def __init__(self):
        super().__init__()
        width = Categorical([4, 8, 16, 32, 64], label="width")
        self.stem = Linear(4, width)
        self.body = Repeat(lambda i: nn.Sequential(Linear(width, width),
                                                   LayerChoice([nn.Tanh(), nn.ReLU()], label=f"act{i}")),
                           (1, 3), label="depth")
        self.head = Linear(width, 1)

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


def fit(model, steps=50):
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, :1] * x[:, 1:2]).tanh()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    nascore.report_final_result(-loss.item())


config = NasExperimentConfig("sequential", "simplified", max_trial_number=12,
                             objectives={"default": "max", "params": "min"},
                             constraints=["params <= 5000"],
                             profilers=["flops"], profile_input_shape=[1, 4])
exp = NasExperiment(Net(), FunctionalEvaluator(fit), NSGA2(seed=0, population_size=4), config)
exp.run()
print("Pareto front (-MSE, params, MACs):")
for model in exp.pareto_front():
    profile = model.metrics.profile
    print(f"  #{model.model_id}: {model.metric:.4f}  {profile['params']:.0f}  {profile['macs']:.0f}  {model.sample}")
print(f"store: {exp.directory}")
