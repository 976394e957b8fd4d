"""Early-stopped trials on the dashboard's JSON routes: apart from trained ones (status, best intermediate metric,
how far they got), and the compute saved with the same figures as ``nascore view``, ``view --json`` and ``plot``."""
import json
import subprocess
import sys

import pytest

from nascore.early_stopping import describe_saved
from nascore_dashboard.server import DashboardServer


@pytest.fixture(scope="module")
def served(early_stopped_run):
    server = DashboardServer(early_stopped_run.directory, port=0, quiet=True).start()
    yield early_stopped_run, server
    server.stop()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nascore", *map(str, args)], capture_output=True, text=True,
                          check=True).stdout


def test_the_compute_saved_is_the_same_everywhere(served, call, tmp_path):
    exp, server = served
    _, overview = call(server.url + f"api/experiments/{exp.id}")
    saved = overview["early_stopping"]
    stopped = [r for r in exp.store.models() if r.status == "early_stopped"]
    assert saved["early_stopped"] == len(stopped) > 0 and saved["full_steps"] == 9
    assert saved["steps_saved"] == sum(9 - len(r.intermediates) for r in stopped)
    assert json.loads(_cli("view", exp.directory, "--json"))["early_stopping"] == saved
    line = f"early stopping: {describe_saved(saved)}"
    assert line in _cli("view", exp.directory).splitlines()
    png = tmp_path / "plot.png"
    _cli("plot", exp.directory, "-o", png)
    from PIL import Image
    assert Image.open(png).text["Description"] == line
    # the overview's chart: early-stopped trials apart, at their best intermediate metric
    assert overview["stopped"] == {"ids": [r.id for r in stopped], "values": [max(r.intermediates) for r in stopped]}
    assert not set(overview["stopped"]["ids"]) & set(overview["finals"]["ids"])


def test_trials_table_and_detail_show_how_far_a_stopped_trial_got(served, call):
    exp, server = served
    records = {r.id: r for r in exp.store.models()}
    _, page = call(server.url + f"api/experiments/{exp.id}/trials?status=early_stopped&limit=100")
    assert page["total"] == page["counts"]["early_stopped"] == len(page["rows"])
    for row in page["rows"]:
        record = records[row["id"]]
        assert row["metrics"]["metric"] is None  # no final metric ...
        assert row["early"] == {"steps": len(record.intermediates), "best": max(record.intermediates),
                                "metric": "metric"}  # ... its best reported one instead
    _, trained = call(server.url + f"api/experiments/{exp.id}/trials?status=trained&limit=100")
    assert all("early" not in row for row in trained["rows"])
    first = page["rows"][0]
    _, detail = call(server.url + f"api/experiments/{exp.id}/trials/{first['id']}")
    assert detail["status"] == "early_stopped" and detail["reason"] == records[first["id"]].failure_reason
    assert detail["early"] == dict(first["early"], full_steps=9)
    assert len(detail["intermediates"]) == first["early"]["steps"]


def test_a_store_without_early_stopping_says_nothing_of_it(stored_server, call):
    _, overview = call(stored_server.url + "api/experiments/stored-exp")
    assert overview["early_stopping"] is None and overview["stopped"] == {"ids": [], "values": []}
