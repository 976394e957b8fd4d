"""The experiment subcommands of ``nascore``: run, view, export, resume, plot, dashboard.

All but ``run`` read the experiment's store, so they work after the process that ran it is gone.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from nascore.early_stopping.accounting import compute_saved, describe_saved
from nascore.metric import is_valid_metric

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Add the experiment commands to ``nascore``'s subparsers (called by :mod:`nascore.cli`)."""
    run = subparsers.add_parser("run", help="run a python file or callable that builds and runs an experiment")
    run.add_argument("target", help="path/to/file.py, or module:attribute (called when callable)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed on to the file (sys.argv[1:])")
    run.set_defaults(handler=_run)

    view = subparsers.add_parser("view", help="show the trials of an experiment")
    view.add_argument("directory", help="the experiment directory (holds nascore.db)")
    view.add_argument("--json", action="store_true", help="machine-readable output")
    view.add_argument("--status", help="only trials with this status (trained, failed, interrupted ...)")
    view.add_argument("--pareto", action="store_true",
                      help="only the Pareto front of the objectives (trained models meeting every constraint)")
    view.set_defaults(handler=_view)

    export = subparsers.add_parser("export", help="export the best models of an experiment")
    export.add_argument("directory", help="the experiment directory")
    export.add_argument("--top-k", type=int, default=1, help="how many models (default 1)")
    export.add_argument("--formatter", choices=["dict", "code"], default="dict",
                        help="dict: samples as JSON on stdout; code: one .py file per model in OUTDIR")
    export.add_argument("-o", "--output", help="folder for --formatter code (default: the current folder)")
    export.add_argument("--pareto", action="store_true", help="every model of the Pareto front (not --top-k)")
    export.set_defaults(handler=_export)

    resume = subparsers.add_parser("resume", help="continue a stopped or killed experiment")
    resume.add_argument("directory", help="the experiment directory")
    resume.add_argument("--retry-failed", action="store_true",
                        help="run failed trials again (failures the environment caused: a full disk, a dead machine)")
    resume.set_defaults(handler=_resume)

    plot = subparsers.add_parser("plot", help="plot the metric of each trial and the best so far")
    plot.add_argument("directory", help="the experiment directory")
    plot.add_argument("-o", "--output", required=True, help="image file to write (e.g. out.png)")
    plot.add_argument("--pareto", action="store_true",
                      help="models in objective space with the Pareto front (pairwise charts for 3+ objectives)")
    plot.set_defaults(handler=_plot)

    dashboard = subparsers.add_parser("dashboard", help="serve stored experiments in a web page (read-only)")
    dashboard.add_argument("directory", nargs="?", default="~/nascore-experiments",
                           help="an experiment directory, or a folder of them (default ~/nascore-experiments)")
    dashboard.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to bind (default 127.0.0.1; another address asks for the token everywhere)")
    dashboard.set_defaults(handler=_dashboard)


def _error(message: str) -> int:
    print(f"nascore: error: {message}", file=sys.stderr)
    return 2


def _open(directory: str):
    from nascore.experiment.store import ExperimentStore
    return ExperimentStore.open(directory)


# ---- run ------------------------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    target: str = args.target
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            return _error(f"no such file: {target}")
        sys.path.insert(0, str(path.resolve().parent))  # as `python file.py` would
        sys.argv = [str(path), *args.args]
        runpy.run_path(str(path), run_name="__main__")
        return 0
    if ":" not in target:
        return _error(f"TARGET must be path/to/file.py or module:attribute, got {target!r}")
    from nascore.trace import import_symbol
    sys.path.insert(0, str(Path.cwd()))
    try:
        obj = import_symbol(target)
    except (ImportError, ValueError) as exc:
        return _error(str(exc))
    result = obj(*args.args) if callable(obj) else obj
    if hasattr(result, "run") and getattr(result, "status", None) == "created":
        result.run()  # a factory that returned an experiment without running it
    return 0


