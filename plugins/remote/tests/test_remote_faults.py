"""Faults against real sshd: dropped connections, a machine gone for good, wrong keys, unknown host keys."""
from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest

from remote_helpers import agent_processes
from nascore.space import ModelStatus
from nascore.training_service import TrialRequest
from nascore_remote.agent.procs import alive
from nascore_remote.agent.worker_events import MAX_LINE, BadWorkerLine, parse_worker_event
from nascore_remote.connection import RemoteError
from nascore_remote.testing import SshServer, generate_key
from remote_trial_helpers import script_payload


def _open(gate: str, i: int) -> None:
    open(f"{gate}.{i}", "w").close()


def _first_metric(start_service, machine, tmp_path, n: int):
    """A service on machine 0 whose trial ``t`` (``n`` steps, step i once ``<gate>.<i>`` exists) has reported its
    first metric: ``(service, recorder, gate)``."""
    service, rec = start_service([machine(0)])
    gate = str(tmp_path / "gate")
    _open(gate, 0)
    service.submit(TrialRequest("t", script_payload("steps", n=n, gate=gate)))
    rec.wait(lambda: len(rec.metrics("t")) == 1)
    return service, rec, gate


def test_dropped_connection_loses_and_repeats_no_metric(start_service, machine, sshd_pair, tmp_path):
    service, rec, gate = _first_metric(start_service, machine, tmp_path, n=4)
    assert sshd_pair[0].drop_connections() >= 1  # kill the sshd processes serving our session
    _open(gate, 1)  # the trial goes on while we are disconnected: the agent buffers its events
    _open(gate, 2)
    rec.wait(lambda: service.machine_status()[0]["reconnects"] == 1)
    _open(gate, 3)
    rec.wait_ended("t")
    assert rec.metrics("t") == [("intermediate", 0.0), ("intermediate", 1.0), ("intermediate", 2.0),
                                ("intermediate", 3.0), ("final", 4.0)]
    assert rec.ends()["t"].status is ModelStatus.Trained
    # the same again with the client closing its side of the transport
    _open(gate + "b", 0)
    service.submit(TrialRequest("u", script_payload("steps", n=2, gate=gate + "b")))
    rec.wait(lambda: len(rec.metrics("u")) == 1)
    service._machines[0].machine.connection.transport.close()
    _open(gate + "b", 1)
    rec.wait_ended("u")
    assert service.machine_status()[0]["reconnects"] == 2
    assert rec.metrics("u") == [("intermediate", 0.0), ("intermediate", 1.0), ("final", 2.0)]


def test_a_metric_racing_the_end_of_its_connection_loses_nothing(start_service, machine, sshd_pair, tmp_path):
    """The agent hears, in one wake-up, a trial's metric and then the end of its client's connection: sending the
    metric finds the connection dead and drops it; the stale end-of-connection must not kill the agent (it did,
    and the reconnect found a new agent that had never heard of the trial, which then ran twice)."""
    service, rec, gate = _first_metric(start_service, machine, tmp_path, n=2)
    daemon = _daemon(service)
    relays = [p for p in agent_processes(service.run_id) if " attach " in _cmdline(p)]
    os.kill(daemon, signal.SIGSTOP)  # the agent sleeps through both: the metric, then the hang-up
    try:
        _open(gate, 1)
        rec.wait(lambda: os.path.exists(f"{gate}.1.sent"))  # in the worker's pipe to the agent
        assert sshd_pair[0].drop_connections() >= 1
        rec.wait(lambda: not any(alive(p) for p in relays))  # the relay hung up on the agent
    finally:
        os.kill(daemon, signal.SIGCONT)
    rec.wait_ended("t")
    assert rec.attempts("t") == [("intermediate", 0.0, 0), ("intermediate", 1.0, 0), ("final", 2.0, 0)]
    assert rec.ends()["t"].status is ModelStatus.Trained
    assert service.machine_status()[0]["reconnects"] == 1 and alive(daemon)


def _cmdline(pid: int) -> str:
    return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")


