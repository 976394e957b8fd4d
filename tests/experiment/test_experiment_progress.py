"""Progress while an experiment runs: a live line on a terminal, one line per finished trial otherwise; log levels."""
import io
import logging
import subprocess
import sys
import threading

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.experiment.progress import Progress, eta, format_duration, format_line
from nascore.logs import configure_logging
from nascore.strategy import GridSearch


class Terminal(io.StringIO):
    def isatty(self):
        return True


STATS = {"done": 11, "failed": 1, "running": 2, "best": 0.93, "best_id": 7, "budget": 50, "finished": 12}


def test_durations_read_like_a_clock():
    assert [format_duration(s) for s in (0, 45, 80, 240, 600, 3900)] == ["0s", "45s", "1m20s", "4m", "10m",
                                                                          "1h05m"]


def test_line_has_budget_best_trial_and_eta():
    assert format_line(STATS, 80) == "12/50 trials, 2 running, 1 failed, best 0.93 (#7), 1m20s, ETA 4m13s"
    # no budget: no fraction and no ETA; nothing trained yet: best is '-'
    assert format_line({"done": 0, "running": 1, "failed": 0}, 5) == "0 trials, 1 running, 0 failed, best -, 5s"


def test_eta_uses_this_run_pace_and_the_time_budget():
    assert eta(STATS, 120) == pytest.approx(120 / 12 * 38)
    resumed = {**STATS, "finished_at_start": 10}  # 2 trials in 20 s this run: 10 s each
    assert eta(resumed, 20) == pytest.approx(380)
    assert eta({**STATS, "time_budget": 100}, 80) == pytest.approx(20)
    assert eta({"finished": 3}, 10) is None


def test_terminal_gets_a_live_line_and_a_pipe_gets_none():
    drawn, calls = threading.Event(), []

    def stats():
        calls.append(1)
        if len(calls) > 1:  # the first call is the count at start; the next ones draw the line
            drawn.set()
        return dict(STATS)

    terminal, pipe = Terminal(), io.StringIO()
    with Progress(stats, stream=terminal, interval=0.01):
        assert drawn.wait(5)
    with Progress(stats, stream=pipe, interval=0.01):
        pass
    assert "\r12/50 trials, 2 running, 1 failed, best 0.93 (#7)" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_progress_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("NASCORE_PROGRESS", "off")
    assert Progress(lambda: STATS, stream=Terminal()).mode == "off"
    monkeypatch.setenv("NASCORE_PROGRESS", "lines")
    assert Progress(lambda: STATS, stream=Terminal()).mode == "lines"


def test_a_run_not_on_a_terminal_prints_one_line_per_finished_trial(tiny, make_config, capsys):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score, mode="raise"), GridSearch(),
                        make_config(max_trial_number=5))
    exp.run()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("trial #")]
    assert len(lines) == 5
    records = {r.id: r for r in exp.store.models()}
    for line in lines:
        model_id = int(line.split()[1][1:])
        assert f"trial #{model_id} {records[model_id].status}" in line
    failed = [line for line in lines if " failed: " in line]
    assert failed and all("width 2 is broken" in line for line in failed)
    assert lines[-1].split(" | ")[1].startswith("5/5 trials, 0 running")


def test_log_level_from_the_environment_shows_info_messages(monkeypatch):
    monkeypatch.setenv("NASCORE_LOG_LEVEL", "info")
    code = ("import logging; from nascore.logs import configure_logging; configure_logging(); "
            "logging.getLogger('nascore.experiment').info('hello at info'); "
            "logging.getLogger('nascore.experiment').debug('not at debug')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "INFO nascore.experiment: hello at info" in done.stderr
    assert "not at debug" not in done.stderr


def test_bad_log_level_is_refused_by_the_cli(monkeypatch):
    monkeypatch.setenv("NASCORE_LOG_LEVEL", "loud")
    done = subprocess.run([sys.executable, "-m", "nascore", "plugins"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown log level 'loud'" in done.stderr
    with pytest.raises(ValueError, match="use one of DEBUG, INFO"):
        configure_logging("loud")


def test_user_logging_config_is_respected():
    logger = logging.getLogger("nascore")
    before = (logger.level, list(logger.handlers), logger.propagate)
    root_handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(root_handler)
    try:
        assert configure_logging("DEBUG") == logging.DEBUG
        assert logger.level == logging.DEBUG and logger.handlers == before[1] and logger.propagate
    finally:
        logging.getLogger().removeHandler(root_handler)
        logger.setLevel(before[0])
