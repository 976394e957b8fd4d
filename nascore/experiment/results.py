"""Reading an experiment's models back: listing them, exporting the best, rebuilding them from the store."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore.experiment.store import DB_NAME, ExperimentStore, ModelRecord
from nascore.metric import Objective
from nascore.plugins import get_plugin_manager
from nascore.specs import ModelFormatSpec
from nascore.weights import load_trained, weights_file, with_weights_loader
from nascore.space import ExecutableModelSpace, Metrics, ModelStatus

__all__ = ["ExperimentResults", "model_code"]

_FORMATTERS = (None, "dict", "instance", "code")


class ExperimentResults:
    """The results half of :class:`~nascore.experiment.NasExperiment` (which sets these attributes)."""

    config: NasExperimentConfig
    objective: Objective
    model_space: Any
    evaluator: Any
    directory: Path
    store: ExperimentStore
    _store: Optional[ExperimentStore]
    _live: Dict[int, ExecutableModelSpace]
    _format_cls: Any
    _format_space: Optional[ExecutableModelSpace]

    def list_models(self, status: Union[None, str, ModelStatus] = None) -> List[ExecutableModelSpace]:
        """Every model of the experiment (all sessions), in submission order; optionally one status only."""
        if self._store is None and not (self.directory / DB_NAME).is_file():
            return []
        wanted = None if status is None else ModelStatus(status).value
        return [self._model_object(r) for r in self.store.models(wanted)]

    def export_top_models(self, top_k: int = 1, formatter: Optional[str] = None, *, pareto: bool = False,
                          trained: bool = True) -> List[Any]:
        """The ``top_k`` best trained models by final metric and :attr:`objective` (failed models, and NaN or
        infinite metrics, are never ranked); by the one objective of ``config.objectives`` when that names
        another metric (a profile such as ``params`` included). ``pareto=True``: every model of
        :meth:`pareto_front` instead (``top_k`` then does not apply).

        ``formatter``: None → the models (``ExecutableModelSpace``); ``"dict"`` → their samples;
        ``"instance"`` → built ``nn.Module``s with their trained weights; ``"code"`` → PyTorch source (formats
        that generate code), with a ``load_trained()`` function that builds the model and loads its weights.
        Each model's ``weights_path`` names its kept ``state_dict`` file (None when not kept). ``trained``: a
        model whose weights were not kept (``keep_weights``) raises
        :class:`~nascore.weights.WeightsUnavailableError`; ``trained=False`` returns the instances the format
        builds without loading weights (freshly initialised, unless this process trained them or an earlier
        export loaded them: a model object keeps one module).
        """
        if formatter not in _FORMATTERS:
            raise ValueError(f"unknown formatter {formatter!r}; use None, 'dict', 'instance' or 'code'")
        if pareto:
            return self.pareto_front(formatter, trained=trained)
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        return self._formatted(self._top_records(top_k), formatter, trained)

    def _top_records(self, top_k: int) -> List[ModelRecord]:
        from nascore.experiment.front import top_records
        from nascore.experiment.objective_config import resolve_objectives
        return top_records(self.store, top_k, resolve_objectives(self.config, self.objective))

    def pareto_front(self, formatter: Optional[str] = None, *, trained: bool = True) -> List[Any]:
        """The trained models no other trained model beats on every objective (``config.objectives``; one
        objective: the best model and its ties), among those meeting every constraint (constraints on trained
        metrics apply here). Sorted by the first objective, best first; ``formatter`` and ``trained`` as for
        :meth:`export_top_models`."""
        from nascore.constraints import parse_constraints
        from nascore.experiment.front import pareto_records
        from nascore.experiment.objective_config import resolve_objectives
        if formatter not in _FORMATTERS:
            raise ValueError(f"unknown formatter {formatter!r}; use None, 'dict', 'instance' or 'code'")
        if self._store is None and not (self.directory / DB_NAME).is_file():
            return []
        objectives = resolve_objectives(self.config, self.objective)
        records = pareto_records(self.store.models(), objectives, self.objective.name,
                                 parse_constraints(self.config.constraints))
        return self._formatted(records, formatter, trained)

    def _formatted(self, records: List[ModelRecord], formatter: Optional[str], trained: bool = True) -> List[Any]:
        if formatter == "dict":
            return [dict(r.sample) for r in records]
        models = [self._model_object(r) for r in records]
        for model in models:
            path = weights_file(self.directory, model.model_id)
            model.weights_path = str(path) if path.is_file() else None
        if formatter == "instance":
            if not trained:
                return [m.executable_model() for m in models]
            return [load_trained(m.executable_model(), m.weights_path, f"model #{m.model_id}") for m in models]
        if formatter == "code":
            return [with_weights_loader(model_code(m, self.config.model_format.name), m.weights_path)
                    for m in models]
        return models

    def _model_object(self, record: ModelRecord) -> ExecutableModelSpace:
        model = self._live.get(record.id)
        if model is not None and model.status.completed():
            return model
        model = self._rebuild_model(record)
        self._live[record.id] = model
        return model

    def _rebuild_model(self, record: ModelRecord) -> ExecutableModelSpace:
        if self._format_cls is None:
            self._format_cls = get_plugin_manager().get_model_format(self.config.model_format.name).load()
        if record.payload is not None:
            model = self._format_cls.from_payload(record.payload)
        else:
            if self._format_space is None:
                self._format_space = self._format_cls.from_model(self.model_space, self.evaluator,
                                                                 self.config.model_format)
            model = self._format_space.freeze(record.sample)
        model.model_id = record.id
        model.metrics = Metrics.from_json({"intermediates": record.intermediates, "final": record.final,
                                           "profile": record.profile})
        model.status = ModelStatus(record.status)
        model.failure_reason = record.failure_reason
        return model


def model_code(model: Any, format_name: str) -> str:
    """The PyTorch source of a frozen model (defining ``build()``): its own format's code, or — for a format
    that generates none, such as ``simplified`` or ``raw`` — the built module turned into code by an installed
    format that generates code (``graph``: ``from_model(module).to_code()``)."""
    to_code = getattr(model, "to_code", None)
    if callable(to_code):
        return to_code()
    pm = get_plugin_manager()
    coders = [name for name in pm.names(ModelFormatSpec.component)
              if callable(getattr(pm.get_model_format(name).load(), "to_code", None))]
    if not coders:
        raise ConfigError(f"formatter 'code' for a '{format_name}' model needs a model format that generates code "
                          f"(pip install nascore-graph); export with formatter 'dict' or 'instance' instead")
    module = model.executable_model()
    problems = []
    for name in coders:
        try:
            return pm.get_model_format(name).load().from_model(module).to_code()
        except Exception as exc:  # noqa: BLE001 - say why each one could not, below
            problems.append(f"format '{name}': {type(exc).__name__}: {exc}")
    raise ConfigError(f"the '{format_name}' model could not be turned into code ({'; '.join(problems)}); export "
                      f"with formatter 'dict' or 'instance' instead")