def test_an_agent_that_crashes_leaves_its_log_and_is_named(start_service, machine, tmp_path, caplog):
    service, rec, gate = _first_metric(start_service, machine, tmp_path, n=2)
    caplog.set_level(logging.WARNING, logger="nascore_remote")
    m = service._machines[0].machine
    crash_log = Path(f"{m.run_dir}.crash.log")  # the machine is this one
    try:
        os.kill(_daemon(service), signal.SIGINT)  # an error exit: its trials die with it, its log must not
        rec.wait(lambda: service.machine_status()[0]["reconnects"] == 1)
        _open(gate, 1)
        rec.wait_ended("t")
        log = crash_log.read_text()  # the run directory went with the agent, its log did not
        assert "Traceback" in log and "KeyboardInterrupt" in log
        assert f"an earlier agent there crashed: see {crash_log}" in caplog.text
        assert rec.attempts("t") == [("intermediate", 0.0, 0), ("intermediate", 0.0, 1), ("intermediate", 1.0, 1),
                                     ("final", 2.0, 1)]
    finally:
        crash_log.unlink(missing_ok=True)


def _daemon(service) -> int:
    return next(p for p in agent_processes(service.run_id) if " serve " in _cmdline(p))


BAD_MESSAGES = [  # (what the client sends, what the agent's refusal says)
    (b"{not json\n", "not JSON"),
    (b"[1, 2]\n", "not a JSON object"),
    (b"[" * 100000 + b"\n", "not JSON (maximum recursion depth exceeded"),  # a RecursionError, no ValueError
    (b'{"op": "ack"}\n', "'ack' without 'seq'"),  # this one used to kill the agent with all its trials
    (b'{"op": "ack", "seq": "3"}\n', "'ack' with 'seq' of type str, expected int"),
    (b'{"op": "submit", "trial_id": "x"}\n', "'submit' without 'payload'"),
    (b'{"op": "launch"}\n', "unknown op 'launch'"),
]


def test_a_bad_message_is_refused_and_loses_nothing(start_service, machine, tmp_path, caplog):
    """The agent refuses a malformed message (its log and the client say why) and drops the connection; the
    client reconnects to the same agent, whose trial runs on: its metrics arrive once each, none lost."""
    service, rec, gate = _first_metric(start_service, machine, tmp_path, n=2)
    caplog.set_level(logging.WARNING, logger="nascore_remote")
    slot = service._machines[0]
    daemon, instance = _daemon(service), slot.instance
    for count, (line, _) in enumerate(BAD_MESSAGES, 1):
        with slot.machine._send_lock:
            slot.machine.channel.sendall(line)
        rec.wait(lambda n=count: service.machine_status()[0]["reconnects"] == n)
    _open(gate, 1)
    rec.wait_ended("t")
    assert rec.attempts("t") == [("intermediate", 0.0, 0), ("intermediate", 1.0, 0), ("final", 2.0, 0)]
    assert rec.ends()["t"].status is ModelStatus.Trained
    assert alive(daemon) and slot.instance == instance  # the agent that ran the trial all along
    log = Path(slot.machine.run_dir, "agent.log").read_text()
    assert "Traceback" not in log
    for _, reason in BAD_MESSAGES:
        assert f"refused a message from the client, dropping its connection: {reason}" in log
        assert f"the agent on {slot.machine.address} refused a message: {reason}" in caplog.text


def test_a_bad_worker_line_fails_its_trial_only(start_service, machine, tmp_path):
    """A trial's user code writes on its worker's event pipe while trial ``t`` runs on the same agent: a line
    that is no JSON (it used to kill the agent and every trial of the machine), a well-formed metric forged for
    ``t``, bytes without an end of line past MAX_LINE. Each junk trial ends Failed with a reason naming it and
    quoting its line (cut after 200 bytes), in agent.log too; what it reported before stays; ``t`` gets each of
    its metrics once, none forged; the agent is the one that started."""
    service, rec, gate = _first_metric(start_service, machine, tmp_path, n=2)
    slot = service._machines[0]
    daemon, instance = _daemon(service), slot.instance
    long_junk = "junk " + "x" * 300
    forged = '{"event": "metric", "trial_id": "t", "kind": "final", "metric": 99.0}'
    service.submit(TrialRequest("j1", script_payload("junk", line=long_junk + "\n")))
    rec.wait_ended("j1")
    service.submit(TrialRequest("j2", script_payload("junk", line=forged + "\n")))
    rec.wait_ended("j2")
    service.submit(TrialRequest("j3", script_payload("junk", line="y" * (MAX_LINE + 1))))
    rec.wait_ended("j3")
    _open(gate, 1)
    rec.wait_ended("t")
    expected = {"j1": "trial j1 wrote a malformed line on its event pipe (not JSON: Expecting value: line 1 column 1 "
                      "(char 0)): " + long_junk[:200] + "...",
                "j2": "trial j2 wrote a malformed line on its event pipe (an event of trial 't'): " + forged,
                "j3": f"trial j3 wrote a malformed line on its event pipe (no end of line after {MAX_LINE} bytes): "
                      + "y" * 200 + "..."}
    log = Path(slot.machine.run_dir, "agent.log").read_text()
    for trial, reason in expected.items():
        assert (rec.ends()[trial].status, rec.ends()[trial].reason) == (ModelStatus.Failed, reason)
        assert rec.attempts(trial) == [("intermediate", 0.0, 0)]
        assert f"killing a worker: {reason}\n" in log
    assert rec.attempts("t") == [("intermediate", 0.0, 0), ("intermediate", 1.0, 0), ("final", 2.0, 0)]
    assert rec.ends()["t"].status is ModelStatus.Trained
    assert "Traceback" not in log
    assert alive(daemon) and slot.instance == instance and service.machine_status()[0]["reconnects"] == 0


