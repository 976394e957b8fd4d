"""The built-in plugin ``nascore.strategy``: registers the multi-trial strategies shipped with the core.

Light on purpose: the strategy classes (and Optuna, for TPE) are imported only when a strategy is used.
"""
from __future__ import annotations

from typing import List

from nascore.plugins import hookimpl
from nascore.specs import StrategySpec


@hookimpl
def nascore_strategies() -> List[StrategySpec]:
    return [
        StrategySpec(name="random", factory="nascore.strategy.random:Random", kind="multi-trial",
                     description="random search, without repeats"),
        StrategySpec(name="grid", factory="nascore.strategy.grid:GridSearch", kind="multi-trial",
                     description="grid search, refining numerical choices"),
        StrategySpec(name="evolution", factory="nascore.strategy.evolution:RegularizedEvolution",
                     kind="multi-trial", description="regularized (aging) evolution"),
        StrategySpec(name="tpe", factory="nascore.strategy.tpe:TPE", kind="multi-trial",
                     description="tree-structured Parzen estimator (Optuna)"),
        StrategySpec(name="nsga2", factory="nascore.strategy.nsga2:NSGA2", kind="multi-trial",
                     description="NSGA-II for several objectives (Optuna)"),
        StrategySpec(name="mo_evolution", factory="nascore.strategy.mo_evolution:MORegularizedEvolution",
                     kind="multi-trial", description="regularized evolution ranking by Pareto front and crowding"),
        StrategySpec(name="local_search", factory="nascore.strategy.local_search:LocalSearch", kind="multi-trial",
                     description="hill climbing over one-label neighbours with best-first restarts"),
        StrategySpec(name="policy_rl", factory="nascore.strategy.policy_rl:PolicyBasedRL", kind="multi-trial",
                     description="policy-gradient RL (PPO) over an autoregressive controller, in torch"),
        StrategySpec(name="bayes", factory="nascore.strategy.bayes:BayesOpt", kind="multi-trial",
                     description="Bayesian optimisation: a GP over labels with expected improvement"),
    ]
