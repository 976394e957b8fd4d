"""Early stopping: compute saved on a real training workload, and how fast a stopped trial frees its slot.

Workload: an MLP space on scikit-learn's digits (width, depth, activation, learning rate), ``TRIALS`` trials of
``EPOCHS`` epochs each, one validation accuracy per epoch, the same random samples for every run (``Random``
does not read results). Run side by side in this process (sequential engine): full training, ASHA
(``max_resource=EPOCHS``, reduction factor 3) and MedianStop (grace period 3). Per run: best validation accuracy of
a fully trained model, points below full training, epochs used as a fraction of full training.
Targets: ASHA within 1 point using <= 35% of the epochs, MedianStop within 1 point using <= 60%.

Slot: on the ts engine with the local, remote (a real sshd on 127.0.0.1) and Ray (a private instance) services,
``trial_concurrency=1``, trials of 30 x 0.1 s epochs: seconds from the stopper's decision to the next trial's first
line of code, as the trial logs it (target <= 1 s). ``python -m benchmarks early_stopping``.
"""
from __future__ import annotations

import tempfile
import time
from typing import Any, Dict, List

EPOCHS = 20
TRIALS = 27
SEED = 0
SLOT_TRIALS = 12
_DATA: Dict[str, Any] = {}


def _digits():
    if not _DATA:
        import torch
        from sklearn.datasets import load_digits
        x, y = load_digits(return_X_y=True)
        generator = torch.Generator().manual_seed(0)
        order = torch.randperm(len(x), generator=generator)
        x = torch.tensor(x, dtype=torch.float32)[order] / 16.0
        y = torch.tensor(y)[order]
        _DATA.update(train=(x[:1200], y[:1200]), valid=(x[1200:], y[1200:]))
    return _DATA["train"], _DATA["valid"]


def train_mlp(model: Any, epochs: int = EPOCHS) -> float:
    """Minibatch SGD with momentum; validation accuracy (percent) reported after every epoch."""
    import torch

    from nascore.trial import report_final_result, report_intermediate_result
    torch.manual_seed(0)
    (x, y), (vx, vy) = _digits()
    optimizer = torch.optim.SGD(model.parameters(), lr=model.lr, momentum=0.9)
    accuracy = 0.0
    for _ in range(epochs):
        model.train()
        for start in range(0, len(x), 64):
            loss = torch.nn.functional.cross_entropy(model(x[start:start + 64]), y[start:start + 64])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = 100.0 * (model(vx).argmax(1) == vy).float().mean().item()
        report_intermediate_result(accuracy)
    report_final_result(accuracy)
    return accuracy


def _space():
    import torch.nn as tnn

    import nascore.nn as nn
    from nascore.mutable import Categorical, ensure_frozen

    class DigitsMLP(nn.ModelSpace):
        def __init__(self):
            super().__init__()
            width = ensure_frozen(Categorical([8, 16, 32, 64], label="width"))
            depth = ensure_frozen(Categorical([1, 2, 3], label="depth"))
            act = {"relu": tnn.ReLU, "tanh": tnn.Tanh, "sigmoid": tnn.Sigmoid}[
                ensure_frozen(Categorical(["relu", "tanh", "sigmoid"], label="act"))]
            self.lr = ensure_frozen(Categorical([0.001, 0.003, 0.01, 0.03, 0.1], label="lr"))
            layers, size = [], 64
            for _ in range(depth):
                layers += [tnn.Linear(size, width), act()]
                size = width
            self.body = tnn.Sequential(*layers, tnn.Linear(size, 10))

        def forward(self, x):
            return self.body(x)

    return DigitsMLP


DigitsMLP = None  # built on first use so `python -m benchmarks` imports no torch until it runs this benchmark


def _experiment(stopper: Any, directory: str):
    global DigitsMLP
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import FunctionalEvaluator
    from nascore.strategy import Random
    if DigitsMLP is None:
        DigitsMLP = _space()
        DigitsMLP.__module__, DigitsMLP.__qualname__ = __name__, "DigitsMLP"
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=TRIALS,
                                 experiment_working_directory=directory, early_stopping=stopper)
    exp = NasExperiment(DigitsMLP(), FunctionalEvaluator(train_mlp), Random(seed=SEED), config)
    exp.run()
    return exp.store.models()