@pytest.mark.parametrize("line, trial, why", [
    (b"[1, 2]", "a", "not a JSON object"),
    (b"[" * 100000, "a", "not JSON: maximum recursion depth exceeded"),  # a RecursionError, no ValueError
    (b'{"event": "log", "trial_id": "a"}', "a", "unknown event 'log'"),
    (b'{"event": "metric", "trial_id": "a", "metric": 1.0}', "a", "a metric needs 'kind' (intermediate or final)"),
    (b'{"event": "end", "trial_id": "a", "status": "early_stopped"}', "a", "an end needs 'status'"),
    (b'{"event": "end", "trial_id": "a", "status": "failed", "reason": 3}', "a", "a text or null 'reason'"),
    (b'{"event": "metric", "trial_id": "a", "kind": "final", "metric": 1.0}', None, "no trial runs there"),
])
def test_what_a_worker_line_must_be(line, trial, why):
    with pytest.raises(BadWorkerLine) as error:
        parse_worker_event(line, trial)
    assert why in str(error.value) and line[:200].decode() in str(error.value)
    assert str(error.value).startswith("trial a wrote" if trial else "an idle worker wrote")
    good = b'{"event": "end", "trial_id": "a", "status": "failed", "reason": null}'
    assert parse_worker_event(good, "a") == {"event": "end", "trial_id": "a", "status": "failed", "reason": None}


