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
from pathlib import Path

from nascore.trial import report_final_result, report_intermediate_result


def alive(pid):
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone). For the tests, not trials."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def descendants(root):
    """Pids of every live process below ``root`` (from /proc/*/stat parent links)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # exited while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


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


def report_then_sleep(sample):
    """Reports ``count`` intermediates, then writes ``marker`` (so a test knows they are in the pipe) and
    sleeps until killed."""
    for i in range(sample["count"]):
        report_intermediate_result(i)
    Path(sample["marker"]).write_text(str(os.getpid()))
    time.sleep(120)


def mark_pid_and_sleep(model):
    """Evaluator for the Ctrl-C test: leaves ``<$NASCORE_TEST_MARKERS>/trial-<pid>`` and sleeps until killed."""
    report_intermediate_result(0)
    marker = Path(os.environ["NASCORE_TEST_MARKERS"]) / f"trial-{os.getpid()}"
    marker.with_suffix(".tmp").write_text(str(os.getpid()))
    marker.with_suffix(".tmp").rename(marker)  # appears whole: the test reads it as soon as it exists
    time.sleep(120)
    return 0.0


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


def report_torch_threads(sample):
    """Reports the intra-op thread count torch uses in this trial."""
    import torch
    report_final_result(torch.get_num_threads())


def flood(sample):
    """Writes ``sample["mb"]`` MB of numbered lines to stdout (slowly enough for the log cap to keep up)."""
    line = "x" * 1000
    for i in range(sample["mb"] * 1000):
        print(f"{i:08d} {line}")
        if i % 500 == 0:
            time.sleep(0.02)
    print("the last line")
    return 1.0


def change_process_state(sample):
    """Changes what a trial can change in its worker (environment, dtype, RNG, rlimits); reports its pid."""
    import resource
    import torch
    os.environ["NASCORE_LEAKED"] = "1"
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(123)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
    report_final_result(float(os.getpid()))


def process_state(sample):
    """Fails when an earlier trial's changes are still there; reports its pid."""
    import resource
    import torch
    leaks = []
    if "NASCORE_LEAKED" in os.environ:
        leaks.append("environment")
    if torch.get_default_dtype() != torch.float32:
        leaks.append("default dtype")
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 256 and sample["soft"] != 256:
        leaks.append("rlimit")
    if torch.initial_seed() == 123:
        leaks.append("torch seed")
    if leaks:
        raise RuntimeError("leaked from the previous trial: " + ", ".join(leaks))
    report_final_result(float(os.getpid()))
