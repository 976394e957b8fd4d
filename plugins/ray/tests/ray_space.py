"""A tiny model space for the experiment tests (a module of its own: Ray nodes import it by name)."""
import os
import time
from pathlib import Path

import torch.nn as tnn

import nascore.nn as nn
from nascore.mutable import Categorical, ensure_frozen
from nascore.trial import report_final_result, report_intermediate_result


class TinyNet(nn.ModelSpace):
    def __init__(self, widths=(2, 4)):
        super().__init__()
        width = ensure_frozen(Categorical(list(widths), label="width"))
        self.layer = tnn.Linear(3, width)

    def forward(self, x):
        return self.layer(x)


def gated(model) -> None:
    """Reports w, then (after ``$NASCORE_TEST_GATE`` exists, for widths in ``$NASCORE_TEST_GATED``) 2w, 3w and
    final 10w; first writes the Ray node it runs on (the test cluster's marker) to ``$NASCORE_TEST_MARKERS/w``."""
    width = model.layer.out_features
    report_intermediate_result(width)
    markers = os.environ.get("NASCORE_TEST_MARKERS")
    if markers:
        Path(markers, str(width)).write_text(os.environ.get("NASCORE_RAY_TEST_NODE", ""))
    if str(width) in os.environ.get("NASCORE_TEST_GATED", "").split(","):
        deadline = time.monotonic() + 120
        while not os.path.exists(os.environ["NASCORE_TEST_GATE"]):
            assert time.monotonic() < deadline, "gate never opened"
            time.sleep(0.02)
    report_intermediate_result(2 * width)
    report_intermediate_result(3 * width)
    report_final_result(10 * width)


def trains(model) -> None:
    """'Trains' deterministically (every weight 0.25, every bias -1) and reports final 1. With
    ``$NASCORE_TEST_UNSEEN`` set, this process then cannot save files under that folder, as on a node that does
    not see the experiment directory (the test cluster's nodes share this machine's file system)."""
    import torch

    import nascore.weights
    unseen, save = os.environ.get("NASCORE_TEST_UNSEEN"), nascore.weights.save_state_dict

    def save_where_seen(module, path):  # save_weights looks save_state_dict up at call time
        if Path(path).resolve().is_relative_to(Path(unseen).resolve()):
            raise PermissionError(f"this node does not see {unseen}")
        save(module, path)
    if unseen and save.__name__ == "save_state_dict":
        nascore.weights.save_state_dict = save_where_seen
    with torch.no_grad():
        model.layer.weight.fill_(0.25)
        model.layer.bias.fill_(-1.0)
    report_final_result(1.0)
