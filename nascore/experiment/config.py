"""``NasExperimentConfig``: the experiment's settings, with each plugin's settings validated by its own model.

``execution_engine``, ``model_format`` and ``training_service`` are component configs: a name resolved
through the plugin registry to the plugin's ``config_model`` (a discriminated union built from the registry).
Settings of a component can be set on the experiment config directly (``config.max_concurrency_cgo = 3``)
when exactly one component has a field of that name.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Dict, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_serializer, field_validator, model_validator

from nascore.experiment.compat import check_combination
from nascore.experiment.errors import ConfigError, UnknownSettingError
from nascore.suggest import did_you_mean
from nascore.experiment.objective_config import ObjectiveSettings

__all__ = ["ComponentConfig", "NasExperimentConfig", "ConfigError", "UnknownSettingError", "parse_duration"]

COMPONENT_FIELDS = ("execution_engine", "model_format", "training_service")
# What a config left empty becomes for a multi-trial strategy (the common case), so that a setting of one of
# these components can be assigned before the experiment fills them in.
MULTI_TRIAL_DEFAULTS = {"execution_engine": "ts", "model_format": "simplified", "training_service": "local"}


class ComponentConfig(BaseModel):
    """Base of every plugin's settings model. ``name`` is the registered component name.

    Validation errors name the setting and what it must be but never repeat the value given: a mistake in a
    password (a number, a list, a misspelled key) must not print the password."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, arbitrary_types_allowed=True,
                              hide_input_in_errors=True)
    name: str

    def check(self, experiment_config: "NasExperimentConfig") -> None:
        """Validate settings that need the whole config or the outside world; called when the experiment
        starts. Raise :class:`ConfigError` naming the culprit."""


class _Generic(ComponentConfig):
    """Settings of a component whose plugin declares no config model."""


