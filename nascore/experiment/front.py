"""The Pareto front of an experiment's records: trained models not dominated on the objectives, among those
meeting every constraint (constraints on trained metrics act here). Shared by the API and the commands."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

from nascore.constraints import Constraint, ConstraintError
from nascore.experiment.model_record import ModelRecord
from nascore.metric import Objective
from nascore.objectives import objective_scores, objective_values
from nascore.pareto import pareto_indices

__all__ = ["pareto_records", "record_values", "top_records"]

_logger = logging.getLogger(__name__)


def record_values(record: ModelRecord, metric_name: str) -> Dict[str, Any]:
    """What a constraint reads about a stored model: its sample, profile and final metrics by name."""
    return {**record.sample, **record.named_metrics(metric_name)}


def _meets(records: List[ModelRecord], constraints: Sequence[Constraint], metric_name: str) -> List[ModelRecord]:
    kept = []
    missing: Dict[str, Tuple[int, str]] = {}
    for record in records:
        values = record_values(record, metric_name)
        try:
            if all(c.violation(values) is None for c in constraints):
                kept.append(record)
        except ConstraintError as exc:
            missing.setdefault(str(exc).split(",")[0], (record.id, str(exc)))
    if missing and not kept:  # nobody has the value: a typo or a metric never reported, not a filter
        raise ConstraintError(next(iter(missing.values()))[1])
    for _, (model_id, message) in missing.items():
        _logger.warning("model #%s left out of the Pareto front: %s", model_id, message)
    return kept


def _check_reported(trained: List[ModelRecord], objectives: Sequence[Objective], metric_name: str) -> None:
    """An objective no trained model has is a mistake (a typo, a metric never reported), not an empty front."""
    if not trained:
        return
    named = [r.named_metrics(metric_name) for r in trained]
    for objective in objectives:
        if all(objective.name not in values for values in named):
            known = sorted({name for values in named for name in values})
            raise ValueError(f"objective '{objective.name}' is missing from every trained model; their metrics are "
                             f"{', '.join(known)} (report it from the evaluator as a dict entry, or add a profiler "
                             "that measures it)")


def pareto_records(records: Sequence[ModelRecord], objectives: Sequence[Objective], metric_name: str,
                   constraints: Sequence[Constraint] = ()) -> List[ModelRecord]:
    """The trained ``records`` on the Pareto front of ``objectives`` (a bare final metric is named
    ``metric_name``), among those meeting ``constraints``; sorted by the first objective, best first.
    Models without a finite value for every objective are left out (they cannot be compared)."""
    trained = [r for r in records if r.status == "trained"]
    _check_reported(trained, objectives, metric_name)
    trained = _meets(trained, constraints, metric_name) if constraints else trained
    scored = [(r, s) for r in trained for s in [objective_scores(objectives, r.named_metrics(metric_name))]
              if s is not None]
    front = [scored[i] for i in pareto_indices([s for _, s in scored])]
    front.sort(key=lambda item: (-item[1][0], item[0].id))
    return [r for r, _ in front]


def front_rows(records: Sequence[ModelRecord], objectives: Sequence[Objective],
               metric_name: str) -> List[Optional[Tuple[float, ...]]]:
    """Each record's objective values as reported (None where one is missing)."""
    return [objective_values(objectives, r.named_metrics(metric_name)) if r.status == "trained" else None
            for r in records]


def top_records(store: Any, top_k: int, objectives: Sequence[Objective]) -> List[ModelRecord]:
    """The ``top_k`` best trained records: by the evaluator's metric (the store's ranking), or by the single
    declared objective when it names another metric (a profile such as ``params`` included)."""
    from nascore.metric import rank
    evaluator_objective = store.objective()
    if len(objectives) != 1 or objectives[0] == evaluator_objective:
        return store.top_models(top_k, evaluator_objective)
    name, wanted = evaluator_objective.name, objectives[0]
    return rank(store.models("trained"), wanted, lambda r: r.named_metrics(name).get(wanted.name))[:top_k]

