"""``exp.run(config, port)`` finds an installed dashboard through the ``nascore_dashboards`` hook; ``cancel_trial``
stops one model of a running experiment."""
import logging
import threading
import time

import pytest

from nascore import hookimpl
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.plugins import get_plugin_manager, reset_plugin_manager
from nascore.specs import DashboardSpec
from nascore.strategy import GridSearch, Random


class _Server:
    def __init__(self, experiment, port, host):
        self.experiment, self.port, self.host = experiment, port, host
        self.events = []
        self.url, self.token = f"http://{host}:{port}/", "t0ken"

    def start(self):
        # the store is open and the experiment's meta written before the page can be asked for anything
        with ExperimentStore.open(self.experiment.directory) as store:
            self.events.append(("start", store.get_meta("id"), len(store.models())))

    def serve_forever(self):
        self.events.append(("forever",))

    def stop(self):
        self.events.append(("stop",))


class _Dashboard:
    def __init__(self):
        self.servers = []

    @hookimpl
    def nascore_dashboards(self):
        def factory(target, port, host):
            self.servers.append(_Server(target, port, host))
            return self.servers[-1]
        return [DashboardSpec(name="testdash", factory=factory, description="records what it was asked")]


@pytest.fixture
def no_installed_dashboard():
    """The process-wide manager without an installed dashboard plugin (rebuilt from entry points after)."""
    manager = get_plugin_manager()
    for info in list(manager.plugins.values()):
        if "dashboard" in info.registers:
            manager.unregister(info.name)
    yield manager
    reset_plugin_manager()


@pytest.fixture
def dashboard(no_installed_dashboard):
    plugin = _Dashboard()
    no_installed_dashboard.register(plugin, "test-dashboard")
    return plugin


def test_port_starts_the_installed_dashboard_before_the_first_model(tiny, make_config, dashboard):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=0), make_config(max_trial_number=2))
    assert exp.run(port=8099) == "done"
    [server] = dashboard.servers
    assert (server.experiment, server.port, server.host) == (exp, 8099, "127.0.0.1")
    assert server.events == [("start", exp.id, 0)]
    assert exp.dashboard is server
    exp.config.max_trial_number = 3
    exp.run(port=8099)  # a second run keeps the same server
    assert len(dashboard.servers) == 1


def test_port_without_a_dashboard_warns_and_runs(tiny, make_config, caplog, no_installed_dashboard):
    assert no_installed_dashboard.get_dashboard() is None
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=0), make_config(max_trial_number=1))
    with caplog.at_level(logging.WARNING):
        assert exp.run(port=8099) == "done"
    assert "no dashboard is installed (pip install nascore-dashboard)" in caplog.text
    assert exp.dashboard is None


def test_bad_port_is_refused_before_anything_runs(tiny, make_config, dashboard):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=0), make_config(max_trial_number=1))
    with pytest.raises(ValueError, match="port must be between 1 and 65535, got 70000"):
        exp.run(port=70000)
    assert dashboard.servers == [] and not exp.directory.exists()


def test_cli_dashboard_serves_a_directory_with_the_installed_dashboard(tmp_path, dashboard, capsys):
    from nascore.cli import main
    assert main(["dashboard", str(tmp_path), "--port", "9001", "--host", "0.0.0.0"]) == 0
    [server] = dashboard.servers
    assert (server.experiment, server.port, server.host, server.events) == (tmp_path, 9001, "0.0.0.0", [("forever",)])
    assert main(["dashboard", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


@pytest.mark.slow
def test_cancel_trial_interrupts_one_running_trial(tiny, make_config, tmp_path):
    pytest.importorskip("nascore_training_service")
    log, gate = tmp_path / "log.jsonl", tmp_path / "gate"
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.gated, log=str(log), gate=str(gate), after=0),
                        GridSearch(), make_config("ts", "simplified", max_trial_number=2, trial_concurrency=1))
    results = {}

    def cancel_first_when_it_runs():
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # waits for the trial process to start the gated (blocking) evaluation
        results["unknown"] = exp.cancel_trial(999)
        results["cancelled"] = exp.cancel_trial(1, "enough of this one")
        gate.write_text("go")  # the second trial finishes normally

    thread = threading.Thread(target=cancel_first_when_it_runs, daemon=True)
    thread.start()
    assert exp.run() == "done"
    thread.join(5)
    assert results == {"unknown": False, "cancelled": True}
    with ExperimentStore.open(exp.directory) as store:
        first, second = store.models()
    assert (first.status, first.failure_reason) == ("interrupted", "enough of this one")
    assert second.status == "trained"