def compute_saved_on_digits() -> List[Dict]:
    from nascore.early_stopping import ASHA, MedianStop
    runs = {"full": None, "asha": ASHA(max_resource=EPOCHS, reduction_factor=3),
            "median": MedianStop(grace_period=3, min_trials=3)}
    results, full_best = [], None
    with tempfile.TemporaryDirectory() as directory:
        for name, stopper in runs.items():
            started = time.perf_counter()
            records = _experiment(stopper, directory)
            trained = [r for r in records if r.status == "trained"]
            best = max(r.final for r in trained)
            full_best = best if name == "full" else full_best
            epochs = sum(len(r.intermediates) for r in records)
            results.append({"case": "digits", "run": name, "trials": len(records),
                            "early_stopped": sum(r.status == "early_stopped" for r in records),
                            "best_valid_acc": round(best, 2), "points_below_full": round(full_best - best, 2),
                            "epoch_fraction": round(epochs / (TRIALS * EPOCHS), 3),
                            "samples": [r.sample for r in records][:1], "seconds": round(time.perf_counter() - started, 1)})
    for result in results:
        result.pop("samples")
    return results


def _slot_config(service: str, directory: str, stopper: Any, stack: Any):
    """A ts config on ``service`` (one trial at a time); remote: a real sshd on 127.0.0.1 (closed with
    ``stack``), Ray: a private instance of this experiment."""
    import sys

    from nascore import NasExperimentConfig
    config = NasExperimentConfig("ts", "simplified", service, max_trial_number=SLOT_TRIALS, trial_concurrency=1,
                                 experiment_working_directory=directory, early_stopping=stopper)
    if service == "remote":
        from pathlib import Path

        from nascore_remote.testing import SshServer
        server = stack.enter_context(SshServer(Path(directory) / "sshd"))
        config.training_service.machine_list = [server.machine(python_path=sys.executable)]
        code = Path(directory) / "code"  # the trials' code is nascore's own (installed there): nothing to upload
        code.mkdir()
        config.training_service.trial_code_directory = str(code)
    elif service == "ray":
        from pathlib import Path
        code = Path(directory) / "code"
        code.mkdir()
        config.training_service.num_cpus = 2
        config.training_service.trial_code_directory = str(code)
    return config


def slot_release(service: str) -> Dict:
    """Seconds from the stopper's decision to the next trial's first line of code (both clocks of this host: the
    trial's own log says when it began, after any worker start-up)."""
    import contextlib

    from nascore import NasExperiment
    from nascore.early_stopping import ASHA
    from nascore.strategy import GridSearch
    from nascore.testkit import ToySpace, read_toy_log, toy_curve_evaluator

    decisions: List[float] = []

    class TimedASHA(ASHA):
        def report(self, trial, step, score):
            reason = super().report(trial, step, score)
            if reason is not None:
                decisions.append(time.time())
            return reason

    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        config = _slot_config(service, directory, TimedASHA(max_resource=30, reduction_factor=3), stack)
        log = f"{directory}/trials.log"
        exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=30, seconds_per_epoch=0.1, log=log),
                            GridSearch(), config)
        exp.run()
        starts = sorted(t["time"] for t in read_toy_log(log))
        gaps = [min(t for t in starts if t > decided) - decided for decided in decisions
                if any(t > decided for t in starts)]
        stopped = sum(r.status == "early_stopped" for r in exp.store.models())
    return {"case": "slot_release", "service": service, "early_stopped": stopped, "stops_measured": len(gaps),
            "next_trial_start_after_stop_s_max": round(max(gaps), 3), "mean_s": round(sum(gaps) / len(gaps), 3),
            "target_s": 1.0, "ok": max(gaps) <= 1.0}


def run() -> List[Dict]:
    import os
    os.environ.setdefault("NASCORE_PROGRESS", "off")  # the harness prints JSON lines only
    return compute_saved_on_digits() + [slot_release(service) for service in ("local", "remote", "ray")]
