"""Trial functions for the ts/local tests. Imported by module path inside worker processes, so it lives
in a plain module (the test files put this folder on sys.path; workers inherit it through PYTHONPATH)."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from nascore.trial import report_final_result, report_intermediate_result


def worker_pid(sample):
    report_final_result(os.getpid())


def exit_3(sample):
    report_intermediate_result(1)
    report_intermediate_result(2)
    sys.stdout.flush()
    os._exit(3)


def segfault(sample):
    report_intermediate_result(1)
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def killed(sample):
    report_intermediate_result(1)
    os.kill(os.getpid(), signal.SIGKILL)


def sleeper(sample):
    report_intermediate_result(1)
    time.sleep(sample.get("seconds", 60))
    report_final_result(2)


def spawn_child_and_sleep(sample):
    """Starts a grandchild process, reports its pid, then sleeps: shutdown must kill both."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    report_intermediate_result(child.pid)
    report_intermediate_result(os.getpid())
    time.sleep(120)


def chatty(sample):
    print(f"hello stdout {sample['x']}")
    print(f"hello stderr {sample['x']}", file=sys.stderr)
    report_final_result(sample["x"])


def leaves_thread(sample):
    threading.Thread(target=time.sleep, args=(30,), name="leaked-by-trial").start()
    report_final_result(os.getpid())


def cuda_env(sample):
    devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    report_final_result(-1 if devices is None else len([d for d in devices.split(",") if d]))


def noop(sample):
    report_final_result(0)


def cuda_device_then_wait(sample):
    report_intermediate_result(int(os.environ["CUDA_VISIBLE_DEVICES"]))
    time.sleep(sample.get("seconds", 0.3))  # keep the GPU busy so the next trial must go elsewhere
    report_final_result(0)


def score_width(model):
    """Reports one intermediate and returns the output width as the final metric."""
    import torch
    width = model(torch.zeros(1, 3)).shape[1]
    report_intermediate_result(width / 10)
    return float(width)


def cuda_matmul(sample):
    import torch
    report_intermediate_result(torch.cuda.device_count())
    x = torch.ones(64, 64, device="cuda")
    report_final_result(float((x @ x)[0, 0]))
