"""``use_active_gpu``: GPUs that run other people's compute processes are skipped, found by the agent with
nvidia-smi on the machine. No GPU is needed: a small script stands in for nvidia-smi and prints fixed CSV."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

from nascore.training_service import TrialRequest
from nascore_remote.agent.gpus import compute_apps, foreign_gpus
from remote_trial_helpers import script_payload

BUS = ("00000000:17:00.0", "00000000:65:00.0")  # GPU 0 and GPU 1


def _fake_nvidia_smi(tmp_path: Path, apps: str) -> Tuple[Path, Path]:
    """An executable answering the two queries the agent makes; ``apps.csv`` can be rewritten later."""
    folder = tmp_path / "smi"
    folder.mkdir()
    (folder / "gpus.csv").write_text(f"0, {BUS[0]}\n1, {BUS[1]}\n")
    _set(folder / "apps.csv", apps)
    exe = folder / "nvidia-smi"
    exe.write_text("#!/bin/sh\n"
                   'case "$*" in\n'
                   f'  *--query-gpu=index,pci.bus_id*--format=csv,noheader*) cat "{folder}/gpus.csv" ;;\n'
                   f'  *--query-compute-apps=gpu_bus_id,pid*--format=csv,noheader*) cat "{folder}/apps.csv" ;;\n'
                   '  *) echo "unexpected query: $*" >&2; exit 2 ;;\n'
                   "esac\n")
    exe.chmod(0o755)
    return exe, folder / "apps.csv"


def _set(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # atomic: the agent never reads half a file


def _cuda_devices(service, trial_id: str) -> str:
    return service.log_paths(trial_id).stdout.read_text().split()[2]  # "hello stdout <CVD> <pid>"


def test_parsing_nvidia_smi_output(tmp_path):
    smi, _ = _fake_nvidia_smi(tmp_path, f"{BUS[1].lower()}, 4242\n{BUS[0]}, [N/A]\nffff:00:00.0, 7\n")
    apps = compute_apps(str(smi))
    assert apps == [(1, 4242), (0, None)]  # bus ids match in any case; unknown buses are dropped
    # a process whose pid is unknown counts as someone else's; our worker's own process does not
    assert foreign_gpus(apps, {4242}) == [0]
    assert foreign_gpus([(0, os.getpid())], {os.getpid()}) == []
    assert compute_apps(str(tmp_path / "no-such-nvidia-smi")) == []  # no nvidia-smi: nothing is busy


def test_gpu_used_by_another_process_is_skipped(start_service, machine, tmp_path):
    smi, _ = _fake_nvidia_smi(tmp_path, f"{BUS[0]}, {os.getpid()}\n")  # this test process "uses" GPU 0
    service, rec = start_service([machine(0, gpu_indices=[0, 1], nvidia_smi=str(smi))], trial_concurrency=2)
    assert service.machine_status()[0]["busy_gpus"] == [0]
    assert service.capacity() == 1
    service.submit(TrialRequest("g1", script_payload("print")))
    assert service.capacity() == 0
    rec.wait_ended("g1")
    service.submit(TrialRequest("g2", script_payload("print")))
    rec.wait_ended("g2")
    assert [_cuda_devices(service, t) for t in ("g1", "g2")] == ["1", "1"]

    # use_active_gpu=True: the same machine shares GPU 0 with the other process
    active, rec = start_service([machine(0, gpu_indices=[0, 1], nvidia_smi=str(smi), use_active_gpu=True)],
                                trial_concurrency=2)
    assert active.capacity() == 2
    active.submit(TrialRequest("a1", script_payload("print")))
    active.submit(TrialRequest("a2", script_payload("print")))
    rec.wait_ended("a1", "a2")
    assert sorted(_cuda_devices(active, t) for t in ("a1", "a2")) == ["0", "1"]


def test_busy_gpus_follow_nvidia_smi_and_our_workers_do_not_count(start_service, machine, tmp_path, monkeypatch):
    monkeypatch.setattr("nascore_remote.machine.GPU_POLL_SECONDS", 0.05)
    smi, apps = _fake_nvidia_smi(tmp_path, "")
    service, rec = start_service([machine(0, gpu_indices=[0, 1], nvidia_smi=str(smi))], trial_concurrency=2)
    assert service.capacity() == 2
    _set(apps, f"{BUS[0]}, {os.getpid()}\n")  # someone starts on GPU 0 while the experiment runs
    rec.wait(lambda: service.capacity() == 1, timeout=20)
    service.submit(TrialRequest("mine", script_payload("print")))
    rec.wait_ended("mine")
    assert _cuda_devices(service, "mine") == "1"
    worker_pid = service.log_paths("mine").stdout.read_text().split()[3]  # the idle worker, kept for reuse
    _set(apps, f"{BUS[0]}, {os.getpid()}\n{BUS[1]}, {os.getpid()}\n")  # someone takes GPU 1 too
    rec.wait(lambda: service.capacity() == 0, timeout=20)
    # they leave GPU 1; our idle worker holds a CUDA context there: nvidia-smi lists it, the GPU stays ours
    _set(apps, f"{BUS[0]}, {os.getpid()}\n{BUS[1]}, {worker_pid}\n")
    rec.wait(lambda: service.capacity() == 1, timeout=20)
    assert service.machine_status()[0]["busy_gpus"] == [0]
    service.submit(TrialRequest("again", script_payload("print")))
    rec.wait_ended("again")
    assert _cuda_devices(service, "again") == "1"
    assert service.log_paths("again").stdout.read_text().split()[3] == worker_pid  # the same worker
    _set(apps, "")
    rec.wait(lambda: service.capacity() == 2, timeout=20)
