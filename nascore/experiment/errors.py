"""Errors of experiment configuration (re-exported by :mod:`nascore.experiment.config`)."""
from __future__ import annotations

__all__ = ["ConfigError", "UnknownSettingError"]


class ConfigError(ValueError):
    """A setting or combination of settings that cannot work, with what would fit."""


class UnknownSettingError(ConfigError, AttributeError):
    """A setting name that neither the experiment nor any of its components has."""