# ---- view -------------------------------------------------------------------------------------------------
def _best_reported(objective: Any, record: Any) -> Optional[float]:
    """The best intermediate value of ``objective`` an (early-stopped) model reported: what strategies rank it by."""
    values = [v for v in map(objective.value, record.intermediates) if is_valid_metric(v)]
    return max(values, key=objective.score) if values else None


def _fmt_metric(value: Optional[float]) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.6g}"


def _fmt_count(value: Optional[float]) -> str:
    """``1234`` → ``1.2k``, ``3.4M``: sizes are read at a glance (``--json`` has the exact number)."""
    if value is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.0f}"


def _fmt_duration(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def _view(args: argparse.Namespace) -> int:
    from nascore.experiment.store import StoreError
    if args.status is not None:
        from nascore.space import ModelStatus
        from nascore.suggest import did_you_mean
        statuses = [s.value for s in ModelStatus]
        if args.status not in statuses:
            close = did_you_mean(args.status, statuses)
            hint = f"did you mean '{close}'? " if close else ""
            return _error(f"unknown status '{args.status}'; {hint}statuses are: {', '.join(statuses)}")
    try:
        store = _open(args.directory)
    except StoreError as exc:
        return _error(str(exc))
    with store:
        records = store.models(args.status)
        objective, objectives = store.objective(), store.objectives()
        if args.pareto:
            try:
                records = _front(store, records)
            except ValueError as exc:
                return _error(str(exc))
        if args.json:
            print(json.dumps({"id": store.get_meta("id"), "status": store.status(),
                              "objective": objective.to_json(), "objectives": [o.to_json() for o in objectives],
                              "config": store.config(), "models": [r.to_json() for r in records],
                              "early_stopping": compute_saved(store.models())},
                             indent=2, default=str))
            return 0
        status, owner = store.status(), store.owner()
        if owner:
            status += f", pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
        print(f"experiment {store.get_meta('id')} [{status}]  {store.directory}")
        prefix = _label_prefix([label for r in records for label in r.sample])
        metric_header = objective.name if objective.name != "default" else "metric"
        headers = [metric_header] if objectives == [objective] else [_header(o) for o in objectives]
        sizes = [name for name in ("params", "flops") if name not in {o.name for o in objectives}
                 and any(name in r.profile for r in records)]  # what was built, next to how it scored
        rows = [("id", "status", *headers, *sizes, "duration", f"sample ({prefix}...)" if prefix else "sample")]
        for r in records:
            sample = _compact_sample(r.sample, prefix)
            if r.failure_reason and r.status != "trained":
                sample += f"  ({r.failure_reason[:80]})"
            named = r.named_metrics(objective.name)
            metrics = [_fmt_metric(named.get(o.name)) for o in objectives]
            if r.status == "early_stopped" and objectives == [objective]:  # its best reported @ the reports it ran
                best = _best_reported(objective, r)
                metrics = [f"{_fmt_metric(best)}@{len(r.intermediates)}" if best is not None else "-"]
            rows.append((str(r.id), r.status, *metrics,
                         *(_fmt_count(r.profile.get(name)) for name in sizes), _fmt_duration(r.duration), sample))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        for row in rows:
            print(_fit("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1], columns))
        counts = store.counts()
        distinct = len({json.dumps(r.sample, sort_keys=True, default=repr) for r in records})
        rejected = store.get_meta("models_rejected") or 0
        print(f"{len(records)} trial(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
              + f"; {distinct} distinct architecture(s)"
              + (f"; {rejected} model(s) rejected before training by constraints" if rejected else ""))
        saved = compute_saved(store.models())
        if saved:
            print(f"early stopping: {describe_saved(saved)}")
        if args.pareto:
            print(f"{len(records)} model(s) on the Pareto front of " + ", ".join(str(o) for o in objectives))
            return 0
        best = store.top_models(1, objective)
        if best and len(objectives) == 1:
            print(f"best: #{best[0].id} {metric_header}={_fmt_metric(objective.value(best[0].final))} "
                  f"({'higher' if objective.higher_is_better else 'lower'} is better)")
    return 0


def _header(objective: Any) -> str:
    name = "metric" if objective.name == "default" else objective.name
    return f"{name} ({objective.mode})"


def _front(store: Any, records: List[Any]) -> List[Any]:
    """The records on the Pareto front of the store's objectives, meeting its (string) constraints."""
    from nascore.experiment.front import pareto_records
    return pareto_records(records, store.objectives(), store.objective().name, store.constraints())


def _label_prefix(labels: List[str]) -> str:
    """The ``scope/`` every label starts with (a ModelSpace's label_prefix), shown once in the header."""
    if not labels:
        return ""
    common = os.path.commonprefix(labels)
    return common[:common.rfind("/") + 1]


def _compact_sample(sample: Dict[str, Any], prefix: str) -> str:
    return " ".join(f"{label[len(prefix):]}={value if isinstance(value, str) else json.dumps(value)}"
                    for label, value in sample.items())


def _fit(line: str, columns: Optional[int]) -> str:
    """``line`` cut to a terminal's width (``--json`` has everything); unchanged when not on a terminal."""
    if columns is None or len(line) <= columns:
        return line
    return line[:max(columns - 1, 0)] + "…"


# ---- export -------------------------------------------------------------------------------------------------
def _export(args: argparse.Namespace) -> int:
    from nascore.experiment.store import StoreError
    if args.top_k < 1:
        return _error(f"--top-k must be at least 1, got {args.top_k}")
    try:
        _checkpoint(args.directory)
        store = _open(args.directory)
    except StoreError as exc:
        return _error(str(exc))
    with store:
        if args.pareto:
            try:
                records = _front(store, store.models())
            except ValueError as exc:
                return _error(str(exc))
        else:
            from nascore.experiment.front import top_records
            records = top_records(store, args.top_k, store.objectives())
        if args.formatter == "dict":
            name = store.objective().name
            print(json.dumps([{"id": r.id, "metric": r.metric, "sample": r.sample,
                               "objectives": {o.name: r.named_metrics(name).get(o.name) for o in store.objectives()}}
                              for r in records], indent=2))
            return 0
        return _export_code(store, records, Path(args.output or "."))


def _export_code(store: Any, records: List[Any], outdir: Path) -> int:
    from nascore.experiment.config import ConfigError
    from nascore.experiment.experiment import model_code
    from nascore.experiment.resume import restore_import_paths
    from nascore.plugins import UnknownComponentError, get_plugin_manager
    from nascore.weights import weights_file, with_weights_loader
    format_name = store.get_meta("model_format")
    try:
        format_cls = get_plugin_manager().get_model_format(format_name).load()
    except UnknownComponentError as exc:
        return _error(str(exc))
    restore_import_paths(store)
    outdir.mkdir(parents=True, exist_ok=True)
    for r in records:
        if r.payload is None:
            return _error(f"model #{r.id} has no stored payload, so its code cannot be generated")
        try:
            code = model_code(format_cls.from_payload(r.payload), format_name)
        except ConfigError as exc:
            return _error(str(exc))
        weights = weights_file(store.directory, r.id)
        if weights.is_file():  # next to the code, which loads it: load_trained()
            shutil.copyfile(weights, outdir / weights.name)
        else:
            print(f"nascore: model #{r.id}: its trained weights were not kept (keep_weights); the code builds it "
                  "untrained", file=sys.stderr)
        path = outdir / f"model_{r.id}.py"
        path.write_text(with_weights_loader(code, weights if weights.is_file() else None, relative=True))
        print(path)
    return 0


def _checkpoint(directory: str) -> None:
    """Export leaves ``nascore.db`` complete on its own (a crash leaves recent records in ``nascore.db-wal``):
    unless a live process owns the experiment, or the storage is read-only."""
    from nascore.experiment.lock import lock_owner
    from nascore.experiment.store import DB_NAME, ExperimentStore
    path = Path(directory).expanduser()
    wal = path / f"{DB_NAME}-wal"
    if not wal.is_file() or lock_owner(path) is not None or not os.access(path, os.W_OK):
        return
    store = ExperimentStore(path / DB_NAME)  # read-write: SQLite moves the log into the file
    with store:
        store.checkpoint()


# ---- resume -------------------------------------------------------------------------------------------------
def _resume(args: argparse.Namespace) -> int:
    from nascore.experiment import NasExperiment
    from nascore.experiment.lock import ExperimentLockedError
    from nascore.experiment.resume import ResumeError
    from nascore.experiment.store import StoreError
    import getpass
    ask = getpass.getpass if sys.stdin.isatty() else None  # a password the store never held: ask for it
    try:
        status = NasExperiment.resume(args.directory, retry_failed=args.retry_failed, ask_secret=ask).status
    except (ResumeError, StoreError, ExperimentLockedError) as exc:
        return _error(str(exc))
    return 0 if status in ("done", "stopped") else 1


# ---- plot ---------------------------------------------------------------------------------------------------
def _plot(args: argparse.Namespace) -> int:
    from nascore.experiment.store import StoreError
    try:
        store = _open(args.directory)
    except StoreError as exc:
        return _error(str(exc))
    with store:
        records = store.models()
        objective = store.objective()
        experiment_id = store.get_meta("id")
        if args.pareto:
            objectives = store.objectives()
            if len(objectives) < 2:
                return _error(f"--pareto needs at least two objectives; this experiment has one ({objective}). "
                              "Declare them with NasExperimentConfig(objectives={'accuracy': 'max', 'params': 'min'})")
            try:
                front = _front(store, records)
            except ValueError as exc:
                return _error(str(exc))
            from nascore.experiment.pareto_plot import plot_pareto
            plot_pareto(records, front, objectives, objective.name, args.output, f"experiment {experiment_id}")
            print(args.output)
            return 0
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(r.id, value) for r in records if r.status == "trained"
              for value in [objective.value(r.final)] if is_valid_metric(value)]
    best, curve = None, []
    for _, value in points:
        if best is None or objective.better(value, best):
            best = value
        curve.append(best)
    # early-stopped trials apart: their best intermediate metric, hollow, never in the best-so-far curve
    stopped = [(r.id, best) for r in records if r.status == "early_stopped"
               for best in [_best_reported(objective, r)] if best is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    metadata = {}
    if stopped:
        saved = describe_saved(compute_saved(records))
        ax.scatter([p[0] for p in stopped], [p[1] for p in stopped], s=18, facecolors="none", edgecolors="tab:gray",
                   label="early stopped (best reported)")
        fig.text(0.01, 0.01, f"early stopping: {saved}", fontsize=7, color="tab:gray")
        if str(args.output).lower().endswith((".png", ".svg")):  # formats with a Description field
            metadata["Description"] = f"early stopping: {saved}"  # the line `nascore view` prints, for tools
    if points:
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=18, label="trial metric")
        ax.step([p[0] for p in points], curve, where="post", color="tab:red", label="best so far")
    if points or stopped:
        ax.legend(loc="best")
    ax.set_xlabel("trial id")
    ax.set_ylabel(f"{objective.name} ({'higher' if objective.higher_is_better else 'lower'} is better)")
    ax.set_title(f"experiment {experiment_id}: {len(points)} trial(s) with a metric")
    fig.tight_layout(rect=(0, 0.03 if stopped else 0, 1, 1))
    fig.savefig(args.output, metadata=metadata or None)
    plt.close(fig)
    print(args.output)
    return 0


# ---- dashboard ----------------------------------------------------------------------------------------------
def _dashboard(args: argparse.Namespace) -> int:
    from nascore.experiment.defaults import dashboard_port
    from nascore.plugins import get_plugin_manager
    directory = Path(args.directory).expanduser()
    if not directory.is_dir():
        return _error(f"no such directory: {directory} (pass an experiment directory or a folder of them)")
    try:
        dashboard_port(args.port)
    except ValueError as exc:
        return _error(str(exc))
    spec = get_plugin_manager().get_dashboard()
    if spec is None:
        return _error("no dashboard is installed; pip install nascore-dashboard")
    try:
        server = spec.load()(directory, port=args.port, host=args.host)
    except (OSError, RuntimeError) as exc:  # a busy port, an address that cannot be bound: said plainly
        return _error(str(exc))
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a viewer is closed: a normal end
        pass
    return 0
