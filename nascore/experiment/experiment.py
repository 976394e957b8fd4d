"""``NasExperiment``: runs a strategy over a model space with an engine, recording everything in a store."""
from __future__ import annotations

import logging
import os
import re
import secrets
import string
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from nascore.constraints import parse_constraints
from nascore.early_stopping.base import build_early_stopper
from nascore.early_stopping.middleware import EarlyStoppingMiddleware
from nascore.engine import ExecutionEngine, Middleware
from nascore.experiment import persist
from nascore.experiment.checks import check_experiment_parts
from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore.experiment.defaults import (as_config, check_strategy_fits, dashboard_port, infer_config,
                                         resolve_strategy)
from nascore.experiment.gate import ModelGate
from nascore.experiment.lock import ExperimentLock
from nascore.experiment.objective_config import apply_objectives, resolve_objectives
from nascore.experiment.secrets import secret_note, set_secret_paths
from nascore.experiment.progress import Progress, format_summary
from nascore.experiment.recorder import RecordingMiddleware
from nascore.experiment.results import ExperimentResults
from nascore.experiment.results import model_code as model_code  # re-exported: its former home
from nascore.experiment.store import DB_NAME, ExperimentStore, ModelRecord, StoreError
from nascore.cpu import sized_torch_threads
from nascore.interrupts import handle_signals, signal_received
from nascore.logs import configure_logging
from nascore.metric import NO_USABLE_FINAL, Objective, resolve_objective
from nascore.plugins import get_plugin_manager
from nascore.seeding import seed_strategy
from nascore.weights import WeightsKeeper, keep_count, weights_usage
from nascore.space import ExecutableModelSpace, ModelStatus

__all__ = ["NasExperiment"]

_logger = logging.getLogger(__name__)

_STATE_SAVE_INTERVAL = 2.0  # seconds between strategy checkpoints taken while models finish


def _new_id(name: Optional[str]) -> str:
    if name:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
        if slug:
            return slug
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


