"""Which engines, formats and training services fit together; checked whenever a config changes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    from nascore.experiment.config import NasExperimentConfig


def _engine_traits(engine_name: str):
    """(uses_training_service, required format or None, base engine name) of an engine or middleware."""
    from nascore.plugins import get_plugin_manager
    pm = get_plugin_manager()
    if engine_name in pm.names("middleware"):
        middleware = pm.get_middleware(engine_name)
        base = pm.get_execution_engine(middleware.engine)
        return base.uses_training_service, middleware.requires_format, base.name
    engine = pm.get_execution_engine(engine_name)
    return engine.uses_training_service, None, engine.name


def check_combination(config: "NasExperimentConfig") -> None:
    from nascore.experiment.config import ConfigError, _resolve_component
    from nascore.plugins import get_plugin_manager
    engine = config.execution_engine
    fmt = config.model_format
    ts = config.training_service
    if engine is None:
        return
    uses_ts, required_format, _ = _engine_traits(engine.name)
    if uses_ts:
        if fmt is not None and not get_plugin_manager().get_model_format(fmt.name).serializable:
            raise ConfigError(
                f"model format '{fmt.name}' keeps models in this process, but execution engine "
                f"'{engine.name}' runs them on a training service; use execution engine 'sequential' with "
                f"'{fmt.name}', or a serializable format such as 'simplified' or 'graph'")
        if ts is None:
            # The only way to build a ts-like engine without a service would fail later; default it now.
            object.__setattr__(config, "training_service", _resolve_component("training_service", "local"))
    elif ts is not None:
        raise ConfigError(
            f"execution engine '{engine.name}' runs models in this process and takes no training service "
            f"(got '{ts.name}'); drop training_service, or use execution engine 'ts'")
    if required_format is not None and fmt is not None and fmt.name != required_format:
        raise ConfigError(f"execution engine '{engine.name}' needs model format '{required_format}', "
                          f"got '{fmt.name}'; use NasExperimentConfig('{engine.name}', '{required_format}', ...)")


def required_format(engine_name: Optional[str]) -> Optional[str]:
    if engine_name is None:
        return None
    return _engine_traits(engine_name)[1]
