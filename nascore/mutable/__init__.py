"""Framework-free search-space algebra (no torch import here).

A space is a tree of mutables; ``simplify()`` flattens it to ``{label: leaf}``, a *sample* is a
``{label: value}`` dict, ``freeze(sample)`` returns the concrete value it selects.
"""

from .base import (ConstraintViolation, LabeledMutable, Mutable, MutableSymbol, Sample,
                   SampleMissingError, SampleValidationError, as_random_state)
from .categorical import Categorical, CategoricalMultiple
from .containers import MutableDict, MutableList
from .expression import (ExpressionConstraint, MutableExpression, Operable, condition, evaluate,
                         maximum, minimum)
from .frozen import current_frozen_sample, ensure_frozen, frozen_context
from .labels import LabelScope, auto_label, current_label_scope, label_scope
from .numerical import Numerical

__all__ = [
    "Sample", "SampleValidationError", "SampleMissingError", "ConstraintViolation",
    "Mutable", "LabeledMutable", "MutableSymbol", "as_random_state",
    "Categorical", "CategoricalMultiple", "Numerical",
    "Operable", "MutableExpression", "ExpressionConstraint", "condition", "maximum", "minimum", "evaluate",
    "MutableList", "MutableDict",
    "LabelScope", "label_scope", "current_label_scope", "auto_label",
    "frozen_context", "current_frozen_sample", "ensure_frozen",
]
