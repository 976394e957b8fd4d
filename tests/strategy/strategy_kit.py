"""The strategy tests' kit is the public one: :mod:`nascore.testkit` (imported here by its old name)."""
from nascore.testkit import TARGET, DictSpace, FunctionEngine, make_space, peak  # noqa: F401
