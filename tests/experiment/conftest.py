"""Shared pieces for experiment tests: a tiny importable model space + evaluators, written to a folder on sys.path
(trial and subprocesses import it by name, like a user's own module)."""
import importlib
import textwrap

import pytest

TINY_SOURCE = textwrap.dedent('''
    import json
    import os
    import signal
    import sys
    import time

    import torch.nn as nn

    from nascore.mutable import Categorical, ensure_frozen
    from nascore.nn import ModelSpace
    from nascore.trial import report_intermediate_result


    class Tiny(ModelSpace):
        """12 models: width 1-4 x depth 1-3."""

        def __init__(self, scale: int = 1):
            super().__init__()
            self.width = ensure_frozen(Categorical([1, 2, 3, 4], label="width"))
            self.depth = ensure_frozen(Categorical([1, 2, 3], label="depth"))
            self.scale = scale
            self.lin = nn.Linear(self.width, 1)

        def forward(self, x):
            return self.lin(x)


    class DigitsTiny(ModelSpace):
        """A digits classifier with a searchable hidden width and dropout (random in training)."""

        def __init__(self):
            super().__init__()
            hidden = ensure_frozen(Categorical([8, 16], label="hidden"))
            self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, 10))

        def forward(self, x):
            return self.net(x)


    def digits_classification():
        """Classification with shuffled training batches: every random generator of a Lightning trial matters."""
        from torch.utils.data import DataLoader

        from nascore import trace
        from nascore.evaluator import Classification, digits_dataset
        train = trace(DataLoader)(trace(digits_dataset)("train", image=False), batch_size=64, shuffle=True)
        val = trace(DataLoader)(trace(digits_dataset)("val", image=False), batch_size=256)
        return Classification(train_dataloaders=train, val_dataloaders=val, max_epochs=1, learning_rate=0.01)


    def value_of(model):
        return float(model.width * 10 + model.depth) * model.scale


    def score(model, mode="ok"):
        if mode == "raise" and model.width == 2:
            raise RuntimeError("width 2 is broken")
        if mode == "nan" and model.width == 3:
            return float("nan")
        if mode == "silent" and model.width == 4:
            return None
        if mode == "interrupt" and model.width == 3:
            os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C
        if mode == "exit" and model.width == 3:
            sys.exit(3)  # user code ending "the program": fails this trial only
        if mode == "own_interrupt" and model.width == 3:
            raise KeyboardInterrupt  # raised by the code, not by a signal: fails this trial only
        report_intermediate_result(value_of(model) / 2)
        return value_of(model)


    def named(model):
        """Named metrics: the value, and a cost per layer of depth."""
        return {"default": value_of(model), "depth_cost": float(model.depth)}


    def named_only(model):
        """Named metrics without a "default" entry."""
        return {"val": value_of(model), "depth_cost": float(model.depth)}


    def imprint(model):
        """"Training" that leaves a mark: every weight becomes the model's metric (a fresh model has random ones)."""
        import torch
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.fill_(value_of(model))
        return value_of(model)


    def imprint_width(model):
        """Like imprint, for any format's model (a generated one has no .width): the mark is the input width."""
        import torch
        value = float(model.lin.in_features)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.fill_(value)
        return value


    def noisy(model):
        """A few SGD steps on random data: the metric depends on every random generator of the trial."""
        import torch
        x, y = torch.randn(32, model.width), torch.randn(32, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(5):
            loss = ((model.lin(x) - y) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return float(loss)


    def gated(model, log, gate, after):
        """Log every evaluation; from evaluation number `after` + 1 on, block until the file `gate` exists."""
        with open(log, "a") as f:
            f.write(json.dumps({"width": model.width, "depth": model.depth, "pid": os.getpid()}) + "\\n")
        with open(log) as f:
            count = sum(1 for _ in f)
        while count > after and not os.path.exists(gate):
            time.sleep(0.02)  # the workload: a trial that runs until the test lets it finish
        return value_of(model)
''')


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tinymod")
    (folder / "nascore_tinyexp.py").write_text(TINY_SOURCE)
    return folder


@pytest.fixture
def tiny(tiny_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(tiny_dir))
    importlib.invalidate_caches()
    return importlib.import_module("nascore_tinyexp")


@pytest.fixture
def workdir(tmp_path):
    return tmp_path / "experiments"


@pytest.fixture
def make_config(workdir):
    from nascore.experiment import NasExperimentConfig

    def make(*components, **fields):
        components = components or ("sequential", "simplified")
        fields.setdefault("experiment_working_directory", str(workdir))
        return NasExperimentConfig(*components, **fields)
    return make
