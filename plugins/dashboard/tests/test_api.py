"""The JSON routes over a stored experiment, through a real server: paging, sorting, filters, the token rule,
and that a viewer never changes the store."""
import hashlib
import urllib.parse

import pytest

from nascore_dashboard.server import DashboardError, DashboardServer


def test_experiments_list_and_overview(stored_server, call):
    status, body = call(stored_server.url + "api/experiments")
    assert status == 200 and body["control"] is None
    [e] = body["experiments"]
    assert (e["id"], e["status"], e["trials"], e["max_trials"]) == ("stored-exp", "done", 120, 120)
    assert e["counts"]["trained"] + e["counts"].get("failed", 0) == 120
    status, o = call(stored_server.url + "api/experiments/stored-exp")
    assert status == 200 and o["labels"] == ["width", "depth", "op", "lr"]
    assert len(o["finals"]["ids"]) == len(o["finals"]["values"]) == o["counts"]["trained"]
    best = max(zip(o["finals"]["values"], o["finals"]["ids"]))
    assert (o["best"]["metric"], o["best"]["id"]) == best and o["eta"] is None and o["control"] is False


def test_trials_page_sort_filter_search(stored_server, call):
    base = stored_server.url + "api/experiments/stored-exp/trials?"
    _, page = call(base + urllib.parse.urlencode({"limit": 10, "offset": 20}))
    assert page["total"] == 120 and [r["id"] for r in page["rows"]] == list(range(21, 31))
    _, page = call(base + urllib.parse.urlencode({"sort": "metric", "desc": 1, "limit": 5}))
    values = [r["metrics"]["metric"] for r in page["rows"]]
    assert values == sorted(values, reverse=True) and None not in values
    _, page = call(base + urllib.parse.urlencode([("filter", "width=64"), ("filter", "op=maxpool"), ("limit", 500)]))
    assert page["total"] == len(page["rows"]) > 0
    assert all(r["sample"]["width"] == 64 and r["sample"]["op"] == "maxpool" for r in page["rows"])
    _, failed = call(base + "status=failed&limit=500")
    assert failed["total"] > 0 and all(r["status"] == "failed" and "out of memory" in r["reason"] for r in failed["rows"])
    _, found = call(base + "q=memory&limit=500")
    assert found["total"] == failed["total"]
    _, page = call(base + urllib.parse.urlencode({"sort": "worker", "limit": 40}))  # the table's worker column
    workers = [r["worker"] for r in page["rows"]]
    assert workers == sorted(workers) and workers[0] == "gpu0@node0:22" and None not in workers
    status, body = call(base + "filter=width")
    assert status == 400 and "'width' is not label=value" in body["error"]


def test_trial_detail_and_curves(stored_server, call):
    status, t = call(stored_server.url + "api/experiments/stored-exp/trials/3")
    assert status == 200 and t["id"] == 3 and len(t["intermediates"]) in (4, 8)
    assert t["worker"] == "gpu3@node0:22"  # where the trial ran, as the store recorded it
    assert "never runs" in t["architecture"]["error"] and t["control"] is False
    _, c = call(stored_server.url + "api/experiments/stored-exp/curves?ids=1,2")
    assert set(c["curves"]) == {"1", "2"} and [r["id"] for r in c["rows"]] == [1, 2]
    assert call(stored_server.url + "api/experiments/stored-exp/trials/999")[0] == 404
    assert call(stored_server.url + "api/experiments/..%2Fetc")[0] == 404


def test_control_needs_the_token_and_a_live_experiment(stored_server, call):
    url = stored_server.url + "api/experiments/stored-exp/stop"
    status, body = call(url, "POST")
    assert status == 403 and "access token printed in the console" in body["error"]
    assert call(url, "POST", token="wrong")[0] == 403
    status, body = call(url, "POST", token=stored_server.token)
    assert status == 409 and "not run by this dashboard's process" in body["error"]


def test_loopback_server_refuses_a_foreign_host_header(stored_server, call):
    status, body = call(stored_server.url + "api/experiments", headers={"Host": "evil.example:80"})
    assert status == 400 and "loopback only" in body["error"]


def test_beyond_loopback_every_api_route_needs_the_token(stored_root, call):
    server = DashboardServer(stored_root, port=0, host="0.0.0.0", quiet=True).start()
    try:
        status, body = call(server.url + "api/experiments")
        assert status == 401 and "access token" in body["error"]
        assert call(server.url + "api/experiments", token=server.token)[0] == 200
        assert call(server.url + f"api/experiments?token={server.token}")[0] == 200
    finally:
        server.stop()


def test_viewer_never_changes_the_store(tmp_path, call):
    from nascore_dashboard.sample_store import make_store
    directory = make_store(tmp_path / "exp", trials=30)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}
    server = DashboardServer(tmp_path, port=0, quiet=True).start()
    try:
        for path in ("api/experiments", "api/experiments/exp", "api/experiments/exp/trials?sort=label:op",
                     "api/experiments/exp/trials/1", "api/experiments/exp/parallel"):
            assert call(server.url + path)[0] == 200
    finally:
        server.stop()
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}
    assert after == before


def test_busy_port_is_named(stored_server, stored_root, capsys):
    with pytest.raises(DashboardError, match=f"port {stored_server.port} on 127.0.0.1 is in use"):
        DashboardServer(stored_root, port=stored_server.port, quiet=True)
    from nascore.cli import main
    assert main(["dashboard", str(stored_root), "--port", str(stored_server.port)]) == 2
    assert f"dashboard port {stored_server.port} on 127.0.0.1 is in use" in capsys.readouterr().err


