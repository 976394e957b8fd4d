"""A full disk fails the run cleanly: what was stored stays, the error says what happened, resume works after."""
import os
import subprocess

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.experiment.store import StoreError
from nascore.strategy import GridSearch


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (tmpfs; root only)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], capture_output=True)  # the experiment may hold its store open


def test_full_disk_fails_the_run_cleanly_losing_nothing_stored(tiny, make_config, small_disk):
    filler = small_disk / "filler"

    def fill_the_disk_on_the_third(model):
        if model.width * 10 + model.depth == 13:  # the third model in grid order: another process fills the disk
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
        return float(model.width * 10 + model.depth)

    config = make_config(max_trial_number=6, experiment_working_directory=str(small_disk))
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(fill_the_disk_on_the_third), GridSearch(), config)
    with pytest.raises(StoreError, match="full.*nothing stored before is lost.*nascore resume"):
        exp.run()
    assert exp.status == "failed"
    filler.unlink()  # space again
    with ExperimentStore.open(exp.directory) as store:
        records = store.models()
        assert [(r.status, r.final) for r in records[:2]] == [("trained", 11.0), ("trained", 12.0)]
        assert store.status() in ("failed", "interrupted") and store.owner() is None
    resumed = NasExperiment.resume(exp.directory, evaluator=FunctionalEvaluator(tiny.score))
    assert resumed.status == "done"
    with ExperimentStore.open(exp.directory) as store:
        records = store.models()
    assert len(records) == 6 and all(r.status == "trained" for r in records)
    assert [r.final for r in records[:2]] == [11.0, 12.0]  # never re-run
