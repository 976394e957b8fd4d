"""Filling in what the user left out of the config, from the strategy's kind, and checking the result."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional, Union

from nascore.experiment.config import MULTI_TRIAL_DEFAULTS, ConfigError, NasExperimentConfig
from nascore.plugins import UnknownComponentError, get_plugin_manager

__all__ = ["strategy_kind", "as_config", "resolve_strategy", "default_strategy", "infer_config",
           "check_strategy_fits"]

_logger = logging.getLogger(__name__)

# Defaults per strategy kind: (execution engine, model format).
DEFAULTS = {"one-shot": ("sequential", "raw"),
            "multi-trial": (MULTI_TRIAL_DEFAULTS["execution_engine"], MULTI_TRIAL_DEFAULTS["model_format"])}
# Which distribution provides each built-in component, for "please install" messages.
DISTRIBUTIONS = {"ts": "nascore-training-service", "local": "nascore-training-service",
                 "sequential": "nascore-sequential", "raw": "nascore-raw", "simplified": "nascore-simplified"}


def strategy_kind(strategy: Any) -> str:
    """``strategy.kind`` (``"multi-trial"`` or ``"one-shot"``); ConfigError for anything else."""
    kind = getattr(strategy, "kind", "multi-trial")
    if kind not in DEFAULTS:
        raise ConfigError(f"strategy {type(strategy).__name__} has kind {kind!r}; a strategy's kind must be "
                          f"'multi-trial' or 'one-shot'")
    return kind


def as_config(config: Union[None, NasExperimentConfig, dict, str, Path]) -> NasExperimentConfig:
    """A :class:`NasExperimentConfig` from None, a config, a dict or a YAML/JSON file path."""
    if config is None:
        return NasExperimentConfig()
    if isinstance(config, NasExperimentConfig):
        return config
    if isinstance(config, dict):
        return NasExperimentConfig.from_dict(config)
    if isinstance(config, (str, Path)):
        return NasExperimentConfig.load(config)
    raise TypeError(f"config must be a NasExperimentConfig, a dict or a path to a YAML/JSON file, got "
                    f"{type(config).__name__}")


def resolve_strategy(strategy: Any, config: NasExperimentConfig) -> Any:
    """The strategy object: ``strategy`` itself, or built from a registered name / ``{"name": ..., **kwargs}``
    (given here or, when ``strategy`` is None, in ``config.strategy``)."""
    value = strategy if strategy is not None else config.strategy
    if value is None:
        value = default_strategy(config)
        _logger.info("no strategy given: using %r (pass a strategy or set config.strategy to choose)", value)
    if isinstance(value, (str, dict)):
        from nascore.components import build_named
        try:
            return build_named(value, "strategy")
        except ValueError as exc:  # UnknownComponentError is a ValueError too
            raise ConfigError(str(exc)) from None
    return value


def default_strategy(config: NasExperimentConfig) -> str:
    """The registered name of the strategy an experiment gets when it is given none.

    ``"bayes"`` (:class:`~nascore.strategy.bayes.BayesOpt`): the built-in strategy with the lowest regret on the
    NAS-Bench-Graph tables at a budget of 100 trials (``python -m benchmarks strategy``); it sizes its random
    start to the budget and bounds the GP's data, so long searches stay cheap. ``"nsga2"`` when
    ``config.objectives`` names several objectives without ``objective_weights``: a single-objective strategy
    cannot search them."""
    if config.objectives and len(config.objectives) > 1 and not config.objective_weights:
        return "nsga2"
    return "bayes"


def _available(field: str, name: str) -> None:
    """Raise UnknownComponentError (with the registry's own hint) when ``name`` is not installed."""
    pm = get_plugin_manager()
    if field == "model_format":
        pm.get_model_format(name)
    elif field == "training_service":
        pm.get_training_service(name)
    elif name not in pm.names("middleware"):
        pm.get_execution_engine(name)


def _fill(config: NasExperimentConfig, field: str, name: str, kind: str) -> None:
    needed = [(field, name)]
    if field == "execution_engine" and name == "ts" and config.training_service is None:
        needed.append(("training_service", MULTI_TRIAL_DEFAULTS["training_service"]))
    for component, component_name in needed:
        try:
            _available(component, component_name)
        except UnknownComponentError as exc:
            other = "NasExperimentConfig('sequential', 'simplified')" if kind == "multi-trial" else \
                "NasExperimentConfig('sequential', 'raw')"
            raise ConfigError(
                f"{kind} strategies use {component.replace('_', ' ')} '{component_name}' by default, but it is not "
                f"available ({exc}). Install it (pip install "
                f"{DISTRIBUTIONS.get(component_name, 'nascore-' + component_name)}) or choose the components "
                f"yourself, e.g. config={other}") from None
    setattr(config, field, name)


def infer_config(config: Any, strategy: Any) -> NasExperimentConfig:
    """The config with engine, format (and, for ``ts``, training service) filled in from the strategy kind."""
    config = as_config(config)
    kind = strategy_kind(strategy)
    engine, fmt = DEFAULTS[kind]
    if config.model_format is None:
        _fill(config, "model_format", fmt, kind)
    if config.execution_engine is None:
        _fill(config, "execution_engine", engine, kind)
    check_strategy_fits(config, strategy)
    return config


def check_strategy_fits(config: NasExperimentConfig, strategy: Any) -> None:
    """Raise ConfigError when a one-shot strategy is given anything but the sequential engine and raw format."""
    kind = strategy_kind(strategy)
    engine = config.execution_engine.name if config.execution_engine is not None else None
    fmt = config.model_format.name if config.model_format is not None else None
    if kind == "one-shot" and (engine, fmt) != ("sequential", "raw"):
        raise ConfigError(
            f"strategy {type(strategy).__name__} is one-shot: it trains a supernet in this process and needs "
            f"execution engine 'sequential' and model format 'raw' (got engine {engine!r}, format {fmt!r}); "
            f"pass config=NasExperimentConfig('sequential', 'raw') or leave them unset")


def dashboard_port(port: Optional[int]) -> Optional[int]:
    if port is not None and not (0 < int(port) < 65536):
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    return port
