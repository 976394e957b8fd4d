"""``python agent.py MODE ARGS...``: picks the mode (see the package docstring)."""
import os
import sys


def _option(args, name, default):
    return args[args.index(name) + 1] if name in args else default


def main(argv):
    # Everything the agent creates (run directory, socket, logs, unpacked code) is its user's alone, whatever
    # the login umask: with 002 and a shared group, others could read metrics and drive the socket.
    os.umask(0o077)
    # the entry script, absolute: the daemon and workers are started from it (the agent never chdirs)
    script = os.path.abspath(sys.argv[0])
    if not argv:
        sys.stderr.write("usage: agent.py check|unpack|attach|serve|worker ...\n")
        return 2
    mode, args = argv[0], argv[1:]
    if mode == "check":
        from .prepare import check
        return check(args)
    if mode == "unpack":
        from .prepare import unpack
        return unpack(args[0], args[1])
    if mode == "attach":
        from .relay import attach
        return attach(script, args[0], args[1], args[2:], _option(args, "--owner", None),
                      "--retire" in args)
    if mode == "serve":
        from .daemon import SEND_TIMEOUT, serve
        nvidia_smi = _option(args, "--nvidia-smi", None)
        factory = None
        if nvidia_smi is not None:  # the client wants GPUs that others use reported
            from .gpus import GpuWatcher
            poll = float(_option(args, "--gpu-poll", 2.0))
            factory = lambda: GpuWatcher(nvidia_smi, poll)  # noqa: E731
        return serve(script, args[0], args[1], float(_option(args, "--orphan-timeout", 600.0)), factory,
                     float(_option(args, "--send-timeout", SEND_TIMEOUT)))
    if mode == "worker":
        from .worker import run_worker
        return run_worker(int(_option(args, "--events-fd", None)), os.path.dirname(script))
    sys.stderr.write("unknown mode %r\n" % mode)
    return 2
