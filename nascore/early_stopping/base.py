"""The ``EarlyStopper`` contract and building one from a name, a mapping or an object."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional

__all__ = ["EarlyStopper", "build_early_stopper", "check_counts"]


def check_counts(owner: str, minimum: int = 1, **values: Any) -> None:
    """Refuse (ValueError naming ``owner`` and the argument) any of ``values`` that is not an integer count (of
    steps, of trials) ``>= minimum``; None is allowed (no limit)."""
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")


class EarlyStopper(ABC):
    """Decides, after each intermediate metric of a running trial, whether the trial goes on.

    Scores are "higher is better" (the middleware folds the objective's direction in) and steps count the trial's
    intermediate reports from 1 (an epoch each when the evaluator reports once per epoch). The middleware calls
    :meth:`report` for every intermediate metric and :meth:`trial_ended` once per trial; both from the engine's
    event thread, one event at a time.
    """

    #: steps a full trial runs, when the stopper knows (used to count the compute early stopping saved)
    max_resource: Optional[int] = None

    @abstractmethod
    def report(self, trial: int, step: int, score: float) -> Optional[str]:
        """``trial`` reported ``score`` at ``step``: a reason to stop it now, or None to let it go on."""

    def trial_ended(self, trial: int, scores: List[float], status: str) -> None:
        """``trial`` ended with ``status`` (trained, early_stopped, failed ...) after reporting ``scores``."""

    def to_config(self) -> Optional[Dict[str, Any]]:
        """``{"name": registered name, **arguments}`` that rebuilds this stopper (what the store keeps, so a
        resumed experiment stops trials the same way); None when it cannot be rebuilt by name."""
        return None

    def state(self) -> Dict[str, Any]:
        """What the stopper knows, as JSON (shown in logs and tests)."""
        return {}


def build_early_stopper(value: Any) -> Optional[EarlyStopper]:
    """An :class:`EarlyStopper` from itself, a registered name (``"asha"``) or ``{"name": ..., **kwargs}``;
    None for None."""
    if value is None or isinstance(value, EarlyStopper):
        return value
    from nascore.components import build_named
    stopper = build_named(value, "early_stopper")
    if not isinstance(stopper, EarlyStopper):
        raise TypeError(f"early stopper {value!r} built a {type(stopper).__name__}, not an EarlyStopper")
    return stopper
