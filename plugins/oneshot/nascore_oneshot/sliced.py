"""Weight sharing for value choices in wrapped torch layers (``nascore.nn.Conv2d(3, Categorical([8, 16]), 3)``).

The supernet layer holds the largest weight any sample needs. A sample uses a slice of it: the leading
channels / features, and the centred window of a convolution kernel (so a 3x3 kernel is the middle of
the 5x5 one). The layer runs the torch layer's own forward on those slices (``torch.func.functional_call``
on a weightless "meta" copy of the layer built with the sample's arguments), which makes a sample's output
identical to a standalone layer loaded with the sliced weights (common layers -- conv, linear, batch norm --
call their functional op directly, which computes the same). DARTS multiplies the full weight by a
mask mixture ``sum_c p_c * mask_c``, so one pass over the largest layer covers every candidate.
"""
from __future__ import annotations

import copy
import itertools
from typing import Any, Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from nascore.mutable import Categorical, Sample

from .choices import _SuperModule, _weighted_sum
from .context import MIXED, SupernetContext, UnsupportedSpaceError

__all__ = ["SuperSlicedLayer", "MAX_COMBINATIONS", "slice_region"]

MAX_COMBINATIONS = 256
# layers whose parameters are packed (q/k/v) so that a prefix slice is not a smaller layer
_NOT_SLICEABLE = (nn.MultiheadAttention,)


def slice_region(full: Tuple[int, ...], shape: Tuple[int, ...], centred_from: int) -> Tuple[slice, ...]:
    """Index of a ``shape`` block in a ``full`` tensor: leading part of dims < centred_from, centred after."""
    region = []
    for dim, (n, m) in enumerate(zip(full, shape)):
        start = (n - m) // 2 if dim >= centred_from else 0
        region.append(slice(start, start + m))
    return tuple(region)


def _state_shapes(module: nn.Module) -> Dict[str, Tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict(keep_vars=True).items()}


