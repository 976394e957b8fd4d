"""MedianStop and ASHA decisions, the registry hook, and configuring early stopping by name or object."""
from __future__ import annotations

import pytest

from nascore import NasExperimentConfig
from nascore.early_stopping import ASHA, EarlyStopper, MedianStop, build_early_stopper
from nascore.plugins import UnknownComponentError, get_plugin_manager


def test_asha_rungs_and_cutoffs():
    asha = ASHA(min_resource=1, max_resource=20, reduction_factor=3)
    assert asha.rung_steps(100) == [1, 3, 9]  # 27 is beyond a full trial
    assert asha.report(1, 1, 0.5) is None  # alone at the rung: goes on
    assert asha.report(1, 2, 0.1) is None  # not a rung
    assert asha.report(2, 1, 0.9) is None  # the best so far goes on
    reason = asha.report(3, 1, 0.2)
    assert reason is not None and "rung 1" in reason  # below the top third of [0.5, 0.9, 0.2]
    assert asha.state() == {"rungs": {"1": 3}}
    assert ASHA(max_resource=None, reduction_factor=2).rung_steps(20) == [1, 2, 4, 8, 16]
    with pytest.raises(ValueError, match="reduction_factor must be a number > 1"):
        ASHA(reduction_factor=1)
    with pytest.raises(ValueError, match=r"max_resource \(1\) must be above min_resource \(1\)"):
        ASHA(max_resource=1)


def test_median_stop_waits_for_grace_and_trials():
    median = MedianStop(grace_period=2, min_trials=2)
    for trial, curve in ((1, [0.5, 0.6, 0.7]), (2, [0.3, 0.4, 0.9])):
        for step, score in enumerate(curve, 1):
            assert median.report(trial, step, score) is None  # nothing finished yet
        median.trial_ended(trial, curve, "trained")
    assert median.report(3, 1, 0.0) is None  # within the grace period
    reason = median.report(3, 2, 0.1)
    assert reason is not None and "median 0.5" in reason  # best-so-far medians at step 2: 0.6 and 0.4
    assert median.report(4, 2, 0.55) is None  # above the median
    median.trial_ended(5, [0.0, 0.0], "failed")  # failed trials do not count
    assert median.state()["finished"] == 2


def test_registered_by_the_hook_and_built_by_name():
    manager = get_plugin_manager()
    assert {"asha", "median"} <= set(manager.names("early_stopper"))
    assert manager.plugins["nascore.early_stopping"].registers["early_stopper"] == ["median", "asha"]
    stopper = build_early_stopper({"name": "asha", "max_resource": 9, "reduction_factor": 2})
    assert isinstance(stopper, ASHA) and stopper.max_resource == 9 and stopper.reduction_factor == 2
    assert isinstance(build_early_stopper("median"), MedianStop)
    with pytest.raises(UnknownComponentError, match="unknown early_stopper 'hyperband'; available: asha, median"):
        build_early_stopper("hyperband")
    with pytest.raises(ValueError, match=r"early_stopper 'asha' cannot take \['rungs'\]"):
        build_early_stopper({"name": "asha", "rungs": 3})


def test_config_takes_a_name_a_mapping_or_an_object():
    config = NasExperimentConfig("sequential", "simplified", early_stopping={"name": "median", "grace_period": 3})
    assert config.early_stopping == {"name": "median", "grace_period": 3}
    config = NasExperimentConfig("sequential", "simplified", early_stopping=ASHA(max_resource=5))
    assert isinstance(config.early_stopping, ASHA)
    assert config.model_dump(mode="json")["early_stopping"] == \
        {"name": "asha", "min_resource": 1, "max_resource": 5, "reduction_factor": 3}
    with pytest.raises(ValueError, match="early_stopping takes a registered stopper.s name"):
        NasExperimentConfig("sequential", "simplified", early_stopping=3)


def test_a_third_party_stopper_registers_like_the_built_in_ones(nascore_plugin_manager, register_plugin):
    from nascore import hookimpl
    from nascore.specs import EarlyStopperSpec

    class Never(EarlyStopper):
        def report(self, trial, step, score):
            return None

    class Plugin:
        @hookimpl
        def nascore_early_stoppers(self):
            return [EarlyStopperSpec(name="never", factory=Never, description="never stops")]

    register_plugin(Plugin(), name="never-plugin")
    assert nascore_plugin_manager.get_early_stopper("never").load() is Never
