"""Continuous (optionally quantized) values: uniform, log-uniform or normal."""

from __future__ import annotations

import math
import random as _random
from statistics import NormalDist
from typing import Any, Iterable, Optional

from .base import MutableSymbol
from .expression import Operable
from .labels import auto_label

__all__ = ["Numerical"]

_RESAMPLE = 100


class Numerical(Operable, MutableSymbol):
    """A number in ``[low, high]``.

    Distribution: uniform; log-uniform if ``log_distributed``; normal(mu, sigma) truncated to the
    bounds if ``mu``/``sigma`` are given (bounds may then be infinite). ``quantize=q`` rounds to a
    multiple of q, then clips to the bounds. Values are ints when q and finite bounds are ints.

    Grid: granularity g yields the points at quantiles k / 2**g (k = 1 .. 2**g - 1) of the
    distribution, so a higher granularity gives a superset; duplicates after quantizing are
    dropped. With ``quantize`` and finite bounds and ``granularity=None`` the grid is the full,
    finite set of quantized values; otherwise ``granularity=None`` means 1 (the median).
    """

    def __init__(self, low: float, high: float, *, mu: Optional[float] = None,
                 sigma: Optional[float] = None, log_distributed: bool = False,
                 quantize: Optional[float] = None, default: Optional[float] = None,
                 label: Optional[str] = None) -> None:
        if (mu is None) != (sigma is None):
            raise ValueError("mu and sigma must be given together")
        if low > high:
            raise ValueError(f"low={low} is greater than high={high}")
        if mu is None and not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("uniform and log-uniform distributions need finite bounds")
        if log_distributed and (low <= 0 or mu is not None):
            raise ValueError("log_distributed needs low > 0 and no mu/sigma")
        if quantize is not None and quantize <= 0:
            raise ValueError("quantize must be positive")
        self.low, self.high, self.mu, self.sigma = low, high, mu, sigma
        self.log_distributed, self.quantize = log_distributed, quantize
        self.is_int = (isinstance(quantize, int) and all(
            isinstance(b, int) or not math.isfinite(b) for b in (low, high)))
        self.label = auto_label(label)
        if default is not None:
            reason = self.check_value(default)
            if reason is not None:
                raise ValueError(f"bad default for {self.label}: {reason}")
            self._default = default
        else:
            self._default = self._at_quantile(0.5)

    def _finish(self, x: float) -> Any:
        """Quantize and clip a raw draw."""
        if self.quantize is not None:
            x = round(x / self.quantize) * self.quantize
        x = min(max(x, self.low), self.high)
        return int(round(x)) if self.is_int else float(x)

    def _at_quantile(self, q: float) -> Any:
        if self.mu is not None:
            return self._finish(NormalDist(self.mu, self.sigma).inv_cdf(q))
        if self.log_distributed:
            lo, hi = math.log(self.low), math.log(self.high)
            return self._finish(math.exp(lo + q * (hi - lo)))
        return self._finish(self.low + q * (self.high - self.low))

    def default_value(self) -> Any:
        return self._default

    def random_value(self, rng: _random.Random) -> Any:
        if self.mu is not None:
            for _ in range(_RESAMPLE):  # truncated normal by rejection; clip as a last resort
                x = rng.gauss(self.mu, self.sigma)
                if self.low <= x <= self.high:
                    break
        elif self.log_distributed:
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            x = rng.uniform(self.low, self.high)
        return self._finish(x)

    def grid_values(self, granularity: Optional[int] = None) -> Iterable[Any]:
        finite = math.isfinite(self.low) and math.isfinite(self.high)
        if granularity is None and self.quantize is not None and finite:
            q = self.quantize
            points = [self._finish(self.low)]
            k = math.ceil(self.low / q)
            while k * q <= self.high:
                points.append(self._finish(k * q))
                k += 1
            points.append(self._finish(self.high))
        else:
            g = 1 if granularity is None else granularity
            if g < 1:
                raise ValueError("granularity must be >= 1")
            points = [self._at_quantile(k / 2 ** g) for k in range(1, 2 ** g)]
        out: list[Any] = []
        for p in sorted(points):
            if not out or not math.isclose(out[-1], p, rel_tol=1e-12, abs_tol=1e-12):
                out.append(p)
        return out

    def check_value(self, value: Any) -> Optional[str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{value!r} is not a number"
        if math.isnan(value) or not self.low <= value <= self.high:
            return f"{value!r} is not in [{self.low}, {self.high}]"
        if self.quantize is not None:
            snapped = self._finish(value)
            if not math.isclose(snapped, value, rel_tol=1e-9, abs_tol=1e-9):
                return f"{value!r} is not a multiple of {self.quantize}"
        return None

    def equals(self, other: Any) -> bool:
        keys = ("label", "low", "high", "mu", "sigma", "log_distributed", "quantize", "_default")
        return type(other) is type(self) and all(getattr(self, k) == getattr(other, k) for k in keys)

    def __repr__(self) -> str:
        extra = ""
        if self.mu is not None:
            extra += f", mu={self.mu}, sigma={self.sigma}"
        if self.log_distributed:
            extra += ", log_distributed=True"
        if self.quantize is not None:
            extra += f", quantize={self.quantize}"
        return f"Numerical({self.low}, {self.high}{extra}, label={self.label!r})"
