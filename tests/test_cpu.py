"""Threads sized to the cores actually free: a core another process keeps busy is not counted."""
import os
import subprocess
import sys

import pytest
import torch

from nascore.cpu import available_cores, free_cores, sized_torch_threads, training_threads

SPIN = "import time\nend = time.time() + 60\nwhile time.time() < end: pass\n"


@pytest.fixture
def no_thread_settings(monkeypatch):
    for name in ("NASCORE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="measures load through /proc/stat")
def test_a_busy_core_is_not_counted(no_thread_settings):
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(available_cores())]
    try:
        assert free_cores(sample=0.3) < available_cores()  # every core is kept busy: not all are free
        assert free_cores(sample=0.3) >= 1
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_the_users_setting_wins(monkeypatch, no_thread_settings):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert training_threads(slots=2) == 3
    monkeypatch.setenv("NASCORE_THREADS", "5")
    assert training_threads(slots=2) == 5


def test_torch_threads_sized_for_the_block_then_restored(no_thread_settings):
    before = torch.get_num_threads()
    torch.set_num_threads(available_cores())  # torch's default: ours to size
    try:
        with sized_torch_threads() as threads:
            assert threads is not None and 1 <= threads <= available_cores()
            assert torch.get_num_threads() == threads
        assert torch.get_num_threads() == available_cores()
        if available_cores() > 1:  # a count the user chose is left alone
            torch.set_num_threads(available_cores() - 1)
            with sized_torch_threads() as threads:
                assert threads is None and torch.get_num_threads() == available_cores() - 1
    finally:
        torch.set_num_threads(before)
