"""Search strategies: the ``Strategy`` base and the built-in multi-trial strategies.

Names are imported on first access, so ``import nascore.strategy`` (done by the plugin manager to load the
built-in plugin) stays light and Optuna is imported only when ``TPE`` is used.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

_LAZY = {
    "Strategy": "nascore.strategy.base",
    "MultiTrialStrategy": "nascore.strategy.multi_trial",
    "Random": "nascore.strategy.random",
    "GridSearch": "nascore.strategy.grid",
    "RegularizedEvolution": "nascore.strategy.evolution",
    "TPE": "nascore.strategy.tpe",
    "NSGA2": "nascore.strategy.nsga2",
    "MORegularizedEvolution": "nascore.strategy.mo_evolution",
    "LocalSearch": "nascore.strategy.local_search",
    "PolicyBasedRL": "nascore.strategy.policy_rl",
    "BayesOpt": "nascore.strategy.bayes",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
