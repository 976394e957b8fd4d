"""The experiment commands of ``nascore``: they read the store, so they work after the experiment's process ends."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from nascore.cli import main

EXPERIMENT_SCRIPT = textwrap.dedent('''
    import sys
    import torch.nn as nn
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import NasExperiment, NasExperimentConfig
    from nascore.mutable import Categorical, ensure_frozen
    from nascore.nn import ModelSpace
    from nascore.strategy import GridSearch

    from cli_space import Net, score

    if __name__ == "__main__":
        config = NasExperimentConfig("sequential", "simplified", experiment_name="cli",
                                     experiment_working_directory=sys.argv[1])
        NasExperiment(Net(), FunctionalEvaluator(score), GridSearch(), config).run()
''')

SPACE_MODULE = textwrap.dedent('''
    import torch.nn as nn
    from nascore.mutable import Categorical, ensure_frozen
    from nascore.nn import ModelSpace

    class Net(ModelSpace):
        def __init__(self):
            super().__init__()
            self.width = ensure_frozen(Categorical([1, 2, 3], label="width"))
            self.lin = nn.Linear(self.width, 1)

    def score(model):
        if model.width == 2:
            raise ValueError("two is bad")
        return float(model.width)
''')


@pytest.fixture
def experiment_dir(tmp_path, capsys):
    """An experiment run by `nascore run script.py` (3 trials: metrics 1, failed, 3)."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "cli_space.py").write_text(SPACE_MODULE)
    (folder / "experiment.py").write_text(EXPERIMENT_SCRIPT)
    workdir = tmp_path / "exps"
    saved_path = list(sys.path)
    try:
        assert main(["run", str(folder / "experiment.py"), str(workdir)]) == 0
    finally:
        sys.path[:] = saved_path
        sys.modules.pop("cli_space", None)
    out = capsys.readouterr().out
    assert "experiment cli done" in out and str(workdir / "cli") in out
    return workdir / "cli"


def test_view_table_and_json(experiment_dir, capsys):
    assert main(["view", str(experiment_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("experiment cli [done]")
    assert lines[1].split() == ["id", "status", "metric", "params", "duration", "sample"]
    assert lines[2].split()[:3] == ["1", "trained", "1"] and lines[2].endswith("width=1")
    assert lines[3].split()[:3] == ["2", "failed", "-"] and "ValueError: two is bad" in lines[3]
    assert lines[4].split()[:3] == ["3", "trained", "3"]

    assert main(["view", str(experiment_dir), "--json", "--status", "trained"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "done" and [m["sample"] for m in data["models"]] == [{"width": 1}, {"width": 3}]


def test_view_shows_samples_compactly_and_fits_a_terminal():
    from nascore.experiment.commands import _compact_sample, _fit, _label_prefix

    samples = [{"digits/width": 16, "digits/op": "conv3x3"}, {"digits/width": 8, "digits/ops": [1, 2]}]
    prefix = _label_prefix([label for s in samples for label in s])
    assert prefix == "digits/"  # a common prefix is cut at the last "/", not inside a label
    assert [_compact_sample(s, prefix) for s in samples] == ["width=16 op=conv3x3", "width=8 ops=[1, 2]"]
    assert _label_prefix(["a/x", "b/y"]) == "" and _label_prefix([]) == ""
    assert _fit("x" * 30, 10) == "x" * 9 + "…" and _fit("x" * 30, None) == "x" * 30 and _fit("abc", 10) == "abc"


def test_export_dict_and_code(experiment_dir, capsys, tmp_path):
    assert main(["export", str(experiment_dir), "--top-k", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["id"], d["metric"], d["sample"]) for d in data] == [(3, 3.0, {"width": 3}), (1, 1.0, {"width": 1})]
    assert main(["export", str(experiment_dir), "--top-k", "1", "--formatter", "code", "-o", str(tmp_path / "o")]) == 2
    # a simplified model is turned into code by the graph format where it can be; this one has no forward()
    assert "'simplified' model could not be turned into code (format 'graph'" in capsys.readouterr().err


def test_plot(experiment_dir, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["plot", str(experiment_dir), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000


def test_missing_store_is_a_clear_error(tmp_path, capsys):
    assert main(["view", str(tmp_path)]) == 2
    assert "no experiment store" in capsys.readouterr().err


def test_commands_in_a_fresh_process(experiment_dir):
    """`python -m nascore view/export` after the process that ran the experiment is gone."""
    env = dict(os.environ)
    view = subprocess.run([sys.executable, "-m", "nascore", "view", str(experiment_dir)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert view.returncode == 0, view.stderr
    assert "3 trial(s): 1 failed, 2 trained" in view.stdout
    export = subprocess.run([sys.executable, "-m", "nascore", "export", str(experiment_dir), "--top-k", "1"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert json.loads(export.stdout)[0]["sample"] == {"width": 3}


def test_resume_command_on_finished_experiment(experiment_dir, capsys):
    sys.path.insert(0, str(experiment_dir.parent.parent / "proj"))
    try:
        assert main(["resume", str(experiment_dir)]) == 0
    finally:
        sys.path.remove(str(experiment_dir.parent.parent / "proj"))
        sys.modules.pop("cli_space", None)
    out = capsys.readouterr().out
    assert "experiment cli done: 2 trials done, 1 failed" in out  # nothing re-run, nothing lost
