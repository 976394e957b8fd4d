"""The dashboard in a real browser: Debian's chromium, headless, through Playwright's Python API.

One browser for the module. A live experiment (sequential engine, in a thread) whose trials finish only when
the test lets them, so "a trial appears live" is observed, not timed. Each page is saved as a PNG: into
$NASCORE_SCREENSHOTS when set (`NASCORE_SCREENSHOTS=docs/images` refreshes the README's pictures), else a temporary
folder, so a test run never rewrites committed files.
"""
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
import torch.nn as nn

import nascore
from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.mutable import Categorical
from nascore.nn import LayerChoice, Linear, ModelSpace
from nascore.strategy import GridSearch
from nascore_dashboard.server import DashboardServer

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")]
IMAGES = Path(os.environ.get("NASCORE_SCREENSHOTS") or Path(tempfile.gettempdir()) / "nascore-dashboard-shots")
LIVE_WAIT = 1000  # ms: a new metric must reach an open page within a second


class Net(ModelSpace):
    def __init__(self):
        super().__init__()
        width = Categorical([8, 16], label="width")
        self.body = nn.Sequential(Linear(4, width), LayerChoice([nn.ReLU(), nn.Tanh()], label="act"),
                                  Linear(width, 1))
        self.depth = nascore.mutable.ensure_frozen(Categorical([1, 2], label="depth"))


class Gate:
    """Each trial reports one intermediate metric, then waits for a permit to report its final one."""

    def __init__(self):
        self.permits = threading.Semaphore(0)
        self.open = False

    def evaluate(self, model):
        params = sum(p.numel() for p in model.parameters())
        print(f"trial with {params} parameters")
        nascore.report_intermediate_result(params / 1000)
        for _ in range(600):  # bounded: the test releases each trial, or opens the gate at the end
            if self.open or self.permits.acquire(timeout=0.1):
                break
        nascore.report_final_result(params / 100 + model.depth)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory, free_port):
    gate = Gate()
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=8, experiment_name="live-demo",
                                 experiment_working_directory=str(tmp_path_factory.mktemp("live")))
    exp = NasExperiment(Net(), FunctionalEvaluator(gate.evaluate), GridSearch(), config)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("status", exp.run(port=free_port())), daemon=True)
    thread.start()
    for _ in range(200):  # the dashboard starts before the first trial
        if exp.dashboard is not None:
            break
        thread.join(0.05)
    assert exp.dashboard is not None, "the live dashboard did not start"
    for _ in range(2):
        gate.permits.release()
    yield exp, gate, outcome
    gate.open = True
    thread.join(30)
    exp.dashboard.stop()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert page.errors == [], f"console errors: {page.errors}"
    page.close()


def _shot(page, name, full_page=False):
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"dashboard-{name}.png"), full_page=full_page)


