"""The built-in plugin ``nascore.strategy`` registers the strategies and stays light."""
from __future__ import annotations

import subprocess
import sys

from nascore.plugins import create_plugin_manager
from nascore.strategy import TPE, GridSearch, Random, RegularizedEvolution, Strategy


def test_builtin_plugin_registers_the_multi_trial_strategies():
    pm = create_plugin_manager(load_entrypoints=False)
    expected = {"random": Random, "grid": GridSearch, "evolution": RegularizedEvolution, "tpe": TPE}
    for name, cls in expected.items():
        spec = pm.get_strategy(name)
        assert spec.kind == "multi-trial" and spec.provider == "nascore.strategy"
        assert spec.load() is cls and issubclass(cls, Strategy) and cls.kind == "multi-trial"


def test_importing_the_plugin_imports_neither_optuna_nor_torch():
    code = ("import sys, nascore.strategy.hooks, nascore.strategy as s; s.Random; s.RegularizedEvolution; "
            "assert 'optuna' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules); "
            "s.TPE; assert 'optuna' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
