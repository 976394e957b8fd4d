"""nascore-dashboard: a live web dashboard for nascore experiments (``exp.run(config, port)``,
``nascore dashboard DIR``)."""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["DashboardServer"]

__getattr__, __dir__ = lazy_exports(__name__, {"DashboardServer": ".server"})
