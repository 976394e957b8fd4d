"""Trained weights: where a trial saves its model's ``state_dict``, which files an experiment keeps, and loading
them back for export.

A model that should keep its weights has ``model.weights_path`` set (by the experiment, when it is submitted).
The trial saves the trained module's ``state_dict`` there once the evaluator returns
(:meth:`nascore.space.ExecutableModelSpace.save_weights`), wherever the trial runs: training services carry
``weights_path`` in the payload, and remote ones copy the file back. The experiment's ``keep_weights`` setting
(``"none"``, ``"all"`` or a number k: the best k by the objective; default 3) bounds the disk used: files of
models that fall out of the best k are deleted as results arrive.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Optional, Union

__all__ = ["WEIGHTS_DIR", "weights_file", "save_state_dict", "load_trained", "WeightsUnavailableError",
           "keep_count", "weights_usage", "with_weights_loader", "WeightsKeeper"]

#: the folder of an experiment directory holding ``model_<id>.pt`` files
WEIGHTS_DIR = "weights"


class WeightsUnavailableError(RuntimeError):
    """A model's trained weights were not kept (``keep_weights``), or the trial could not save them."""


def weights_file(directory: Union[str, Path], model_id: int) -> Path:
    """Where the experiment in ``directory`` keeps model ``model_id``'s trained ``state_dict``."""
    return Path(directory) / WEIGHTS_DIR / f"model_{model_id}.pt"


def save_state_dict(module: Any, path: Union[str, Path]) -> None:
    """``torch.save(module.state_dict(), path)``, written to a temporary file first so a reader never sees half
    a file; tensors are moved to the CPU so the file loads on any machine."""
    import torch
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in module.state_dict().items()}
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_trained(module: Any, path: Union[None, str, Path], what: str = "the model") -> Any:
    """Load the ``state_dict`` saved at ``path`` into ``module`` (returned). :class:`WeightsUnavailableError`
    says when there is no such file."""
    if path is None or not Path(path).is_file():
        raise WeightsUnavailableError(
            f"the trained weights of {what} were not kept (the experiment keeps the best keep_weights models, "
            f"default 3; set keep_weights='all' to keep every model's), so only a freshly initialised model "
            f"could be returned; pass trained=False to get that, or export one of the kept models")
    import torch
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module


def with_weights_loader(code: str, weights_path: Union[None, str, Path], relative: bool = False) -> str:
    """Generated model ``code`` (which defines ``build()``) plus ``load_trained(path=...)``: the model with its
    trained weights from ``weights_path`` (``relative``: a file name next to the code file). Without weights the
    function says they were not kept."""
    if weights_path is None:
        default, body = "None", ('    if path is None:\n        raise FileNotFoundError("the trained weights of this '
                                 'model were not kept (keep_weights); pass the path of a state_dict file")\n')
    elif relative:
        default = "None"
        body = (f"    if path is None:\n        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "
                f"{Path(weights_path).name!r})\n")
    else:
        default, body = repr(str(weights_path)), ""
    return (code.rstrip("\n") + "\n\n\n"
            f"def load_trained(path={default}):\n"
            '    """The model with the weights nascore kept for it (a state_dict file)."""\n'
            "    import os\n\n    import torch\n\n" + body +
            "    model = build()\n"
            '    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))\n'
            "    return model\n")


def keep_count(setting: Union[None, str, int]) -> Optional[int]:
    """How many models' weights ``keep_weights`` keeps: None for all, 0 for none, else k."""
    if setting is None or setting == "all":
        return None
    if setting == "none":
        return 0
    return int(setting)


class WeightsKeeper:
    """Keeps the weight files of the best ``keep`` trained models of an experiment directory (``keep`` None: all,
    0: none) as models finish, in O(keep) per model: a model that did not train, or falls out of the best, loses
    its file at once. ``best`` is ``[(model_id, value)]`` of the models already kept (e.g. from the store when an
    experiment resumes); ties keep submission order, as the store ranks them."""

    def __init__(self, directory: Union[str, Path], keep: Optional[int], objective: Any,
                 best: Iterable[tuple] = ()) -> None:
        self.directory, self.keep, self.objective = Path(directory), keep, objective
        self._best = sorted(((-objective.score(value), model_id) for model_id, value in best))[:keep or 0]

    def finished(self, model_id: int, trained: bool, value: Optional[float]) -> None:
        """Model ``model_id`` ended (``trained`` with objective value ``value``): keep or drop weight files."""
        if self.keep is None:
            return
        score = self.objective.score(value) if trained else -math.inf
        if score == -math.inf or self.keep == 0:
            weights_file(self.directory, model_id).unlink(missing_ok=True)
            return
        self._best = sorted(self._best + [(-score, model_id)])
        for _, dropped in self._best[self.keep:]:
            weights_file(self.directory, dropped).unlink(missing_ok=True)
        del self._best[self.keep:]


def weights_usage(directory: Union[str, Path]) -> tuple:
    """``(number of weight files, total bytes)`` kept in the experiment ``directory``."""
    folder = Path(directory) / WEIGHTS_DIR
    files = [p for p in folder.glob("model_*.pt")] if folder.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)
