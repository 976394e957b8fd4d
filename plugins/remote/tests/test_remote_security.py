"""Nobody else gets in, nothing is left running: file modes under any umask, the agent socket refusing other
users, a trial's setsid() children killed with it, a new owner retiring the agent an earlier run left."""
from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import tempfile
import time

import pytest

from remote_helpers import HERE, agent_processes
from nascore.space import ModelStatus
from nascore.training_service import TrialRequest
from nascore_remote.agent.procs import alive
from remote_trial_helpers import script_payload


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the process table
    return not alive(pid)


def _loose_bits(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077


@pytest.fixture
def umask_002_python(tmp_path):
    """A "remote" Python whose login umask is 002 (a shared group could read and write what it creates)."""
    wrapper = tmp_path / "python-umask002"
    wrapper.write_text(f"#!/bin/sh\numask 002\nexec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def _connect_as_nobody(path: str) -> str:
    """Connect to ``path`` from a child that runs as user nobody; what happened, in words."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: another user on the machine
        try:
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(path)
            sock.sendall(b'{"op": "hello", "after": 0}\n')
            result = b"answered" if sock.recv(100) else b"closed"
        except PermissionError:
            result = b"denied"
        except (ConnectionResetError, BrokenPipeError):  # hung up on, unanswered
            result = b"closed"
        except OSError as exc:
            result = str(exc).encode()
        os.write(write, result)
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as f:
        return f.read().decode()


def test_run_directory_socket_logs_and_code_are_owner_only(start_service, machine, remote_config, tmp_path,
                                                           umask_002_python):
    code = tmp_path / "code"  # a fresh code tree, so it is unpacked by this run
    code.mkdir()
    shutil.copy(HERE / "remote_trial_helpers.py", code)
    (code / "marker.txt").write_text(str(time.time_ns()))
    (code / "marker.txt").chmod(0o664)
    service, rec = start_service([machine(0, python_path=umask_002_python)], trial_code_directory=str(code))
    service.submit(TrialRequest("p", script_payload("print")))
    rec.wait_ended("p")
    assert rec.ends()["p"].status is ModelStatus.Trained
    m = service._machines[0].machine
    sock = f"{m.run_dir}/agent.sock"
    for path in (m.base, m.run_dir, sock, f"{m.run_dir}/trials/p/stdout", f"{m.run_dir}/trials/p/stderr",
                 m.code_dir, f"{m.code_dir}/marker.txt", f"{m.code_dir}/remote_trial_helpers.py"):
        assert _loose_bits(path) == 0, f"{path} is {oct(os.stat(path).st_mode)}"
    if os.geteuid() != 0:
        return  # the checks below need to become another user
    assert _connect_as_nobody(sock) == "denied"
    # even with the socket reachable by mistake (a world-open link to it), the agent hangs up, unanswered
    opened = tempfile.mkdtemp(prefix="nascore-open-")  # under /tmp: reachable by every user
    try:
        os.chmod(opened, 0o777)
        try:
            os.link(sock, f"{opened}/agent.sock")
        except OSError:
            pytest.skip("cannot link the socket into a world-open folder here")
        os.chmod(f"{opened}/agent.sock", 0o777)
        assert _connect_as_nobody(f"{opened}/agent.sock") == "closed"
        os.chmod(f"{opened}/agent.sock", 0o600)
    finally:
        shutil.rmtree(opened, ignore_errors=True)
    service.submit(TrialRequest("q", script_payload("noop")))  # and its own client is still served
    rec.wait_ended("q")


@pytest.mark.parametrize("then", ["crash", "cancel"])
def test_setsid_children_of_a_trial_are_killed(start_service, machine, tmp_path, then):
    service, rec = start_service([machine(0)])
    pidfile = tmp_path / "child.pid"
    gate = tmp_path / "crash-now"
    service.submit(TrialRequest("o", script_payload("orphan", pidfile=str(pidfile), then=then, gate=str(gate))))
    rec.wait(lambda: pidfile.exists() and pidfile.read_text() != "")
    child = int(pidfile.read_text())
    assert alive(child) and os.getsid(child) == child  # it left the trial's session
    if then == "cancel":
        service.cancel("o", "stop it")
    else:
        gate.touch()
    rec.wait_ended("o")
    assert _wait_gone(child), f"process {child} started by the trial outlived it"


def test_new_owner_retires_the_agent_an_earlier_run_left(start_service, machine, tmp_path):
    started = tmp_path / "started"
    old, rec_old = start_service([machine(0)])
    old.submit(TrialRequest("t", script_payload("sleep", seconds=600, started=str(started))))
    rec_old.wait(lambda: started.exists())
    old_agents = agent_processes(old.run_id)
    assert old_agents
    old._closed = True  # the old owner is gone (SIGKILLed): it reconnects to nothing, answers nothing
    logs = old.log_directory
    from nascore_remote.service import RemoteTrainingService
    from remote_helpers import Recorder
    new = RemoteTrainingService(old.config)
    try:
        new.start(Recorder(), logs)  # a resume of the same experiment (same directory)
        assert all(not alive(pid) for pid in old_agents)  # gone before the new run's first trial
        assert agent_processes(new.run_id)
    finally:
        new.shutdown()


def test_a_nascore_folder_in_the_uploaded_code_does_not_replace_the_machines(start_service, machine, tmp_path):
    code = tmp_path / "code"  # e.g. trial code uploaded from a clone of nascore
    (code / "nascore").mkdir(parents=True)
    (code / "nascore" / "__init__.py").write_text("raise ImportError('the uploaded nascore folder was used')\n")
    shutil.copy(HERE / "remote_trial_helpers.py", code)
    service, rec = start_service([machine(0)], trial_code_directory=str(code))
    service.submit(TrialRequest("n", script_payload("noop")))
    rec.wait_ended("n")
    assert rec.ends()["n"].status is ModelStatus.Trained, rec.ends()["n"].reason


def test_a_remote_worker_that_cannot_start_says_why(start_service, machine, tmp_path):
    code = tmp_path / "code"  # trial code whose sitecustomize breaks every Python started in it
    code.mkdir()
    (code / "sitecustomize.py").write_text("raise SystemExit('sitecustomize: broken on purpose')\n")
    shutil.copy(HERE / "remote_trial_helpers.py", code)
    service, rec = start_service([machine(0)], trial_code_directory=str(code))
    service.submit(TrialRequest("w", script_payload("noop")))
    rec.wait_ended("w")
    end = rec.ends()["w"]
    assert end.status is ModelStatus.Failed
    assert "; the worker said: " in end.reason and "SystemExit: sitecustomize: broken on purpose" in end.reason