def test_live_pages_follow_the_experiment_and_stop_needs_the_token(live, page):
    exp, gate, outcome = live
    base = exp.dashboard.url
    page.goto(base + f"#/e/{exp.id}/trials")
    expect = playwright_api.expect
    expect(page.locator("#trials tbody tr[data-id='3']")).to_be_visible()  # trials 1-2 done, 3 waiting
    expect(page.locator("#trials tbody tr[data-id='3']")).to_contain_text("training")
    gate.permits.release()  # trial 3 reports its final metric; trial 4 is submitted
    expect(page.locator("#trials tbody tr[data-id='3']")).to_contain_text("trained", timeout=LIVE_WAIT)
    expect(page.locator("#trials tbody tr[data-id='4']")).to_be_visible(timeout=LIVE_WAIT)
    assert page.locator("#trials tbody tr").first.get_attribute("data-id") == "4"  # newest first
    expect(page.locator("#page")).to_have_text("1–4 of 4")
    params = [t.strip() for t in page.locator("#trials thead th").all_inner_texts()].index("params") + 1
    # the parameter count the store records when a trial ends arrives with that row's increment
    expect(page.locator(f"#trials tbody tr[data-id='3'] td:nth-child({params})")).to_have_text("97")
    worker = [t.strip() for t in page.locator("#trials thead th").all_inner_texts()].index("worker / machine") + 1
    # where the trial ran (the sequential engine: this process), as the store recorded it
    expect(page.locator(f"#trials tbody tr[data-id='3'] td:nth-child({worker})")).to_have_text(
        f"this process (pid {os.getpid()})")
    _shot(page, "trials")

    page.fill("#label-filter", "width=16")
    page.press("#label-filter", "Enter")
    expect(page.locator("#total")).not_to_have_text("4 trial(s)")
    column = [t.strip() for t in page.locator("#trials thead th").all_inner_texts()].index("width") + 1
    widths = page.locator(f"#trials tbody tr td:nth-child({column})").all_inner_texts()
    assert widths and set(widths) == {"16"}
    page.select_option("#status-filter", "training")
    expect(page.locator("#trials tbody")).not_to_contain_text("trained")

    page.goto(base + f"#/e/{exp.id}/t/4")  # the running trial: its page follows it to the end
    expect(page.locator("#status")).to_contain_text("training")
    expect(page.locator("#arch .tree")).to_contain_text("Linear")
    gate.permits.release()
    expect(page.locator("#status")).to_contain_text("trained", timeout=LIVE_WAIT)
    expect(page.locator("#outcome")).to_contain_text("metric")
    _shot(page, "trial")

    page.goto(base + f"#/e/{exp.id}")
    expect(page.locator("#status")).to_contain_text("running")
    before = page.locator("#counts td[data-status='trained']").inner_text()
    gate.permits.release()
    expect(page.locator("#counts td[data-status='trained']")).not_to_have_text(before, timeout=LIVE_WAIT)
    _shot(page, "overview")
    page.click("#stop")  # no token in this tab: refused, the experiment goes on
    expect(page.locator("#notice")).to_contain_text("stop refused: this action needs the access token")
    assert exp.status == "running"
    # chromium logs the refused request itself; that one is expected, nothing else may be there
    assert page.errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    page.errors.clear()

    page.goto(exp.dashboard.login_url)  # the URL printed at start carries the token
    expect(page.locator("#stop")).to_be_visible()
    page.click("#stop")
    gate.open = True  # the trial in flight may finish; no new trial starts
    expect(page.locator("#status")).to_contain_text("stopped", timeout=10_000)
    assert outcome.get("status") == "stopped" or exp.status == "stopped"

    page.goto(base + "#/")
    expect(page.locator("#experiments")).to_contain_text("live-demo")
    expect(page.locator("#experiments")).to_contain_text("stopped")


def test_compare_and_experiments_of_a_stored_run(stored_server, page):
    page.goto(stored_server.url + "#/e/stored-exp/trials")
    expect = playwright_api.expect
    expect(page.locator("#total")).to_have_text("120 trial(s)")
    for trial_id in (5, 9, 12):
        page.check(f"#trials input[data-id='{trial_id}']") if page.locator(f"#trials input[data-id='{trial_id}']").count() \
            else None
    page.goto(stored_server.url + "#/e/stored-exp/compare?ids=5,9,12")
    expect(page.locator("#picked tr")).to_have_count(3)
    expect(page.locator("#pareto-title")).to_contain_text("Pareto front: default (max) vs params (min)")
    _shot(page, "compare", full_page=True)
    page.goto(stored_server.url + "#/e/stored-exp")
    expect(page.locator("#cards")).to_contain_text("120 / 120")
    page.goto(stored_server.url + "#/")
    page.click("#experiments th[data-k='best']")
    expect(page.locator("#experiments")).to_contain_text("stored-exp")
    _shot(page, "experiments")


def test_graph_trial_draws_its_ir(tmp_path, graph_space, page):
    user = graph_space
    config = NasExperimentConfig("sequential", "graph", max_trial_number=1, experiment_name="graph-demo",
                                 experiment_working_directory=str(tmp_path))
    exp = NasExperiment(user.Net(), FunctionalEvaluator(user.evaluate), GridSearch(), config)
    assert exp.run() == "done"
    server = DashboardServer(exp.directory, port=0, quiet=True).start()
    try:
        page.goto(server.url + f"#/e/{exp.id}/t/1")
        expect = playwright_api.expect
        expect(page.locator("#arch svg.graph g")).not_to_have_count(0)
        expect(page.locator("#arch svg.graph")).to_contain_text("fc")
        expect(page.locator("#code")).to_contain_text("def build")
        page.locator("#arch").scroll_into_view_if_needed()
        _shot(page, "graph")
    finally:
        server.stop()


