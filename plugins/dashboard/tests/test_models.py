"""What a trial page shows about the model: the graph format's IR drawn and its generated code (from the stored
payload, without the user's modules), and the models a CGO trial was merged with."""
import json
import sqlite3

import pytest

from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.strategy import GridSearch
from nascore_dashboard.sample_store import make_store
from nascore_dashboard.server import DashboardServer



@pytest.fixture
def served():
    servers = []

    def serve(path):
        servers.append(DashboardServer(path, port=0, quiet=True).start())
        return servers[-1]
    yield serve
    for server in servers:
        server.stop()


def test_graph_trial_shows_its_ir_and_generated_code(tmp_path, graph_space, served, call):
    user = graph_space
    config = NasExperimentConfig("sequential", "graph", max_trial_number=2,
                                 experiment_working_directory=str(tmp_path))
    exp = NasExperiment(user.Net(), FunctionalEvaluator(user.evaluate), GridSearch(), config)
    assert exp.run() == "done"
    server = served(exp.directory)
    status, t = call(server.url + f"api/experiments/{exp.id}/trials/1")
    assert status == 200 and t["status"] == "trained"
    top = next(g for g in t["graph"]["graphs"] if g["name"] == t["graph"]["top"])
    names = {n["name"] for n in top["nodes"]}
    assert {"fc", "out"} <= names and len(top["edges"]) >= len(top["nodes"]) - 1
    assert "def build" in t["code"] and "in_features=4, out_features=8" in t["code"], t["code"]


def test_cgo_trial_names_the_models_it_was_merged_with(tmp_path, served, call):
    directory = make_store(tmp_path / "cgo", trials=5)
    with sqlite3.connect(str(directory / "nascore.db")) as conn:  # as CGO records it: one trial's log folder
        conn.execute("UPDATE models SET log_path = ? WHERE id IN (1, 2, 3)", (str(directory / "trials/trial-00001"),))
        config = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        config["execution_engine"] = {"name": "cgo"}
        conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
    conn.close()
    server = served(directory)
    _, t = call(server.url + "api/experiments/cgo/trials/2")
    assert t["merged_with"] == [1, 3] and t["trial"] == "trial-00001"
    _, alone = call(server.url + "api/experiments/cgo/trials/4")
    assert alone["merged_with"] == []
