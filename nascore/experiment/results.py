"""Reading an experiment's models back: listing them, exporting the best, rebuilding them from the store."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore.experiment.store import DB_NAME, ExperimentStore, ModelRecord
from nascore.metric import Objective
from nascore.plugins import get_plugin_manager
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

    def export_top_models(self, top_k: int = 1, formatter: Optional[str] = None, *, pareto: bool = False) -> List[Any]:
        """The ``top_k`` best trained models by final metric and :attr:`objective` (failed models, and NaN or
        infinite metrics, are never ranked). ``pareto=True``: every model of :meth:`pareto_front` instead
        (``top_k`` then does not apply).

        ``formatter``: None → the models (``ExecutableModelSpace``); ``"dict"`` → their samples;
        ``"instance"`` → built ``nn.Module``s; ``"code"`` → PyTorch source (formats that generate code).
        """
        if formatter not in _FORMATTERS:
            raise ValueError(f"unknown formatter {formatter!r}; use None, 'dict', 'instance' or 'code'")
        if pareto:
            return self.pareto_front(formatter)
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        return self._formatted(self.store.top_models(top_k, self.objective), formatter)

    def pareto_front(self, formatter: Optional[str] = None) -> List[Any]:
        """The trained models no other trained model beats on every objective (``config.objectives``; one
        objective: the best model and its ties), among those meeting every constraint (constraints on trained
        metrics apply here). Sorted by the first objective, best first; ``formatter`` as for
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
        return self._formatted(records, formatter)

    def _formatted(self, records: List[ModelRecord], formatter: Optional[str]) -> List[Any]:
        if formatter == "dict":
            return [dict(r.sample) for r in records]
        models = [self._model_object(r) for r in records]
        if formatter == "instance":
            return [m.executable_model() for m in models]
        if formatter == "code":
            return [model_code(m, self.config.model_format.name) for m in models]
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
    """The PyTorch source of a frozen model, for formats that generate code."""
    to_code = getattr(model, "to_code", None)
    if not callable(to_code):
        raise ConfigError(f"formatter 'code' needs model format 'graph' (install nascore-graph and use "
                          f"NasExperimentConfig(..., 'graph')); this experiment uses '{format_name}': export "
                          f"with formatter 'dict' or 'instance' instead")
    return to_code()
