"""``GraphModelSpace``: the "graph" model format (an ExecutableModelSpace over the graph IR)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from nascore.mutable import LabeledMutable, Mutable, Sample, frozen_context
from nascore.space import ExecutableModelSpace, ModelStatus

from .ir import GraphModel
from . import cell_mutator  # noqa: F401 - registers the mutator of Cell choices
from .mutators import Mutator, find_mutators, freeze_values, prune

__all__ = ["GraphModelSpace", "FORMAT"]

FORMAT = "graph"


def _frontend(config: Any) -> str:
    """The frontend named by a GraphConfig, an experiment config holding one, or a plain string."""
    if isinstance(config, str):
        return config
    fmt = getattr(config, "model_format", None)
    return getattr(fmt, "frontend", None) or getattr(config, "frontend", None) or "fx"


def _needs_reinit(module: Any) -> bool:
    # a ModelSpace whose __init__ read a choice (ensure_frozen) has a structure mutators cannot express
    return any(m.__dict__.get("_nascore_needs_reinit") for m in module.modules())


class GraphModelSpace(ExecutableModelSpace):
    """A model space as a graph IR; frozen, a graph for one sample that generates PyTorch source."""

    format_name = FORMAT

    def __init__(self, ir: GraphModel, mutables: Optional[Dict[str, LabeledMutable]] = None,
                 mutators: Optional[List[Mutator]] = None, evaluator: Any = None, *, frontend: str = "fx") -> None:
        super().__init__(evaluator, dict(mutables or {}))
        self.ir = ir
        self.frontend = frontend
        self.mutators: List[Mutator] = list(mutators or [])
        self._source: Any = None  # the original module (in-process), for weights and re-instantiation
        self._reinit = False
        self._code: Optional[tuple] = None
        self._model: Any = None

    # ---- building ------------------------------------------------------------------------------------
    @classmethod
    def from_model(cls, model_space: Any, evaluator: Any = None, config: Any = None, *,
                   mutators: Optional[List[Mutator]] = None, example_inputs: Optional[tuple] = None,
                   ) -> "GraphModelSpace":
        """Convert ``model_space`` (any ``nn.Module``; usually a ``nascore.nn.ModelSpace``). ``example_inputs``:
        the positional arguments of one call (see :func:`nascore_graph.convert`)."""
        from .converter import convert_to_ir
        frontend = _frontend(config)
        ir = convert_to_ir(model_space, frontend, example_inputs)
        custom = list(getattr(model_space, "__dict__", {}).get("_nascore_graph_mutators", [])) + list(mutators or [])
        own_choices = model_space if isinstance(model_space, Mutable) else None
        mutables = cls.collect_mutables(own_choices, *(m for mutator in custom for m in mutator.mutables), evaluator)
        space = cls(ir, mutables, find_mutators(ir) + custom, evaluator, frontend=frontend)
        space._source = model_space
        space.keep_structure(model_space)
        space._reinit = _needs_reinit(model_space)
        return space

    def _freeze(self, sample: Sample) -> "GraphModelSpace":
        if self.status is not ModelStatus.Initialized:
            raise RuntimeError("this model is frozen already; freeze the space it came from")
        if self._reinit:
            ir = self._reinstantiated_ir(sample)
        else:
            ir = self.ir.copy()
            for mutator in self.mutators:
                mutator.mutate(ir, sample)
            freeze_values(ir, sample)
            prune(ir)
        frozen = GraphModelSpace(ir, self.mutables, [], self.frozen_evaluator(sample), frontend=self.frontend)
        return self.mark_frozen(frozen, sample)

    def _reinstantiated_ir(self, sample: Sample) -> GraphModel:
        """The space's __init__ depends on choices: build the frozen module and convert it."""
        from .converter import convert_to_ir
        space = self._source
        if hasattr(space, "reinstantiate"):
            module = space.reinstantiate(sample)
        else:
            with frozen_context(sample):
                module = space.trace_symbol(*space.trace_args, **space.trace_kwargs)
        return convert_to_ir(module, self.frontend)

    # ---- a frozen model ------------------------------------------------------------------------------
    def _check_concrete(self) -> None:
        if self.status is ModelStatus.Initialized and self.mutables:
            raise RuntimeError("this graph model space still has choices "
                               f"({', '.join(sorted(self.mutables))}); call freeze(sample) first")

    def code(self) -> tuple:
        if self._code is None:
            from .codegen import generate_code
            self._check_concrete()
            self._code = generate_code(self.ir)
        return self._code

    def to_code(self) -> str:
        """Stand-alone PyTorch source of this model: its classes and a ``build()`` function."""
        return self.code()[0]

    def executable_model(self) -> Any:
        """The PyTorch module built from the generated code (cached). A converted plain module (no choices)
        gets the original module's weights."""
        if self._model is None:
            from .codegen import exec_model
            source, objects = self.code()
            model = exec_model(source, objects)
            if self.status is ModelStatus.Initialized and self._source is not None:
                model.load_state_dict(self._source.state_dict())
            self._model = model
        return self._model

    def to_payload(self) -> Dict[str, Any]:
        if self.sample is None and self.mutables:
            raise RuntimeError("only a frozen model has a payload; call space.freeze(sample) first")
        evaluator = None
        if self.evaluator is not None:
            to_payload = getattr(self.evaluator, "to_payload", None)
            if not callable(to_payload):
                from nascore.space import NotSerializableError
                raise NotSerializableError(f"evaluator {type(self.evaluator).__name__} has no to_payload(); "
                                           "use a nascore.evaluator.Evaluator")
            evaluator = to_payload()
        return {"format": FORMAT, "ir": self.ir.to_json(), "sample": dict(self.sample or {}),
                "evaluator": evaluator}

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "GraphModelSpace":
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or "ir" not in payload:
            got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise ValueError(f"not a graph-format payload (format {got!r}); it needs format 'graph' and 'ir'")
        evaluator = None
        if payload.get("evaluator") is not None:
            from nascore.evaluator import Evaluator
            evaluator = Evaluator.from_payload(payload["evaluator"])
        model = cls(GraphModel.from_json(payload["ir"]), {}, [], evaluator)
        model.sample = dict(payload.get("sample") or {})
        model.status = ModelStatus.Frozen
        return model
