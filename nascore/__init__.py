"""nascore: neural architecture search on PyTorch, built from plugins.

``import nascore`` stays light: heavy names are imported on first access, and no plugin is imported until the
plugin manager is first used.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports
from nascore.plugins import hookimpl

__version__ = "0.1.0"

_LAZY = {
    "NasExperiment": "nascore.experiment",
    "NasExperimentConfig": "nascore.experiment.config",
    "ComponentConfig": "nascore.experiment.config",
    "ModelStatus": "nascore.space",
    "Metrics": "nascore.space",
    "ExecutableModelSpace": "nascore.space",
    "report_intermediate_result": "nascore.trial",
    "report_final_result": "nascore.trial",
    "get_plugin_manager": "nascore.plugins",
    "trace": "nascore.trace",
    "Objective": "nascore.metric",
}

__all__ = ["hookimpl", "__version__", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