def test_a_client_that_stops_reading_holds_up_nothing(start_service, machine, tmp_path):
    """The relay of the client's connection stops reading (SIGSTOP) while a trial reports a burst of metrics,
    far more than the socket between them holds: the agent keeps taking the trial's events (it used to block
    in send(), and every trial of the machine with it), drops the stalled client after agent_send_timeout,
    and the client, reconnected to the same agent, gets every metric exactly once."""
    service, rec = start_service([machine(0)], agent_send_timeout=2.0)
    slot = service._machines[0]
    daemon, instance = _daemon(service), slot.instance
    gate = str(tmp_path / "gate")
    # 100 bytes an event: far more than the agent's socket to the relay and the worker's pipe hold
    n = max(20000, int(Path("/proc/sys/net/core/wmem_default").read_text()) // 10)
    service.submit(TrialRequest("t", script_payload("burst", n=n, gate=gate)))
    rec.wait(lambda: Path(slot.machine.run_dir, "trials", "t").is_dir())  # the agent has the submit
    relays = [p for p in agent_processes(service.run_id) if " attach " in _cmdline(p)]
    log = Path(slot.machine.run_dir, "agent.log")
    for pid in relays:
        os.kill(pid, signal.SIGSTOP)
    try:
        Path(gate).touch()
        rec.wait(lambda: os.path.exists(f"{gate}.done"))  # all written: the agent read them, nobody read it
        rec.wait(lambda: "the client took nothing for 2.0s: dropping its connection" in log.read_text())
    finally:
        for pid in relays:
            os.kill(pid, signal.SIGCONT)
    rec.wait_ended("t")
    assert rec.attempts("t") == [("intermediate", float(i), 0) for i in range(n)] + [("final", float(n), 0)]
    assert rec.ends()["t"].status is ModelStatus.Trained
    assert service.machine_status()[0]["reconnects"] == 1
    assert alive(daemon) and slot.instance == instance


def test_machine_gone_for_good_trials_move(start_service, machine, tmp_path, caplog):
    spare = SshServer(tmp_path / "spare").start()
    try:
        doomed = spare.machine(python_path=machine(0).python_path)
        service, rec = start_service([machine(0), doomed], trial_concurrency=2, reconnect_timeout=1.0)
        gate = str(tmp_path / "gate")
        _open(gate, 0)
        service.submit(TrialRequest("a", script_payload("steps", n=2, gate=gate + "a")))
        service.submit(TrialRequest("b", script_payload("steps", n=2, gate=gate)))
        assert service.machine_status()[1]["running"] == ["b"]
        rec.wait(lambda: len(rec.metrics("b")) == 1)
        caplog.set_level(logging.WARNING, logger="nascore_remote")
        spare.stop()  # the machine goes away with everything on it
        for pid in agent_processes(service.run_id):
            if f"/run/{service.run_id}-1" in open(f"/proc/{pid}/cmdline").read():
                os.kill(pid, signal.SIGKILL)
        rec.wait(lambda: not service.machine_status()[1]["alive"])
        assert "taking it out of rotation" in caplog.text and doomed.address in caplog.text
        _open(gate, 1)
        _open(gate + "a", 0)
        _open(gate + "a", 1)
        rec.wait_ended("a", "b")
        # re-run on the other machine as attempt 1: its curve is reported whole, apart from the dead run's
        assert rec.attempts("b") == [("intermediate", 0.0, 0), ("intermediate", 0.0, 1), ("intermediate", 1.0, 1),
                                     ("final", 2.0, 1)]
        assert rec.ends()["b"].status is ModelStatus.Trained
        assert service.capacity() == 2
        service.submit(TrialRequest("c", script_payload("noop")))
        rec.wait_ended("c")
        assert service.machine_status()[0]["alive"]
    finally:
        spare.stop()


def test_agent_killed_trial_reruns(start_service, machine, tmp_path):
    service, rec, gate = _first_metric(start_service, machine, tmp_path, n=2)
    for pid in agent_processes(service.run_id):
        os.kill(pid, signal.SIGKILL)
    _open(gate, 1)
    rec.wait_ended("t")
    assert rec.attempts("t") == [("intermediate", 0.0, 0), ("intermediate", 0.0, 1), ("intermediate", 1.0, 1),
                                 ("final", 2.0, 1)]
    assert rec.ends()["t"].status is ModelStatus.Trained


def test_wrong_key_reported_at_start(start_service, machine, tmp_path):
    other = generate_key(tmp_path / "other_key")
    with pytest.raises(RemoteError, match=r"@127\.0\.0\.1:\d+: authentication failed .*other_key"):
        start_service([machine(0, ssh_key_file=str(other))])


def test_unknown_host_key_refused_with_fingerprint(start_service, machine, tmp_path):
    import subprocess
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(RemoteError) as info:
        start_service([machine(0, known_hosts=str(empty))])
    host_pub = machine(0).known_hosts_path().read_text().split()
    keyfile = tmp_path / "host.pub"
    keyfile.write_text(f"{host_pub[1]} {host_pub[2]}\n")
    expected = subprocess.run(["ssh-keygen", "-lf", str(keyfile)], capture_output=True, text=True).stdout.split()[1]
    assert expected.startswith("SHA256:") and expected in str(info.value)
    assert "unknown host key" in str(info.value) and "allow_unknown_hosts" in str(info.value)
    service, rec = start_service([machine(0, known_hosts=str(empty), allow_unknown_hosts=True)])
    service.submit(TrialRequest("n", script_payload("noop")))
    rec.wait_ended("n")
    assert rec.ends()["n"].status is ModelStatus.Trained


def test_missing_python_and_plugins_are_explained(start_service, machine):
    with pytest.raises(RemoteError, match=r"Python '/nonexistent/python3' not found .*python_path"):
        start_service([machine(0, python_path="/nonexistent/python3")])


def test_an_accepted_unknown_key_is_pinned_and_a_changed_one_refused(start_service, machine, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    first = SshServer(tmp_path / "first").start()
    try:
        entry = first.machine(known_hosts=str(empty), allow_unknown_hosts=True, python_path=machine(0).python_path)
        service, rec = start_service([entry])
        service.submit(TrialRequest("n", script_payload("noop")))
        rec.wait_ended("n")
        pinned = service.log_directory.parent / "known_hosts"  # the experiment's own known-hosts file
        assert f"[127.0.0.1]:{first.port} ssh-ed25519" in pinned.read_text()
        assert os.stat(pinned).st_mode & 0o077 == 0
        service.shutdown()
    finally:
        first.stop()
    impostor = SshServer(tmp_path / "impostor").start(port=first.port)  # same address, another host key
    try:
        with pytest.raises(RemoteError, match=r"host key CHANGED.*ssh-keygen -R '\[127\.0\.0\.1\]:\d+' -f .*known_hosts"):
            start_service([entry])  # the same experiment again (a resume): allow_unknown_hosts no longer helps
    finally:
        impostor.stop()
