"""The nascore remote agent: uploaded to each machine and run there with the trial Python.

Standard library only (``worker`` mode imports nascore), since it must start before we know what the machine
has. On a machine the package is uploaded as ``_nascore_agent/`` next to an entry script ``agent.py`` (this
package's ``__main__.py``); its modules import each other relatively, so the same files also import here as
``nascore_remote.agent``.

Modes (``python agent.py MODE ...``, see :mod:`.cli`):

* ``check PLUGIN...`` -- print a JSON report: can this Python import nascore and the named plugins?
* ``unpack TAR DEST`` -- unpack an uploaded code archive into DEST atomically.
* ``attach DIR CODE [OPTIONS]`` -- make sure the agent daemon for DIR runs (start it detached if not), then
  relay this process's stdin/stdout to it. The client talks over an SSH channel running this; no port is opened.
* ``serve DIR CODE [--orphan-timeout S] [--send-timeout S] [--nvidia-smi EXE --gpu-poll S]`` -- the daemon
  (:mod:`.daemon`).
* ``worker --events-fd N`` -- runs trial after trial read from stdin (:mod:`.worker`). Its event lines are
  checked (:mod:`.worker_events`): a bad one fails its trial only.

Wire protocol (JSON lines, :mod:`.wire`). Client -> agent: ``hello{after}``, ``submit{trial_id, payload,
env, timeout}``, ``cancel{trial_id, reason}``, ``ack{seq}``, ``shutdown``. Agent -> client: numbered events
``{"seq": n, "event": ...}``, replies ``{"reply": ...}`` (``{"reply": "error", "error": why}`` before it
drops a client whose message it refused, see :mod:`.messages`) and, when the daemon watches GPUs, unnumbered
state ``{"busy_gpus": [...]}`` (GPUs running compute processes that are not ours), sent on every change.
"""
from .cli import main

__all__ = ["main"]