class SuperSlicedLayer(_SuperModule):
    """Supernet form of a wrapped torch layer (a ``ParameterizedModule.wrap`` class) with value choices."""

    def __init__(self, source: Any, context: SupernetContext, path: str) -> None:
        super().__init__(context)
        leaves = source.simplify()
        for label, leaf in leaves.items():
            if not isinstance(leaf, Categorical):
                raise UnsupportedSpaceError(f"label {label!r} (argument of {type(source).__name__} at {path!r}) is "
                                            f"a {type(leaf).__name__}; one-shot strategies need Categorical values")
        if isinstance(source, _NOT_SLICEABLE):
            raise UnsupportedSpaceError(f"labels {sorted(leaves)} are arguments of {type(source).__name__} at "
                                        f"{path!r}, whose weights are packed and cannot be sliced; use a LayerChoice")
        self.labels = list(leaves)
        for leaf in leaves.values():
            self.add_mutable(leaf)
            context.register(leaf.label, list(leaf.values))
        combos = list(itertools.product(*[leaves[label].values for label in self.labels]))
        if len(combos) > MAX_COMBINATIONS:
            raise UnsupportedSpaceError(f"labels {self.labels} of {type(source).__name__} at {path!r} make "
                                        f"{len(combos)} combinations (at most {MAX_COMBINATIONS} are supported)")
        templates: Dict[tuple, nn.Module] = {}
        with torch.device("meta"):
            for combo in combos:
                templates[combo] = source.frozen_module(dict(zip(self.labels, combo)))
        shapes = {c: _state_shapes(t) for c, t in templates.items()}
        names = list(next(iter(shapes.values())))
        if any("." in n for n in names) or any(list(s) != names for s in shapes.values()):
            raise UnsupportedSpaceError(f"labels {self.labels}: {type(source).__name__} at {path!r} changes its "
                                        f"structure with the values; one-shot strategies slice flat layers only")
        full = {n: tuple(max(s[n][d] for s in shapes.values()) for d in range(len(shapes[combos[0]][n])))
                for n in names}
        largest = [c for c in combos if shapes[c] == full]
        if not largest:
            raise UnsupportedSpaceError(f"labels {self.labels}: no single value combination of "
                                        f"{type(source).__name__} at {path!r} holds every other one's weights")
        real = source.frozen_module(dict(zip(self.labels, largest[0])))
        for name, value in real.state_dict(keep_vars=True).items():
            if isinstance(value, nn.Parameter):
                self.register_parameter(name, value)
            else:
                self.register_buffer(name, value)
        self.param_names = [n for n, _ in real.named_parameters()]
        self.__dict__["_templates"] = templates
        self.__dict__["_shapes"] = shapes
        self.__dict__["_full"] = full
        self.__dict__["_largest"] = largest[0]
        self.__dict__["_masks"] = None
        # convolution kernels are centred, channels / features are leading slices
        self.centred_from = 2 if isinstance(real, nn.modules.conv._ConvNd) else 10**9
        if context.mode == MIXED:
            self._check_mixable(path)

    def _check_mixable(self, path: str) -> None:
        """DARTS runs the largest layer with mixed weights: every value must give the same output size."""
        convs = [t for t in self._templates.values() if isinstance(t, nn.modules.conv._ConvNd)]
        if convs:
            def geometry(t: Any) -> tuple:
                return tuple(t.stride), tuple((k - 1) * d - 2 * p
                                              for k, d, p in zip(t.kernel_size, t.dilation, t.padding))
            if len({geometry(t) for t in convs}) > 1:
                raise UnsupportedSpaceError(
                    f"labels {self.labels}: the kernel sizes of {type(convs[0]).__name__} at {path!r} change the "
                    f"output size; DARTS mixes them only when padding follows the kernel (padding=kernel_size//2)")

    # ---- forward ------------------------------------------------------------------------------------
    # What depends only on the value combination (slice regions, the DARTS mask stack) is
    # built once and cached; a forward then costs a few tensor views and one functional call.
    def _tensors(self) -> Dict[str, torch.Tensor]:
        out = {n: p for n, p in self._parameters.items() if p is not None}
        out.update((n, b) for n, b in self._buffers.items() if b is not None)
        return out

    def _regions(self, combo: tuple) -> Dict[str, Tuple[slice, ...]]:
        cache = self.__dict__.setdefault("_region_cache", {})
        regions = cache.get(combo)
        if regions is None:
            shapes = self._shapes[combo]
            regions = cache[combo] = {
                name: slice_region(self._full[name], shapes[name], self.centred_from if name == "weight" else 10**9)
                for name in shapes}
        return regions

    def _slices(self, combo: tuple) -> Dict[str, torch.Tensor]:
        regions = self._regions(combo)
        return {name: value[regions[name]] for name, value in self._tensors().items()}

    def _mask_stack(self, device: torch.device) -> Dict[str, torch.Tensor]:
        masks = self._masks
        if masks is None or any(m.device != device for m in masks.values()):
            masks = {}
            for name in self.param_names:
                stack = torch.zeros((len(self._templates),) + self._full[name], device=device)
                for i, combo in enumerate(self._templates):
                    stack[i][self._regions(combo)[name]] = 1.0
                masks[name] = stack
            self.__dict__["_masks"] = masks
        return masks

    def _combo_probs(self) -> torch.Tensor:
        # combos are itertools.product of the labels' values in registration order, so the joint weights are
        # the flattened outer product of the labels' softmaxes (one softmax per label)
        ctx = self.context
        probs = ctx.probs(self.labels[0])
        for label in self.labels[1:]:
            probs = (probs[:, None] * ctx.probs(label)[None, :]).reshape(-1)
        return probs

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        ctx = self.context
        if ctx.mode == MIXED:
            probs = self._combo_probs()
            if not self.param_names:  # weightless layer (pooling, dropout): mix the outputs
                outputs = [self._run(c, {}, args, kwargs) for c in self._templates]
                return _weighted_sum(outputs, probs, ",".join(self.labels))
            state = self._tensors()
            for name, stack in self._mask_stack(state[self.param_names[0]].device).items():
                state[name] = state[name] * torch.tensordot(probs, stack, dims=1)
            return self._run(self._largest, state, args, kwargs)
        combo = tuple(ctx.value(label) for label in self.labels)
        if combo not in self._templates:
            raise KeyError(f"value {combo} of {self.labels} is not one of this layer's candidates")
        return self._run(combo, self._slices(combo), args, kwargs)

    def _run(self, combo: tuple, state: Dict[str, torch.Tensor], args: tuple, kwargs: dict) -> Any:
        template = self._templates[combo]
        template.training = self.training
        if len(args) == 1 and not kwargs:
            fast = _FAST.get(type(template).forward)
            if fast is not None:
                return fast(template, args[0], state)
        return functional_call(template, state, args, kwargs)

    def templates(self) -> List[nn.Module]:
        """The weightless per-sample layers this one computes with (one per value combination)."""
        return list(self._templates.values())

    # ---- structural freeze: the plain layer with the sliced weights -----------------------------------
    def frozen_layer(self, sample: Sample) -> nn.Module:
        combo = tuple(self.mutables[self.labels.index(label)].freeze(sample) for label in self.labels)
        device = next(iter(self.state_dict().values())).device if self.state_dict() else torch.device("cpu")
        layer = copy.deepcopy(self._templates[combo]).to_empty(device=device)
        layer.load_state_dict({k: v.detach().clone() for k, v in self._slices(combo).items()})
        layer.train(self.training)
        return layer

    def _freeze_self(self, sample: Sample) -> nn.Module:
        return self.frozen_layer(sample)

    def extra_repr(self) -> str:
        return f"labels={self.labels}, full={self._full}"


# Direct calls of the torch layer's own functional op with the sliced tensors, for the common layers whose
# forward is the stock one; they compute exactly what ``functional_call`` would (same op, same arguments)
# without swapping tensors into the template module on every call.
def _conv(t: Any, x: torch.Tensor, state: Dict[str, torch.Tensor]) -> torch.Tensor:
    return t._conv_forward(x, state["weight"], state.get("bias"))


def _linear(t: Any, x: torch.Tensor, state: Dict[str, torch.Tensor]) -> torch.Tensor:
    return F.linear(x, state["weight"], state.get("bias"))


def _batch_norm(t: Any, x: torch.Tensor, state: Dict[str, torch.Tensor]) -> torch.Tensor:
    # the logic of torch's _BatchNorm.forward, reading the (shared, sliced) running stats from ``state``
    t._check_input_dim(x)
    factor = 0.0 if t.momentum is None else t.momentum
    tracked = state.get("num_batches_tracked")
    if t.training and t.track_running_stats and tracked is not None:
        tracked.add_(1)
        factor = 1.0 / float(tracked) if t.momentum is None else t.momentum
    mean, var = state.get("running_mean"), state.get("running_var")
    bn_training = True if t.training else (mean is None and var is None)
    use_stats = not t.training or t.track_running_stats
    return F.batch_norm(x, mean if use_stats else None, var if use_stats else None, state.get("weight"),
                        state.get("bias"), bn_training, factor, t.eps)


_FAST = {nn.Conv1d.forward: _conv, nn.Conv2d.forward: _conv, nn.Conv3d.forward: _conv, nn.Linear.forward: _linear,
         nn.modules.batchnorm._BatchNorm.forward: _batch_norm}


def sliced_labels(layers: List[SuperSlicedLayer]) -> List[str]:
    return sorted({label for layer in layers for label in layer.labels})
