"""The compute early stopping saved, counted from stored trials (so ``nascore view`` can say it after the run)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

__all__ = ["compute_saved", "describe_saved"]


def compute_saved(records: Iterable[Any]) -> Optional[Dict[str, Any]]:
    """Steps (intermediate reports: epochs when reported per epoch) and trial-seconds saved by early stopping.

    A full trial is taken to run as many steps as the longest trained trial; an early-stopped trial saved the
    steps it did not run, and the seconds they would have taken at its own pace. None when nothing was stopped.
    Records need ``status``, ``intermediates`` and ``duration`` (:class:`~nascore.experiment.store.ModelRecord`).
    """
    records = list(records)
    stopped = [r for r in records if r.status == "early_stopped"]
    if not stopped:
        return None
    counted = [r for r in records if r.status in ("trained", "early_stopped")]
    full = max((len(r.intermediates) for r in counted if r.status == "trained"), default=0)
    full = max([full] + [len(r.intermediates) for r in stopped])
    used = sum(len(r.intermediates) for r in counted)
    saved = sum(full - len(r.intermediates) for r in stopped)
    seconds = sum((r.duration or 0.0) / len(r.intermediates) * (full - len(r.intermediates))
                  for r in stopped if r.intermediates)
    return {"early_stopped": len(stopped), "trials": len(counted), "full_steps": full, "steps_run": used,
            "steps_saved": saved, "saved_fraction": saved / (used + saved) if used + saved else 0.0,
            "trial_seconds_saved": round(seconds, 3)}


def describe_saved(saved: Dict[str, Any]) -> str:
    """:func:`compute_saved`'s figures in the words ``nascore view``, ``nascore plot`` and the dashboard use:
    ``"5 of 27 trial(s) stopped; 96 of 243 step(s) saved (40%), ~12.3 trial-second(s)"``."""
    return (f"{saved['early_stopped']} of {saved['trials']} trial(s) stopped; {saved['steps_saved']} of "
            f"{saved['steps_run'] + saved['steps_saved']} step(s) saved ({100 * saved['saved_fraction']:.0f}%), "
            f"~{saved['trial_seconds_saved']:.1f} trial-second(s)")