def test_store_older_than_the_worker_column_shows_the_trial_folder(tmp_path):
    import sqlite3
    from nascore_dashboard.reader import StoreReader, TrialQuery
    from nascore_dashboard.sample_store import make_store
    directory = make_store(tmp_path / "old", trials=3, intermediates=1)
    conn = sqlite3.connect(directory / "nascore.db")
    conn.execute("UPDATE models SET log_path = 'trials/trial-0000' || id")
    conn.execute("ALTER TABLE models DROP COLUMN worker")  # the schema before workers were recorded
    conn.commit()
    conn.close()
    reader = StoreReader(directory)
    rows = reader.trials(TrialQuery(sort="worker", descending=True))["rows"]
    assert [(r["id"], r["worker"], r["trial"]) for r in rows] == [(3, None, "trial-00003"), (2, None, "trial-00002"),
                                                                  (1, None, "trial-00001")]
    reader.close()


def test_dead_run_reads_interrupted(tmp_path):
    pytest.importorskip("nascore.experiment.lock", reason="this nascore has no experiment run lock")
    from nascore_dashboard.catalog import effective_status
    from nascore_dashboard.sample_store import make_store
    directory = make_store(tmp_path / "dead", trials=3, status="running")
    assert effective_status("running", directory) == "interrupted"
    assert effective_status("running", directory, live=True) == "running"
    assert effective_status("done", directory) == "done"



def test_pareto_front_of_two_objectives(stored_server, call):
    _, body = call(stored_server.url + "api/experiments/stored-exp/pareto")
    p = body["pareto"]
    assert [o["name"] for o in p["objectives"]] == ["default", "params"]
    points = {q[0]: (q[1], q[2]) for q in p["points"]}
    _, trials = call(stored_server.url + "api/experiments/stored-exp/trials?status=trained&limit=500")
    assert set(points) == {r["id"] for r in trials["rows"]}

    def beaten(i):  # higher metric and fewer parameters are better
        m, n = points[i]
        return any(m2 >= m and n2 <= n and (m2, n2) != (m, n) for m2, n2 in points.values())
    assert sorted(p["front"]) == sorted(i for i in points if not beaten(i)) and p["front"]


def test_single_objective_has_no_pareto_view(tmp_path, call):
    from nascore_dashboard.sample_store import make_store
    make_store(tmp_path / "one", trials=5)
    server = DashboardServer(tmp_path, port=0, quiet=True).start()
    try:
        assert call(server.url + "api/experiments/one/pareto") == (200, {"pareto": None})
    finally:
        server.stop()


def test_nascore_dashboard_command_serves_until_ctrl_c(stored_root, free_port, call):
    import signal
    import subprocess
    import sys
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nascore", "dashboard", str(stored_root), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the port is bound
        assert line.startswith(f"nascore dashboard: http://127.0.0.1:{port}/?token="), line
        token = line.split("token=")[1].split()[0]
        status, body = call(f"http://127.0.0.1:{port}/api/experiments")
        assert status == 200 and [e["id"] for e in body["experiments"]] == ["stored-exp"]
        status, _ = call(f"http://127.0.0.1:{port}/api/experiments/stored-exp/stop", "POST", token=token)
        assert status == 409  # the token is accepted; a stored experiment is not this process's to stop
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_run_on_a_busy_port_fails_before_any_trial(tmp_path, stored_server):
    import nascore
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import ExperimentStore
    from nascore.mutable import Categorical
    from nascore.nn import Linear, ModelSpace
    from nascore.strategy import GridSearch

    class Net(ModelSpace):
        def __init__(self):
            super().__init__()
            self.lin = Linear(2, Categorical([1, 2], label="out"))

    config = NasExperimentConfig("sequential", "simplified", experiment_working_directory=str(tmp_path))
    exp = NasExperiment(Net(), FunctionalEvaluator(lambda model: nascore.report_final_result(1.0)), GridSearch(),
                        config)
    with pytest.raises(DashboardError, match=f"port {stored_server.port} on 127.0.0.1 is in use"):
        exp.run(port=stored_server.port)
    with ExperimentStore.open(exp.directory) as store:
        assert store.status() == "failed" and store.models() == []


def test_logs_are_read_only_inside_the_experiment_directory(tmp_path, call):
    import sqlite3
    from nascore_dashboard.sample_store import make_store
    directory = make_store(tmp_path / "logs", trials=3)
    inside = directory / "trials" / "trial-00001"
    inside.mkdir(parents=True)
    (inside / "stdout.log").write_text("x" * 20000 + "the end\n")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "stdout.log").write_text("not yours\n")
    linked = directory / "trials" / "trial-00002"
    linked.mkdir()
    (linked / "stdout.log").symlink_to(outside / "stdout.log")
    with sqlite3.connect(str(directory / "nascore.db")) as conn:
        for model_id, folder in ((1, inside), (2, linked), (3, outside)):
            conn.execute("UPDATE models SET log_path = ? WHERE id = ?", (str(folder), model_id))
    conn.close()
    server = DashboardServer(tmp_path, port=0, quiet=True).start()
    try:
        logs = {i: call(server.url + f"api/experiments/logs/trials/{i}")[1]["logs"] for i in (1, 2, 3)}
    finally:
        server.stop()
    assert logs[1]["stdout"].endswith("the end\n") and len(logs[1]["stdout"]) == 16 * 1024  # the tail
    assert logs[2] == logs[3] == {"stdout": None, "stderr": None}
