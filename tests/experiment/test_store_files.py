"""The store's file on disk: read-only storage, damaged files, the write-ahead log, viewers that never write."""
import hashlib
import os
import shutil
import subprocess

import pytest

from nascore.cli import main
from nascore.experiment import ExperimentStore
from nascore.experiment.store import DB_NAME, StoreError


def _store_with_models(directory, n=3):
    store = ExperimentStore.create(directory)
    store.set_meta("id", "probe")
    store.set_meta("status", "done")
    for i in range(n):
        model_id = store.add_model({"width": i}, session=1)
        store.set_final(model_id, float(i))
        store.end_model(model_id, "trained")
    return store


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder on read-only storage: a read-only bind mount when we are root (permissions do not stop root),
    else a folder without write permission."""
    source, mounted = tmp_path / "source", tmp_path / "readonly"
    source.mkdir()
    mounted.mkdir()
    if os.geteuid() != 0:
        yield source, lambda: source.chmod(0o555)
        source.chmod(0o755)
        return

    def freeze():
        for args in (["mount", "--bind", str(source), str(mounted)],
                     ["mount", "-o", "remount,ro,bind", str(mounted)]):
            if subprocess.run(args, capture_output=True).returncode != 0:
                pytest.skip("cannot make a read-only mount here")

    yield source, freeze
    subprocess.run(["umount", str(mounted)], capture_output=True)


def test_store_on_read_only_storage_is_viewed_and_exported(readonly_dir, tmp_path, capsys):
    source, freeze = readonly_dir
    _store_with_models(source).close()
    freeze()
    target = source if os.geteuid() != 0 else tmp_path / "readonly"
    with pytest.raises(OSError):
        (target / "probe").write_text("x")  # really read-only
    assert main(["view", str(target)]) == 0
    assert "3 trial(s): 3 trained" in capsys.readouterr().out
    assert main(["export", str(target), "--top-k", "1"]) == 0
    assert '"width": 2' in capsys.readouterr().out
    assert main(["plot", str(target), "-o", str(tmp_path / "plot.png")]) == 0
    with ExperimentStore.open(target) as store, pytest.raises(StoreError, match="read-only"):
        store.set_meta("x", 1)


def test_viewers_never_write_and_export_checkpoints_the_log(tmp_path, capsys):
    live = _store_with_models(tmp_path / "live")  # still open: its records sit in nascore.db-wal
    crashed = tmp_path / "crashed"
    shutil.copytree(tmp_path / "live", crashed)  # what a crash leaves: nascore.db + nascore.db-wal
    live.close()
    db, wal = crashed / DB_NAME, crashed / f"{DB_NAME}-wal"
    assert wal.stat().st_size > 0
    before = (_digest(db), db.stat().st_mtime_ns, _digest(wal))
    assert main(["view", str(crashed)]) == 0 and "3 trained" in capsys.readouterr().out
    assert main(["plot", str(crashed), "-o", str(tmp_path / "p.png")]) == 0
    assert (_digest(db), db.stat().st_mtime_ns, _digest(wal)) == before  # viewers changed nothing

    assert main(["export", str(crashed)]) == 0
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(db, alone / DB_NAME)  # nascore.db alone, without its log, now holds everything
    with ExperimentStore.open(alone) as store:
        assert [r.final for r in store.models()] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("damage", ["truncated", "junk", "bad_pages"])
def test_damaged_store_names_the_file_and_what_is_readable(tmp_path, capsys, damage):
    store = _store_with_models(tmp_path / "exp", n=200)
    store.checkpoint()
    store.close()
    db = tmp_path / "exp" / DB_NAME
    data = db.read_bytes()
    db.write_bytes({"truncated": data[: len(data) // 2], "junk": b"not a database " * 300,
                    "bad_pages": data[:9 * 4096] + b"\xff" * (len(data) - 9 * 4096)}[damage])
    for command in (["view", str(db.parent)], ["export", str(db.parent)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"experiment store {db}" in err and "is damaged" in err and "sqlite3" in err
        assert "Traceback" not in err
        if damage == "junk":
            assert "file is not a database" in err and "nothing in it can be read" in err
        elif damage == "bad_pages":  # the models' pages are lost; the rest can be read
            assert "still readable: meta (3 rows), events (400 rows); unreadable: models" in err
        else:
            assert "database disk image is malformed" in err


def test_a_rerun_trial_keeps_its_attempts_apart_and_shows_the_last(tmp_path):
    from nascore.conformance import ConformanceModel
    from nascore.engine import ExecutionEngine, IntermediateMetricEvent
    store = ExperimentStore.create(tmp_path / "exp")
    model_id = store.add_model({"x": 1}, session=1)
    for metric, attempt in ((0.1, 0), (0.2, 0), (0.5, 1), (0.6, 1), (0.7, 1)):
        store.add_intermediate(model_id, metric, attempt=attempt)
    assert store.model(model_id).intermediates == [0.5, 0.6, 0.7]  # the last attempt's curve, not a stitch
    assert store.models()[0].intermediates == [0.5, 0.6, 0.7]
    rows = store._execute("SELECT attempt, COUNT(*) AS n FROM events GROUP BY attempt").fetchall()
    assert [(r["attempt"], r["n"]) for r in rows] == [(0, 2), (1, 3)]  # the dead run's metrics are kept apart
    model = ConformanceModel({"x": 1})
    for metric, attempt in ((0.1, 0), (0.2, 0), (0.5, 1)):  # the same on the model object
        ExecutionEngine.apply_event(IntermediateMetricEvent(model, metric, attempt=attempt))
    assert model.metrics.intermediates == [0.5]