def test_early_stopped_trials_are_shown_apart_with_the_compute_saved(early_stopped_run, page):
    from nascore.early_stopping import compute_saved, describe_saved
    exp = early_stopped_run
    records = exp.store.models()
    stopped = [r for r in records if r.status == "early_stopped"]
    server = DashboardServer(exp.directory, port=0, quiet=True).start()
    expect = playwright_api.expect
    try:
        page.goto(server.url + f"#/e/{exp.id}")  # the card says what `nascore view` says
        expect(page.locator("#early-card")).to_contain_text(describe_saved(compute_saved(records)))
        expect(page.locator("#counts td[data-status='early_stopped']")).to_have_text(str(len(stopped)))
        page.goto(server.url + f"#/e/{exp.id}/trials?status=early_stopped")
        expect(page.locator("#total")).to_have_text(f"{len(stopped)} trial(s)")
        row = page.locator(f"#trials tbody tr[data-id='{stopped[0].id}']")
        expect(row).to_have_class(re.compile(r"\bearly-stopped\b"))
        badge = row.locator(".status")
        expect(badge).to_have_text("early_stopped")
        # styled apart from interrupted trials (a colour of its own), its metric cell: best reported @ reports
        assert badge.evaluate("e => getComputedStyle(e).borderStyle") == "dashed"
        cell = row.locator("td.early")
        expect(cell).to_have_text(f"{max(stopped[0].intermediates):.4g} @{len(stopped[0].intermediates)}")
        page.goto(server.url + f"#/e/{exp.id}/t/{stopped[0].id}")
        expect(page.locator("#outcome")).to_contain_text(f"after {len(stopped[0].intermediates)} of 9 report(s)")
        expect(page.locator("#curve-title")).to_contain_text("stopped early")
    finally:
        server.stop()


def test_a_live_page_shows_trials_being_stopped(tmp_path, free_port, browser):
    """Pages opened before any trial ran follow the run: rows turn early_stopped with their best metric, and the
    overview's card ends with the figures `nascore view` prints."""
    from nascore.early_stopping import compute_saved, describe_saved
    from nascore.testkit import ToySpace, toy_curve
    go = threading.Event()

    def curve(model):
        go.wait(60)  # bounded: released once both pages are open
        return toy_curve(model, epochs=9, seconds_per_epoch=0.02)

    config = NasExperimentConfig("sequential", "simplified", max_trial_number=12, experiment_name="early-live",
                                 experiment_working_directory=str(tmp_path),
                                 early_stopping={"name": "asha", "max_resource": 9})
    exp = NasExperiment(ToySpace(), FunctionalEvaluator(curve), GridSearch(), config)
    thread = threading.Thread(target=lambda: exp.run(port=free_port()), daemon=True)
    thread.start()
    expect = playwright_api.expect
    pages = []
    try:
        for _ in range(200):
            if exp.dashboard is not None:
                break
            thread.join(0.05)
        table, overview = browser.new_page(), browser.new_page()
        pages += [table, overview]
        errors = []
        for p in pages:
            p.on("console", lambda m: m.type == "error" and errors.append(m.text))
            p.on("pageerror", lambda e: errors.append(str(e)))
        table.goto(exp.dashboard.url + f"#/e/{exp.id}/trials")
        expect(table.locator("#trials tbody tr[data-id='1']")).to_contain_text("training")
        overview.goto(exp.dashboard.url + f"#/e/{exp.id}")
        expect(overview.locator("#status")).to_contain_text("running")
        assert overview.locator("#early-card").count() == 0  # nothing stopped yet
        go.set()
        thread.join(60)
        assert not thread.is_alive()
        records = exp.store.models()
        stopped = [r for r in records if r.status == "early_stopped"]
        assert stopped
        expect(overview.locator("#early-card")).to_contain_text(describe_saved(compute_saved(records)),
                                                                 timeout=10_000)
        for record in stopped:
            expect(table.locator(f"#trials tbody tr[data-id='{record.id}'] td.early")).to_have_text(
                f"{max(record.intermediates):.4g} @{len(record.intermediates)}", timeout=10_000)
        assert errors == []
    finally:
        go.set()
        thread.join(30)
        for p in pages:
            p.close()
        if exp.dashboard is not None:
            exp.dashboard.stop()
