"""What nascore.testing / nascore.testkit give plugin authors (issue 13 item 12), used as a third party would."""
import os
import subprocess
import sys
import textwrap

from nascore.experiment import ExperimentStore, NasExperiment, NasExperimentConfig
from nascore.strategy import GridSearch, Random
from nascore.testkit import ToySpace, make_space, peak, search, toy_evaluator


def test_search_kit_runs_a_strategy_without_plugins():
    models = search(Random(seed=0), trials=12, space=make_space(n=3, k=4))
    assert len(models) == 12 and all(m.status.value == "trained" for m in models)
    assert [m.metric for m in models] == [peak(m.sample) for m in models]
    assert len({tuple(sorted(m.sample.items())) for m in models}) == 12  # Random dedups


def test_toy_space_and_evaluator_run_a_real_experiment(tmp_path):
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=27,
                                 experiment_working_directory=str(tmp_path))
    exp = NasExperiment(ToySpace(), toy_evaluator(), GridSearch(), config)
    assert exp.run() == "done"
    best = exp.export_top_models(1, formatter="dict")[0]
    assert best == {"a": 2, "b": 0, "c": 1}


def test_a_plugin_authors_tests_write_experiments_to_a_temporary_folder(tmp_path):
    """A third party's test suite, run by pytest with nascore installed: no NASCORE_EXPERIMENT_DIR set, and
    nothing lands in ~/nascore-experiments (HOME is a fresh folder here)."""
    (tmp_path / "test_third_party.py").write_text(textwrap.dedent('''
        import os
        from nascore.experiment import NasExperiment, NasExperimentConfig
        from nascore.strategy import Random
        from nascore.testkit import ToySpace, toy_evaluator

        def test_runs(nascore_experiment_dir):
            exp = NasExperiment(ToySpace(), toy_evaluator(), Random(seed=1),
                                NasExperimentConfig("sequential", "simplified", max_trial_number=2))
            assert exp.run() == "done"
            assert str(exp.directory).startswith(str(nascore_experiment_dir))
            assert os.environ["NASCORE_EXPERIMENT_DIR"] == str(nascore_experiment_dir)
    '''))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NASCORE_EXPERIMENT_DIR"}
    env.update(HOME=str(home))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (home / "nascore-experiments").exists()