class NasExperiment(ExperimentResults):
    """A NAS experiment: ``NasExperiment(model_space, evaluator, strategy, config=None).run()``.

    ``strategy`` None takes ``config.strategy``, or else the default (:func:`nascore.experiment.defaults.
    default_strategy`: ``BayesOpt``, or ``NSGA2`` for several objectives without weights).

    ``config`` None (or with engine/format unset) is inferred from the strategy: one-shot strategies use
    ``raw`` + ``sequential``, multi-trial ones ``simplified`` + ``ts`` on the ``local`` training service.
    Every experiment gets a directory ``<experiment_working_directory>/<id>`` holding its store.
    """

    def __init__(self, model_space: Any, evaluator: Any, strategy: Any = None,
                 config: Union[None, NasExperimentConfig, dict, str, Path] = None) -> None:
        check_experiment_parts(model_space, evaluator, strategy)
        self.model_space = model_space
        self.evaluator = evaluator
        config = as_config(config)
        self.strategy = resolve_strategy(strategy, config)
        self.config: NasExperimentConfig = infer_config(config, self.strategy)
        self.objective  # a config contradicting the evaluator's direction is reported now, not after a run
        self.id: str = _new_id(self.config.experiment_name)
        self._status = "created"
        self._store: Optional[ExperimentStore] = None
        self._engine: Optional[RecordingMiddleware] = None
        self._format_space: Optional[ExecutableModelSpace] = None
        self._format_cls: Any = None
        self._live: Dict[int, ExecutableModelSpace] = {}
        self._weights_keeper: Optional[WeightsKeeper] = None
        self._progress: Optional[Progress] = None
        self._owner_lock: Optional[ExperimentLock] = None  # held while this process runs the experiment
        #: what the run optimises (set when it starts: ``config.objectives`` or the evaluator's metric)
        self.objectives: List[Objective] = []
        self._gate: Optional[ModelGate] = None
        self._resuming = False
        #: 1 for the first run of the experiment, +1 for each resumed run (observers can tell a resume by it)
        self.session = 0
        self._retry_failed = False
        self._stop_requested = False
        self._last_state_save = 0.0
        self._started = time.monotonic()
        #: the live dashboard serving this experiment (``run(config, port)`` with nascore-dashboard installed)
        self.dashboard: Any = None

    # ---- identity ---------------------------------------------------------------------------------------
    @property
    def directory(self) -> Path:
        """``<experiment_working_directory>/<id>``: where the store (``nascore.db``) lives."""
        return Path(self.config.experiment_working_directory).expanduser().resolve() / self.id

    @property
    def objective(self) -> Objective:
        """What the experiment optimises: the evaluator's declared metric and direction, the config's
        ``metric_direction`` filling in where the evaluator declares none (:func:`nascore.metric.resolve_objective`).
        An :class:`~nascore.metric.ObjectiveConflictError` says when the two contradict."""
        return resolve_objective(self.evaluator, self.config.metric_direction)

    @property
    def status(self) -> str:
        """created | running | done | stopped | interrupted | failed"""
        return self._status

    @property
    def store(self) -> ExperimentStore:
        if self._store is None:
            if (self.directory / DB_NAME).is_file():
                self._store = ExperimentStore.open(self.directory)
            else:
                raise RuntimeError(f"experiment {self.id} has not run yet; call run() first")
        return self._store

    def __repr__(self) -> str:
        return f"<NasExperiment {self.id} {self._status} at {self.directory}>"

    # ---- running ----------------------------------------------------------------------------------------
    def run(self, config: Union[None, NasExperimentConfig, dict, str, Path] = None,
            port: Optional[int] = None) -> str:
        """Run until the strategy finishes, the budget is used up, ``stop()`` is called or Ctrl-C.

        Returns the final status ("done", "stopped", "interrupted"); a strategy error is re-raised after the
        store is closed consistently (status "failed"). SIGTERM is handled like Ctrl-C ("interrupted"). Only one
        process runs an experiment directory at a time: another owner makes this raise
        :class:`~nascore.experiment.lock.ExperimentLockedError` naming its pid and host.
        """
        if self._owner_lock is not None:
            raise RuntimeError(f"experiment {self.id} is already running")
        if config is not None:
            self.config = infer_config(config, self.strategy)
        check_strategy_fits(self.config, self.strategy)
        configure_logging()  # $NASCORE_LOG_LEVEL, when set, for scripts that run experiments themselves
        objective = self.objective
        port = dashboard_port(port)
        self.config.check()

        pm = get_plugin_manager()
        format_spec = pm.get_model_format(self.config.model_format.name)
        self._format_cls = format_spec.load()
        self._format_space = self._format_cls.from_model(self.model_space, self.evaluator, self.config.model_format)
        if hasattr(self.model_space, "named_modules"):  # third-party formats get canonical samples too
            self._format_space.keep_structure(self.model_space)
        self.objectives = resolve_objectives(self.config, objective)
        gate = ModelGate.from_config(self.config, self.objectives, self._format_space.simplify(),
                                     evaluator=self.evaluator)
        apply_objectives(self.strategy, self.objectives, self.config.objective_weights, objective.name, gate)
        store = self._open_store()  # before any engine starts workers: a store that cannot be made leaves none
        inner: Optional[ExecutionEngine] = None
        try:
            inner = self._build_engine()
            stopper = build_early_stopper(self.config.early_stopping)
            if stopper is not None:  # first to see the engine's events: a stopped trial ends early_stopped
                inner = EarlyStoppingMiddleware(inner, stopper, objective)
            self._point_logs_here(inner)
            self._warm_up(inner)  # workers import torch while the rest is prepared
            session = self.session = int(store.get_meta("sessions", 0) or 0) + 1
            previous = store.models() if self._resuming else []
            if isinstance(inner, EarlyStoppingMiddleware):  # a resumed stopper knows the earlier sessions' curves
                inner.replay(previous)
            if self._resuming:  # the count of models rejected by constraints runs over every session
                gate.rejected = int(store.get_meta("models_rejected", 0) or 0)
            self._write_experiment_meta(store, session)
            if port is not None:
                self._start_dashboard(port, store)
            engine = RecordingMiddleware(inner, store, session, serializable=format_spec.serializable,
                                         max_trial_number=self.config.max_trial_number,
                                         on_model_finished=self._model_finished, gate=gate,
                                         on_store_error=self._store_failed,
                                         objective=objective,
                                         objectives=self.objectives if self.config.objectives else None,
                                         keep_weights=keep_count(self.config.keep_weights),
                                         seed=self.config.seed)
            engine.load_previous([r for r in previous if not self._retried(r)])
        except BaseException:
            if inner is not None:  # workers it started must not outlive a run that never began
                try:
                    inner.shutdown()
                except Exception:  # noqa: BLE001 - the original error is the one to report
                    _logger.exception("engine shutdown failed")
            self._release_owner_lock()
            raise
        self._gate = gate
        self._engine = engine
        self._progress = Progress(self._stats)
        self._weights_keeper = None  # rebuilt from the store at the first finished model
        self._stop_requested = False
        self._status = "running"
        self._started = time.monotonic()
        store.set_status("running")
        pm.notify("nascore_experiment_started", experiment=self)

        status, error = "done", None
        self._store_error: Optional[Exception] = None
        # SIGTERM like Ctrl-C; a trial's own sys.exit() is told apart (nascore.interrupts); torch threads fit
        # the cores that are free (nascore.cpu)
        with handle_signals(), sized_torch_threads():
            try:
                with self._progress:
                    if hasattr(self.strategy, "objective") or hasattr(self.strategy, "metric_direction"):
                        self._give_objective(self._strategy_objective(objective))
                    self.strategy.working_directory = str(Path(self.directory) / "strategy")
                    seed_strategy(self.strategy, self.config.seed)
                    self._restore_strategy_state(store, previous)
                    self._rerun_unfinished(engine, previous)
                    self.strategy.initialize(self._format_space, engine)
                    if not self._stop_requested:
                        self.strategy.run()
                    engine.wait_models()
                if self._stop_requested:
                    status = "stopped"
            except KeyboardInterrupt:
                status = "interrupted"
            except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised below
                if signal_received() is not None:  # e.g. Lightning turns a Ctrl-C into SystemExit(1)
                    status = "interrupted"
                elif self._stop_requested:
                    _logger.debug("strategy ended with %r after stop()", exc)
                    status = "stopped"
                else:
                    status, error = "failed", exc
            finally:
                if self._store_error is not None:  # the store stopped taking records: the run failed
                    status, error = "failed", self._store_error
                self._finish(engine, store, status)
        if error is not None:
            raise error
        return status

    def _store_failed(self, error: Exception) -> None:
        """The store could not record an event (a full disk): stop now, keeping everything stored so far."""
        if self._store_error is None:
            self._store_error = error
            _logger.error("experiment %s stops: %s", self.id, error)
            self.stop()

    def stop(self) -> None:
        """Stop a running experiment (from another thread or an observer): the strategy stops submitting,
        running models end Interrupted and ``run()`` returns "stopped"."""
        self._stop_requested = True
        stop = getattr(self.strategy, "stop", None)
        if callable(stop):
            try:
                stop()
            except Exception:  # noqa: BLE001
                _logger.exception("strategy.stop() raised; stopping the engine anyway")
        if self._engine is not None:
            self._engine.stop()

    def cancel_trial(self, model_id: int, reason: str = "cancelled by the user") -> bool:
        """Stop one running (or queued) model of this run; it ends Interrupted with ``reason``.

        Returns False when no such model is in flight or the engine cannot stop a single model.
        """
        engine = self._engine
        if engine is None:
            return False
        model = next((m for m in engine.list_models() if m.model_id == model_id), None)
        if model is None or model.status.completed():
            return False
        return engine.cancel_model(model, reason)

    def _start_dashboard(self, port: int, store: ExperimentStore) -> None:
        """Serve the live dashboard on ``port`` when one is installed (``pip install nascore-dashboard``)."""
        if self.dashboard is not None:
            return  # a second run() of this experiment: the page keeps following it
        spec = get_plugin_manager().get_dashboard()
        if spec is None:
            _logger.warning("port %s given, but no dashboard is installed (pip install nascore-dashboard); "
                            "nothing listens on it", port)
            return
        try:
            server = spec.load()(self, port=port, host="127.0.0.1")
            server.start()
        except Exception:
            store.set_status("failed")
            raise
        self.dashboard = server

    def _give_objective(self, objective: Objective) -> None:
        if hasattr(self.strategy, "objective"):
            self.strategy.objective = objective
        else:  # a strategy written against the older attribute
            self.strategy.metric_direction = objective.direction

    def _strategy_objective(self, objective: Objective) -> Objective:
        """What a single-objective strategy compares: the one objective, or the weighted sum of several."""
        if len(self.objectives) == 1 and not self.config.objective_weights:
            return self.objectives[0]
        return Objective("weighted_sum", "max") if self.config.objective_weights else objective

    def _build_engine(self) -> ExecutionEngine:
        pm = get_plugin_manager()
        name = self.config.execution_engine.name
        if name in pm.names("middleware"):
            spec = pm.get_middleware(name)
            middleware = spec.load()(self.config)
            middleware.set_engine(pm.get_execution_engine(spec.engine).load()(self.config))
            return middleware
        return pm.get_execution_engine(name).load()(self.config)

    def _point_logs_here(self, engine: Any) -> None:
        """Engines that write trial logs (``log_directory``, unset) keep them in the experiment directory."""
        while engine is not None:  # walk middleware -> inner engine
            if getattr(engine, "log_directory", "unset") is None:
                engine.log_directory = self.directory / "trials"
            engine = engine.engine if isinstance(engine, Middleware) else None

    @staticmethod
    def _warm_up(engine: Any) -> None:
        """Start engines that can start ahead of the first submission (``start()``, e.g. the ts engine's
        service: its warm workers begin importing now, not when the first trial is already waiting)."""
        while engine is not None:
            start = getattr(engine, "start", None)
            if callable(start) and not isinstance(engine, Middleware):
                start()
            engine = engine.engine if isinstance(engine, Middleware) else None

    def _open_store(self) -> ExperimentStore:
        """Take the experiment's lock (refused while another process owns it), then open its store for writing."""
        reuse = self._store is not None and not self._store.readonly
        if not reuse and not self._resuming:
            while (self.directory / DB_NAME).exists():  # a name-based id already used: keep both
                self.id = f"{_new_id(self.config.experiment_name)}-{secrets.token_hex(2)}"
        try:
            self._owner_lock = ExperimentLock.acquire(self.directory)
        except OSError as exc:
            raise self._directory_error(exc) from exc
        try:
            if not reuse:
                if self._store is not None:
                    self._store.close()
                self._store = ExperimentStore.create(self.directory)
        except OSError as exc:
            self._release_owner_lock()
            raise self._directory_error(exc) from exc
        except BaseException:
            self._release_owner_lock()
            raise
        return self._store  # type: ignore[return-value]

    def _directory_error(self, exc: OSError) -> ConfigError:
        return ConfigError(
            f"cannot create the experiment directory {self.directory} ({type(exc).__name__}: {exc.strerror or exc}); "
            f"set experiment_working_directory in the config (now {self.config.experiment_working_directory!r}) or "
            f"the NASCORE_EXPERIMENT_DIR environment variable to a folder you can write")

    def _release_owner_lock(self) -> None:
        lock, self._owner_lock = self._owner_lock, None
        if lock is not None:
            lock.release()

    def _write_experiment_meta(self, store: ExperimentStore, session: int) -> None:
        store.set_meta("sessions", session)
        store.set_meta("id", self.id)
        store.save_config(self.config.to_dict())
        store.set_meta("secrets_removed", set_secret_paths(self.config))  # where they were, never what
        store.set_meta("model_format", self.config.model_format.name)
        store.set_meta("objective", self.objective.to_json())
        store.set_meta("metric_direction", self.objective.direction)  # read by stores' older readers
        store.set_meta("objectives", [o.to_json() for o in self.objectives])
        store.set_meta("constraints", [c.text for c in parse_constraints(self.config.constraints)])
        # Paths the space/evaluator modules were imported from, so `resume` can import them again.
        store.set_meta("cwd", os.getcwd())
        store.set_meta("sys_path", [os.path.abspath(p or os.getcwd()) for p in sys.path])
        for key, recipe in (("space_recipe", persist.space_recipe(self.model_space)),
                            ("evaluator_recipe", persist.evaluator_recipe(self.evaluator)),
                            ("strategy_recipe", persist.strategy_recipe(self.strategy))):
            if recipe is not None or store.get_meta(key) is None:
                store.set_meta(key, recipe)
        store.set_meta("strategy_class", f"{type(self.strategy).__module__}:{type(self.strategy).__qualname__}")

    def _rerun_unfinished(self, engine: RecordingMiddleware, previous: List[ModelRecord]) -> None:
        """Models in flight when an earlier session ended: run them again under their old ids."""
        rerun = []
        for record in previous:
            if record.status in ("trained", "failed", "invalid", "early_stopped") and not self._retried(record):
                continue
            if self._stop_requested or not engine.budget_available():
                break
            model = self._format_space.freeze(record.sample)
            self._live[record.id] = model
            engine.resubmit(model, record.id)
            rerun.append(model)
        if rerun:
            _logger.info("re-running %d model(s) that did not finish%s before: %s", len(rerun),
                         " (or failed)" if self._retry_failed else "", ", ".join(f"#{m.model_id}" for m in rerun))
            engine.wait_models(*rerun)
            # the strategy may sample them again: answer from the store, as for every finished model
            engine.load_previous([engine.store.model(m.model_id) for m in rerun], count=False)

    def _retried(self, record: ModelRecord) -> bool:
        """Whether ``record`` is run again by this session (``retry_failed``), not answered from the store."""
        return self._retry_failed and record.status == "failed"

    def _restore_strategy_state(self, store: ExperimentStore, previous: List[ModelRecord]) -> None:
        """Strategy resume protocol: ``load_state_dict(state, models=finished_models)`` before initialize."""
        if not self._resuming or not hasattr(self.strategy, "load_state_dict"):
            return
        saved_class = store.get_meta("strategy_class")
        here = f"{type(self.strategy).__module__}:{type(self.strategy).__qualname__}"
        state = store.strategy_state() if saved_class == here else None
        finished = [self._model_object(r) for r in previous
                    if r.status in ("trained", "failed", "invalid", "early_stopped") and not self._retried(r)]
        try:
            self.strategy.load_state_dict(state, models=finished)
        except TypeError:  # a strategy with the older one-argument signature
            self.strategy.load_state_dict(state)
        except Exception:  # noqa: BLE001 - finished trials are still answered from the store
            _logger.warning("could not restore the strategy's saved state; it starts afresh (finished trials "
                            "are answered from the store, not re-run)", exc_info=True)

    def _save_strategy_state(self, store: ExperimentStore) -> None:
        if not hasattr(self.strategy, "state_dict"):
            return
        try:
            store.save_strategy_state(self.strategy.state_dict())
        except Exception as exc:  # noqa: BLE001 - a checkpoint is best effort; the store of models is the truth
            level = logging.DEBUG if getattr(self, "_state_warned", False) else logging.WARNING
            self._state_warned = True
            _logger.log(level, "could not save the state of strategy %s (%s); a resume restarts its search state "
                        "(finished models are still answered from the store)", type(self.strategy).__name__, exc)
        self._last_state_save = time.monotonic()

    def _model_finished(self, model: ExecutableModelSpace) -> None:
        if model.model_id is not None:
            self._live[model.model_id] = model
        if self._progress is not None:
            self._progress.trial_finished(model)
        self._prune_weights(model)
        if self._store is not None and time.monotonic() - self._last_state_save > _STATE_SAVE_INTERVAL:
            self._save_strategy_state(self._store)

    def _prune_weights(self, model: ExecutableModelSpace) -> None:
        """Keep the weight files of the best ``keep_weights`` models only (disk use stays bounded)."""
        keep, store = keep_count(self.config.keep_weights), self._store
        if keep is None or store is None or model.model_id is None:
            return
        try:
            if self._weights_keeper is None:  # the models kept by earlier sessions count too
                objective = self.objective
                self._weights_keeper = WeightsKeeper(self.directory, keep, objective, [
                    (r.id, objective.value(r.final)) for r in store.top_models(keep, objective)
                    if r.id != model.model_id] if keep else [])
            self._weights_keeper.finished(model.model_id, model.status is ModelStatus.Trained,
                                          self.objective.value(model.metrics.final))
        except Exception:  # noqa: BLE001 - bookkeeping of files must not stop the run
            _logger.warning("could not prune the kept weights", exc_info=True)

    def _finish(self, engine: RecordingMiddleware, store: ExperimentStore, status: str) -> None:
        try:
            engine.shutdown()
        except Exception:  # noqa: BLE001
            _logger.exception("engine shutdown failed")
        interrupted = ("KeyboardInterrupt: interrupted by the user" if signal_received() in (None, "SIGINT")
                       else f"{signal_received()}: the experiment process was told to stop")
        reason = {"done": "the experiment ended", "stopped": "the experiment was stopped",
                  "interrupted": interrupted}.get(status, "the experiment failed")
        for model in engine.list_models():
            if not model.status.completed():
                model.status = ModelStatus.Interrupted
                model.failure_reason = model.failure_reason or reason
        self._status = status
        try:
            store.interrupt_running(reason)
            self._save_strategy_state(store)
            store.set_status(status)
            store.checkpoint()  # everything in nascore.db itself: a copy of that one file is complete
        except StoreError as exc:  # e.g. the disk is full: what is stored stays; a reader sees "interrupted"
            _logger.error("could not record the end of experiment %s: %s", self.id, exc)
        finally:
            self._release_owner_lock()
        get_plugin_manager().notify("nascore_experiment_finished", experiment=self)
        try:
            stats = self._stats()
        except StoreError:
            stats = {}
        print(format_summary(self.id, status, stats, time.monotonic() - self._started, str(self.directory)),
              flush=True)

    def _stats(self) -> Dict[str, object]:
        """Counts over the whole experiment (earlier sessions included), for the progress line and summary."""
        if self._store is None:
            return {}
        counts = self._store.counts()
        objective = self.objective
        top = self._store.top_models(1, objective)
        stats = {"done": counts.get("trained", 0), "failed": counts.get("failed", 0) + counts.get("invalid", 0),
                 "no_metric": self._store.count_failed(NO_USABLE_FINAL), "running": counts.get("training", 0),
                 "best": objective.value(top[0].final) if top else None,
                 "best_id": top[0].id if top else None, "budget": self.config.max_trial_number,
                 "time_budget": self.config.max_experiment_duration,
                 "early_stopped": counts.get("early_stopped", 0)}
        stats["weights"] = weights_usage(self.directory)
        stats["finished"] = sum(n for status, n in counts.items() if status not in ("training", "frozen",
                                                                                      "initialized"))
        return stats

    # ---- resuming -----------------------------------------------------------------------------------------
    @classmethod
    def resume(cls, directory: Union[str, Path], model_space: Any = None, evaluator: Any = None,
               strategy: Any = None, *, config: Optional[NasExperimentConfig] = None,
               run: bool = True, retry_failed: bool = False,
               ask_secret: Optional[Callable[[str], str]] = None) -> "NasExperiment":
        """Continue a stopped or killed experiment from its directory; finished trials are not re-run.

        The model space, evaluator and strategy are rebuilt from the store when they were importable; pass
        them otherwise. The strategy's saved state is restored; models in flight when the process died are
        re-run. ``retry_failed=True`` also runs failed (and invalid) models again, as fresh trials — for failures
        the environment caused (a full disk, a dead machine); their old records stay in the store, and they
        count against ``max_trial_number`` again. With ``run=False`` the experiment is returned ready (its
        ``status`` is what the store records), and ``run()`` continues it.

        Secrets (passwords) are never stored: a run that used one needs it again. It comes from the environment
        variable the config names (a remote machine's ``password_env``), from ``ask_secret(prompt)`` (e.g.
        ``getpass.getpass``; ``nascore resume`` asks in a terminal), or is set on ``experiment.config`` after
        ``resume(..., run=False)``; otherwise resuming with ``run=True`` raises a ResumeError naming it.
        """
        from nascore.experiment.resume import load_resume_parts
        directory = Path(directory).expanduser().resolve()
        parts = load_resume_parts(directory, model_space, evaluator, strategy, config, ask_secret)
        experiment = cls(parts.model_space, parts.evaluator, parts.strategy, parts.config)
        experiment.id = directory.name
        experiment._resuming = True
        experiment._retry_failed = retry_failed
        experiment._status = parts.status or "created"
        if parts.missing_secrets:
            message = (f"experiment {directory} used secrets that are never stored: "
                       f"{secret_note(experiment.config, parts.missing_secrets)}")
            if run:
                from nascore.experiment.resume import ResumeError
                raise ResumeError(message)
            _logger.warning("%s (set them on experiment.config before run())", message)
        if experiment.directory != directory:  # the config named another working directory: follow the store
            experiment.config.experiment_working_directory = str(directory.parent)
        if run:
            experiment.run()
        return experiment
