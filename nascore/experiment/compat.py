"""Which engines, formats and training services fit together; checked whenever a config changes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from nascore.experiment.errors import ConfigError
from nascore.plugins import get_plugin_manager

if TYPE_CHECKING:  # pragma: no cover
    from nascore.experiment.config import NasExperimentConfig


def _engine_traits(engine_name: str):
    """(uses_training_service, required format or None, base engine name) of an engine or middleware."""
    pm = get_plugin_manager()
    if engine_name in pm.names("middleware"):
        middleware = pm.get_middleware(engine_name)
        base = pm.get_execution_engine(middleware.engine)
        return base.uses_training_service, middleware.requires_format, base.name
    engine = pm.get_execution_engine(engine_name)
    return engine.uses_training_service, None, engine.name


def check_combination(config: "NasExperimentConfig") -> bool:
    """Raise :class:`ConfigError` for components that do not fit; True when the engine runs trials on a
    training service (the config then defaults one when none is set)."""
    engine = config.execution_engine
    fmt = config.model_format
    ts = config.training_service
    if engine is None:
        return False
    uses_ts, required_format, _ = _engine_traits(engine.name)
    if uses_ts:
        if fmt is not None and not get_plugin_manager().get_model_format(fmt.name).serializable:
            raise ConfigError(
                f"model format '{fmt.name}' keeps models in this process, but execution engine "
                f"'{engine.name}' runs them on a training service; use execution engine 'sequential' with "
                f"'{fmt.name}', or a serializable format such as 'simplified' or 'graph'")
    elif ts is not None:
        raise ConfigError(
            f"execution engine '{engine.name}' runs models in this process and takes no training service "
            f"(got '{ts.name}'); drop training_service, or use execution engine 'ts'")
    if required_format is not None and fmt is not None and fmt.name != required_format:
        raise ConfigError(f"execution engine '{engine.name}' needs model format '{required_format}', "
                          f"got '{fmt.name}'; use NasExperimentConfig('{engine.name}', '{required_format}', ...)")
    return uses_ts


def required_format(engine_name: Optional[str]) -> Optional[str]:
    if engine_name is None:
        return None
    return _engine_traits(engine_name)[1]
