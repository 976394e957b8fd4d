"""Entry point of nascore-nasbench.

The benchmark adds no engine, format or strategy: it is a model space and an evaluator used through their
classes (``from nascore_nasbench import NasBenchGraphSpace, NasBenchGraphEvaluator``). The entry point
makes it show up in ``nascore plugins`` like every other part; nothing heavy is imported here.
"""
