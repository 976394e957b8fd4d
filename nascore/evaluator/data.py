"""Tiny data sets for examples and tests: no downloads (scikit-learn ships the digits)."""
from __future__ import annotations

import functools

import torch
from torch.utils.data import TensorDataset

__all__ = ["digits_dataset"]


@functools.lru_cache(maxsize=4)
def _digits_split(split: str, seed: int) -> tuple:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - sklearn is a test dependency
        raise ImportError("digits_dataset needs scikit-learn: pip install scikit-learn") from exc
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # pixel values are 0..16
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(len(y) * 0.8)
    index = order[:cut] if split == "train" else order[cut:]
    return x[index], y[index]


def digits_dataset(split: str = "train", seed: int = 0, image: bool = True) -> TensorDataset:
    """scikit-learn's 8x8 digits (10 classes) as a ``TensorDataset`` of ``(x, label)``.

    ``split`` is ``"train"`` (80%) or ``"val"``/``"test"`` (the other 20%), shuffled by ``seed``. ``x`` has
    shape ``(N, 1, 8, 8)`` with values in [0, 1] when ``image`` is True, else ``(N, 64)``.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"digits_dataset split must be 'train', 'val' or 'test', got {split!r}")
    x, y = _digits_split("train" if split == "train" else "val", seed)
    if image:
        x = x.reshape(-1, 1, 8, 8)
    return TensorDataset(x.clone(), y.clone())