_DURATION = re.compile(r"^\s*([0-9.]+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Union[None, int, float, str]) -> Optional[float]:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1d"``."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"cannot read duration {value!r}; write seconds or a number with s, m, h or d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _registry_lookup(field_name: str, name: str):
    from nascore.plugins import get_plugin_manager
    pm = get_plugin_manager()
    if field_name == "execution_engine":
        if name in pm.names("middleware"):
            return pm.get_middleware(name)
        return pm.get_execution_engine(name)
    if field_name == "model_format":
        return pm.get_model_format(name)
    return pm.get_training_service(name)


def _resolve_component(field_name: str, value: Any) -> Optional[ComponentConfig]:
    if value is None or isinstance(value, ComponentConfig):
        return value
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or "name" not in value:
        raise ValueError(f"{field_name} must be a name, a dict with 'name', or a ComponentConfig; got {value!r}")
    spec = _registry_lookup(field_name, value["name"])
    model = getattr(spec, "config_model", None) or _Generic
    return model(**value)


class NasExperimentConfig(ObjectiveSettings):
    """Settings of one experiment.

    ``NasExperimentConfig("ts", "simplified", "local", max_trial_number=20)`` is the short form; any of the
    three may be None and is then inferred from the strategy when the experiment starts.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    execution_engine: Optional[SerializeAsAny[ComponentConfig]] = None
    model_format: Optional[SerializeAsAny[ComponentConfig]] = None
    training_service: Optional[SerializeAsAny[ComponentConfig]] = None

    experiment_name: Optional[str] = None
    experiment_working_directory: str = Field(
        default_factory=lambda: os.environ.get("NASCORE_EXPERIMENT_DIR", "~/nascore-experiments"),
        description="where experiment folders go; NASCORE_EXPERIMENT_DIR overrides the default")
    max_trial_number: Optional[int] = Field(default=None, ge=1)
    max_experiment_duration: Optional[float] = Field(default=None, gt=0, description="seconds (or '2h')")
    max_trial_duration: Optional[float] = Field(default=None, gt=0, description="seconds (or '10m')")
    trial_concurrency: int = Field(default=1, ge=1)
    metric_direction: Optional[Literal["maximize", "minimize"]] = Field(
        default=None, description="only where the evaluator declares no direction (its objective); default "
                                  "maximize. 'max' / 'min' are accepted")
    stop_on_failure: bool = False
    seed: Optional[int] = Field(
        default=None, description="makes the run reproducible: seeds the strategy (unless it has its own seed) and "
                                  "every trial (a seed per canonical sample, derived from this one)")
    keep_weights: Union[Literal["all", "none"], int] = Field(
        default=3, description="whose trained weights (state_dict) trials keep: 'all', 'none', or the best k by "
                               "the objective (files of models that drop out of the best k are deleted)")
    #: the strategy by registered name, ``"random"`` or ``{"name": "evolution", "population_size": 20}``; used
    #: when ``NasExperiment`` is given no strategy (a strategy passed there wins)
    strategy: Optional[Union[str, Dict[str, Any]]] = None
    #: early stopping of running trials: a registered early stopper's name (``"asha"``, ``"median"``), ``{"name":
    #: "asha", "max_resource": 20}`` or an :class:`~nascore.early_stopping.EarlyStopper` object; None: none
    early_stopping: Optional[Any] = None

    def __init__(self, execution_engine: Any = None, model_format: Any = None, training_service: Any = None,
                 /, **fields: Any):
        fields.setdefault("execution_engine", execution_engine)
        fields.setdefault("model_format", model_format)
        fields.setdefault("training_service", training_service)
        forwarded = {k: fields.pop(k) for k in list(fields) if k not in type(self).model_fields}
        super().__init__(**fields)
        for key, value in forwarded.items():
            setattr(self, key, value)

    # ---- validation ------------------------------------------------------------------------------
    @field_validator("max_experiment_duration", "max_trial_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Optional[float]:
        return parse_duration(value)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        if value is None:
            return None
        from nascore.components import parse_named
        name, kwargs = parse_named(value, "strategy")
        return name if not kwargs else {"name": name, **kwargs}

    @field_validator("keep_weights")
    @classmethod
    def _keep_weights(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"keep_weights is 'all', 'none' or a number of models >= 0, got {value}")
        return value

    @field_validator("early_stopping")
    @classmethod
    def _early_stopping(cls, value: Any) -> Any:
        from collections.abc import Mapping

        from nascore.early_stopping.base import EarlyStopper, build_early_stopper
        if value is None or isinstance(value, EarlyStopper):
            return value
        if not isinstance(value, (str, Mapping)):
            raise ValueError(f"early_stopping takes a registered stopper's name ('asha', 'median'), a mapping of its "
                             f"name and arguments ({{'name': 'asha', 'max_resource': 20}}) or an EarlyStopper "
                             f"object; got {type(value).__name__} {value!r}")
        from nascore.components import parse_named
        name, kwargs = parse_named(value, "early stopper")
        build_early_stopper({"name": name, **kwargs})  # an unknown name or a bad argument is refused now, not mid-run
        return name if not kwargs else {"name": name, **kwargs}

    @field_serializer("early_stopping")
    def _early_stopping_json(self, value: Any) -> Any:
        if value is None or isinstance(value, (str, dict)):
            return value
        return value.to_config() or repr(value)  # a stopper object: its name and arguments when it can say

    @field_validator("metric_direction", mode="before")
    @classmethod
    def _direction(cls, value: Any) -> Optional[str]:
        if value is None:
            return None
        from nascore.metric import Objective
        try:
            return Objective("default", value).direction
        except ValueError as exc:
            raise ValueError(f"metric_direction: {exc}") from None

    @field_validator(*COMPONENT_FIELDS, mode="before")
    @classmethod
    def _component(cls, value: Any, info) -> Optional[ComponentConfig]:
        if info.field_name == "execution_engine" and value == "graph":  # legacy: graph engine = ts + graph
            value = "ts"
        return _resolve_component(info.field_name, value)

    @model_validator(mode="before")
    @classmethod
    def _legacy_graph_engine(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("execution_engine") == "graph" and data.get("model_format") is None:
            data = {**data, "model_format": "graph"}
        return data

    @model_validator(mode="after")
    def _combination(self) -> "NasExperimentConfig":
        if check_combination(self) and self.training_service is None:
            # the only way to build a ts-like engine without a service would fail later; default it now
            object.__setattr__(self, "training_service", _resolve_component("training_service", "local"))
        return self

    # ---- attribute forwarding to component settings -----------------------------------------------------
    def _owner_of(self, name: str) -> Optional[ComponentConfig]:
        owners = [c for c in (getattr(self, f) for f in COMPONENT_FIELDS)
                  if c is not None and name in type(c).model_fields and name != "name"]
        return owners[0] if len(owners) == 1 else None

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            owner = self._owner_of(name)
            if owner is not None:
                return getattr(owner, name)
        return super().__getattr__(name)  # type: ignore[misc]

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self).model_fields or name.startswith("_"):
            super().__setattr__(name, value)
            return
        owner, note = self._owner_of(name), ""
        if owner is None:
            owner, note = self._fill_default_owner(name)
        if owner is None:
            raise UnknownSettingError(self._unknown_setting(name, note))
        setattr(owner, name, value)

    def _fill_default_owner(self, name: str) -> "tuple[Optional[ComponentConfig], str]":
        """A setting of a default component whose slot is still empty (``config.reuse_worker = False`` on
        ``NasExperimentConfig()``): fill the slot with that default, as the experiment would."""
        for field_name, default in MULTI_TRIAL_DEFAULTS.items():
            if getattr(self, field_name) is not None:
                continue
            try:
                spec = _registry_lookup(field_name, default)
            except LookupError:
                continue
            model = getattr(spec, "config_model", None)
            if model is None or name not in model.model_fields or name == "name":
                continue
            engine = self.execution_engine
            try:
                setattr(self, field_name, default)
                if field_name == "training_service" and engine is None:
                    self.execution_engine = MULTI_TRIAL_DEFAULTS["execution_engine"]
            except ValueError:  # the default does not fit what is already chosen: leave the config as it was
                object.__setattr__(self, field_name, None)
                object.__setattr__(self, "execution_engine", engine)
                return None, (f" ('{name}' is a setting of {field_name.replace('_', ' ')} '{default}', which "
                              f"does not fit this config)")
            return getattr(self, field_name), ""
        return None, ""

    def _unknown_setting(self, name: str, note: str = "") -> str:
        parts = [f"experiment: {', '.join(f for f in type(self).model_fields if f not in COMPONENT_FIELDS)}"]
        for field_name in COMPONENT_FIELDS:
            component = getattr(self, field_name)
            if component is not None:
                own = [f for f in type(component).model_fields if f != "name"]
                parts.append(f"{field_name} '{component.name}': {', '.join(own) or '(none)'}")
        known = [f for f in type(self).model_fields if f not in COMPONENT_FIELDS]
        for field_name in COMPONENT_FIELDS:
            component = getattr(self, field_name)
            if component is not None:
                known += [f for f in type(component).model_fields if f != "name"]
        close = did_you_mean(name, known)
        hint = f" (did you mean '{close}'?)" if close else ""
        hint += note
        return f"unknown setting '{name}'{hint}; settings that fit: " + "; ".join(parts)

    def check(self) -> None:
        """Everything that can only be checked when the experiment starts (files, hosts, devices)."""
        for field_name in COMPONENT_FIELDS:
            component = getattr(self, field_name)
            if component is not None:
                component.check(self)

    # ---- files ------------------------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "NasExperimentConfig":
        return cls(**data)

    def save(self, path: Union[str, Path]) -> Optional[str]:
        """Write the config as YAML (``.yaml``/``.yml``) or JSON. Secrets (passwords, passphrases) are not
        written; the returned note (also logged, and a comment at the top of a YAML file) says which were left
        out and where each must come from when the file is loaded. None when nothing was left out."""
        from nascore.experiment.scrub import scrub_secrets
        from nascore.experiment.secrets import secret_note, set_secret_paths
        path = Path(path)
        data = scrub_secrets(self.to_dict())
        left_out = set_secret_paths(self)
        note = secret_note(self, left_out) if left_out else None
        if path.suffix in (".yaml", ".yml"):
            import yaml
            header = "".join(f"# {line}\n" for line in (note or "").split("; ") if line)
            path.write_text(header + yaml.safe_dump(data, sort_keys=True))
        else:
            path.write_text(json.dumps(data, indent=2, sort_keys=True))
        if note:
            logging.getLogger(__name__).warning("%s: %s", path, note)
        return note

    @classmethod
    def load(cls, path: Union[str, Path]) -> "NasExperimentConfig":
        path = Path(path)
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
        return cls.from_dict(data)
