"""What keeping trained weights and counting parameters cost per trial of an experiment (issue 12 items 2, 12).

The same sequential experiment (200 no-op trials of a small simplified-format space) runs three ways side by
side, best of 2 each: ``keep_weights="none"`` with the experiment-side parameter count switched off (the
baseline), ``keep_weights="none"`` (parameter count only), and ``keep_weights=3`` (every trial saves its
state_dict; files outside the best 3 are deleted as results arrive). Ratios to the baseline are the figures;
absolute times are for orientation only on a shared machine.
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from typing import Dict, List

TRIALS = 200
REPEATS = 2


def _space():
    import torch.nn as tnn

    import nascore.nn as nn

    class Space(nn.ModelSpace):
        def __init__(self):
            super().__init__()
            self.a = nn.LayerChoice([tnn.Linear(16, 16) for _ in range(8)], label="a")
            self.b = nn.LayerChoice([tnn.Linear(16, 16) for _ in range(8)], label="b")
            self.c = nn.LayerChoice([tnn.Linear(16, 16) for _ in range(8)], label="c")

        def forward(self, x):
            return self.c(self.b(self.a(x)))

    return Space()


def _noop(model) -> float:
    return 1.0


def _run(keep_weights, count_parameters: bool) -> float:
    import nascore.experiment.recorder as recorder
    import nascore.trial as trial
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import FunctionalEvaluator
    from nascore.strategy import Random

    saved = recorder.parameter_count, trial._count_parameters
    if not count_parameters:
        recorder.parameter_count, trial._count_parameters = (lambda model: None), (lambda model, module: None)
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = NasExperimentConfig("sequential", "simplified", max_trial_number=TRIALS,
                                         keep_weights=keep_weights, experiment_working_directory=folder)
            experiment = NasExperiment(_space(), FunctionalEvaluator(_noop), Random(seed=0), config)
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                experiment.run()
            return time.perf_counter() - started
    finally:
        recorder.parameter_count, trial._count_parameters = saved


def run() -> List[Dict]:
    variants = {"baseline": ("none", False), "param_count": ("none", True), "keep_weights_3": (3, True)}
    best = {name: min(_run(*args) for _ in range(REPEATS)) for name, args in variants.items()}
    base = best["baseline"]
    return [{"name": f"experiment_{name}", "trials": TRIALS, "seconds": round(seconds, 3),
             "ratio_to_baseline": round(seconds / base, 3),
             "extra_ms_per_trial": round((seconds - base) / TRIALS * 1e3, 3)} for name, seconds in best.items()]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result))
