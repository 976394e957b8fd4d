"""nascore-remote: the ``remote`` training service (trials on SSH machines).

Light to import: only the settings models are loaded here; paramiko is imported when the service starts.
"""
from __future__ import annotations

from nascore_remote.config import RemoteConfig, RemoteMachineConfig

__all__ = ["RemoteConfig", "RemoteMachineConfig"]
