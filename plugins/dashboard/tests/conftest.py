"""Shared fixtures: a generated stored experiment served read-only, and plain HTTP helpers (another client than
the page, as the token rule is checked from outside)."""
import json
import socket
import urllib.error
import urllib.request

import pytest

from nascore_dashboard.sample_store import make_store
from nascore_dashboard.server import DashboardServer


@pytest.fixture(scope="session")
def stored_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    make_store(root / "stored-exp", trials=120, intermediates=8, seed=1, two_objectives=True)
    return root


@pytest.fixture(scope="session")
def stored_server(stored_root):
    server = DashboardServer(stored_root, port=0, quiet=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def free_port():
    """A function returning a port nobody listens on now (for ``exp.run(port=...)``, which wants a number)."""
    def pick():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    return pick


@pytest.fixture(scope="session")
def call():
    return _call


def _call(url, method="GET", token=None, headers=None):
    """(status, JSON body) of one request."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("X-Nascore-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _body(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _body(error.read())


def _body(data):
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {"text": data.decode("utf-8", "replace")}


GRAPH_SPACE = '''
import torch
import nascore
from nascore.nn import LayerChoice, Linear, ModelSpace


class Net(ModelSpace):
    def __init__(self):
        super().__init__()
        self.fc = Linear(4, 8)
        self.act = LayerChoice([torch.nn.ReLU(), torch.nn.Tanh()], label="act")
        self.out = Linear(8, 1)

    def forward(self, x):
        return self.out(self.act(self.fc(x)))


def evaluate(model):
    nascore.report_intermediate_result(0.5)
    nascore.report_final_result(float(model(torch.ones(1, 4)).abs().sum().detach()))
'''


@pytest.fixture
def graph_space(importable_module):
    """A user's module with a small graph-format space and an evaluator (needs nascore-graph)."""
    pytest.importorskip("nascore_graph")
    return importable_module(GRAPH_SPACE)


@pytest.fixture(scope="session")
def early_stopped_run(tmp_path_factory):
    """A finished experiment (sequential engine, 27 toy trials of 9 reports) in which ASHA stopped trials."""
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.strategy import GridSearch
    from nascore.testkit import ToySpace, toy_curve_evaluator
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=27, experiment_name="early",
                                 experiment_working_directory=str(tmp_path_factory.mktemp("early")),
                                 early_stopping={"name": "asha", "max_resource": 9})
    exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=9), GridSearch(), config)
    assert exp.run() == "done"
    return exp
