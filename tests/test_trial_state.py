"""TrialState puts back what a trial changed in its process."""
import os
import random

import torch

from nascore.trial_state import TrialState


def test_restore_puts_back_environment_dtype_and_random_states(monkeypatch, tmp_path):
    monkeypatch.delenv("NASCORE_TRIAL_STATE_PROBE", raising=False)
    monkeypatch.chdir(tmp_path)
    state = TrialState.capture()
    expected_random, expected_torch = random.random(), torch.rand(1).item()
    state.restore()  # back to before the two draws
    os.environ["NASCORE_TRIAL_STATE_PROBE"] = "1"
    torch.set_default_dtype(torch.float64)
    os.chdir("/")
    try:
        assert state.restore() is None
        assert "NASCORE_TRIAL_STATE_PROBE" not in os.environ and os.getcwd() == str(tmp_path)
        assert torch.get_default_dtype() == torch.float32
        assert (random.random(), torch.rand(1).item()) == (expected_random, expected_torch)
    finally:
        torch.set_default_dtype(torch.float32)
