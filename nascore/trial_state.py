"""What one trial may change in a warm worker process, put back before the next trial runs there.

Reset after every trial: environment variables, the working directory, torch's default dtype, the random
states of ``random``, numpy and torch (CPU; CUDA when it was initialised), and resource limits. A trial that
lowered a *hard* resource limit cannot be undone (only root may raise one): the worker must retire.
Kept on purpose: imported modules (the point of a warm worker) and anything a trial stores in module globals;
a trial that leaves threads running also retires its worker (the services check that themselves).
"""
from __future__ import annotations

import os
import random
import sys
from typing import Any, Dict, List, Optional

__all__ = ["TrialState"]

try:
    import resource
    _LIMITS = [getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")]
except ImportError:  # not on POSIX
    resource = None  # type: ignore[assignment]
    _LIMITS = []


class TrialState:
    """``state = TrialState.capture()`` before a trial, ``problem = state.restore()`` after it: None when the
    process is as it was, else why the worker should not run another trial."""

    def __init__(self) -> None:
        self.environ: Dict[str, str] = dict(os.environ)
        self.cwd = os.getcwd()
        self.random = random.getstate()
        self.limits = {limit: resource.getrlimit(limit) for limit in _LIMITS} if resource else {}
        numpy = sys.modules.get("numpy")
        self.numpy = numpy.random.get_state() if numpy is not None else None
        torch = sys.modules.get("torch")
        self.torch_dtype = torch.get_default_dtype() if torch is not None else None
        self.torch_rng = torch.get_rng_state() if torch is not None else None
        self.cuda_rng = (torch.cuda.get_rng_state_all()
                         if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized() else None)

    @classmethod
    def capture(cls) -> "TrialState":
        return cls()

    def restore(self) -> Optional[str]:
        os.environ.clear()
        os.environ.update(self.environ)
        try:
            os.chdir(self.cwd)
        except OSError:
            pass
        random.setstate(self.random)
        numpy = sys.modules.get("numpy")
        if numpy is not None and self.numpy is not None:
            numpy.random.set_state(self.numpy)
        torch = sys.modules.get("torch")
        if torch is not None:
            if self.torch_dtype is not None:
                torch.set_default_dtype(self.torch_dtype)
            if self.torch_rng is not None:
                torch.set_rng_state(self.torch_rng)
            if self.cuda_rng is not None:
                torch.cuda.set_rng_state_all(self.cuda_rng)
        return self._restore_limits()

    def _restore_limits(self) -> Optional[str]:
        lowered: List[str] = []
        for limit, before in self.limits.items():
            now = resource.getrlimit(limit)
            if now == before:
                continue
            try:
                resource.setrlimit(limit, before)
            except (ValueError, OSError):
                lowered.append(_limit_name(limit))
        if lowered:
            return f"the trial lowered resource limits that cannot be raised again: {', '.join(lowered)}"
        return None


def _limit_name(limit: Any) -> str:
    return next((n for n in dir(resource) if n.startswith("RLIMIT_") and getattr(resource, n) == limit), str(limit))
