"""What ``NasExperiment.resume`` needs from a store: config, model space, evaluator and strategy."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from nascore.experiment import persist
from nascore.experiment.config import NasExperimentConfig
from nascore.experiment.secrets import fill_secrets, missing_secrets
from nascore.experiment.store import ExperimentStore

__all__ = ["ResumeParts", "load_resume_parts", "ResumeError"]


class ResumeError(RuntimeError):
    """Something the resumed experiment needs could not be rebuilt from its store."""


@dataclass
class ResumeParts:
    config: NasExperimentConfig
    model_space: Any
    evaluator: Any
    strategy: Any
    status: Optional[str] = None  # what the store records (a dead owner's "running" reads "interrupted")
    missing_secrets: Optional[list] = None  # dotted paths of passwords the store never held and nobody gave


def restore_import_paths(store: ExperimentStore) -> None:
    """Make the modules the experiment imported importable again (its script folder, its cwd)."""
    for path in reversed(store.get_meta("sys_path", []) or []):
        if path not in sys.path and os.path.isdir(path):
            sys.path.insert(0, path)


def _rebuild(what: str, recipe: Any, build, directory: Path, argument: str) -> Any:
    if recipe is None:
        raise ResumeError(f"the {what} of experiment {directory} was not importable when it ran, so it cannot be "
                          f"rebuilt; pass it: NasExperiment.resume({str(directory)!r}, {argument}=...)")
    try:
        return build(recipe)
    except Exception as exc:  # noqa: BLE001 - any import/constructor failure gets the same advice
        raise ResumeError(f"could not rebuild the {what} of experiment {directory} ({type(exc).__name__}: {exc}); "
                          f"make its module importable or pass it: NasExperiment.resume(..., {argument}=...)") \
            from exc


def load_resume_parts(directory: Path, model_space: Any = None, evaluator: Any = None, strategy: Any = None,
                      config: Optional[NasExperimentConfig] = None,
                      ask_secret: Optional[Callable[[str], str]] = None) -> ResumeParts:
    """Config, model space, evaluator and strategy for resuming the experiment in ``directory``; the ones passed win,
    the others are rebuilt from the store (ResumeError says what to pass when one cannot be). ``ask_secret`` is
    asked for secrets the store left out (e.g. SSH passwords).
    """
    with ExperimentStore.open(directory) as store:
        status = store.status()
        restore_import_paths(store)
        if config is None:
            data = dict(store.config())
            data["experiment_working_directory"] = str(directory.parent)
            config = NasExperimentConfig.from_dict(data)
        missing = missing_secrets(config, store.get_meta("secrets_removed", []) or [])
        if missing and ask_secret is not None:
            fill_secrets(missing, ask_secret)
            missing = []
        if model_space is None:
            model_space = _rebuild("model space", store.get_meta("space_recipe"), persist.build_space, directory,
                                   "model_space")
        if evaluator is None:
            evaluator = _rebuild("evaluator", store.get_meta("evaluator_recipe"), persist.build_evaluator,
                                 directory, "evaluator")
        if strategy is None:
            strategy = _rebuild("strategy", store.get_meta("strategy_recipe"), persist.build_strategy, directory,
                                "strategy")
    return ResumeParts(config, model_space, evaluator, strategy, status, [path for path, _, _ in missing])
